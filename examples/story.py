"""The source document's story, walked through the pure domain.

Run it with ``python examples/story.py``: no storage, no plugins, just values.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from siteupdates.domain import (
    Actor,
    Catalog,
    Contact,
    Event,
    PolicyContext,
    RequestDraft,
    Site,
    Tenant,
    UpdateRequest,
    apply_event,
    evaluate,
    overview,
)
from siteupdates.presets import CAMPUS_HOSTING

UTC = timezone.utc
now = datetime(2015, 2, 2, 10, 39, tzinfo=UTC)
catalog = Catalog.of("E.1418.2", "E.1450.4", "E.1505.1", "E.1505.2")
district = Tenant(
    id="d1",
    name="Example District",
    plan="asp",
    sites=(
        Site("production", "E.1450.4", datetime(2015, 1, 10, 12, tzinfo=UTC)),
        Site(
            "sandbox",
            "E.1450.4",
            datetime(2015, 1, 10, 12, tzinfo=UTC),
            refreshed_at=datetime(2014, 8, 23, 12, tzinfo=UTC),
        ),
        Site("staging", "E.1418.2", datetime(2014, 5, 2, 12, tzinfo=UTC)),
    ),
)
dana = Contact("c1", "Dana", "dana@example.org", "district", {"d1"})


def ask(target: str, version: str | None, refresh: bool, local: datetime) -> PolicyContext:
    draft = RequestDraft("d1", target, version, refresh, local)
    return PolicyContext.build(
        contact=dana, tenant=district, draft=draft, catalog=catalog, preset=CAMPUS_HOSTING, now=now
    )


print("Dana asks for E.1505.1 on production, and a sandbox refresh with no refresh set:")
for c in (
    ask("production/sandbox", "E.1505.1", False, datetime(2015, 2, 14, 1)),
    ask("production/sandbox", None, False, datetime(2015, 2, 14, 1)),
):
    for refusal in evaluate(c).refusals:
        print(f"  refused, {refusal.rule}: {refusal.message}")

c = ask("production/sandbox", "E.1505.2", False, datetime(2015, 2, 14, 1))
decision = evaluate(c)
assert decision.allowed and c.start is not None
req = UpdateRequest(
    "r1", "d1", "production/sandbox", "E.1505.2", False, c.start, c.zone, "c1", now
)
print(f"Dana asks for E.1505.2: accepted as {req.status.label}")
req, entry = apply_event(
    req,
    Event.SCHEDULE,
    actor=Actor.PROVIDER,
    by="hosting",
    at=now,
    date=c.start + timedelta(hours=3),
)
print(
    f"The provider schedules it: {entry.from_status.label if entry.from_status else ''} -> "
    f"{entry.to_status.label}"
)
print()
print(overview(district, [req], viewer_zone="America/Chicago", now=now).render())
