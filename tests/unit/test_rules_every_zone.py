"""R12: every rule that counts days, hours or weeks, in every zone across every change.

For each zone of the tz database (``zoneinfo.available_timezones()``) and each
clock change from 2024 to 2028, the rules of the table in ``docs/time.md`` are
run on instants placed so that the rule crosses the change, and compared with
instants computed here without the library: naive wall-clock arithmetic read by
the boundary rule of ``docs/time.md`` (``test_daycount.expected_instant``: a
gap moves to its end, an overlap takes its first occurrence), or plain UTC
arithmetic for the rules written in hours. A zone with no change in the span is
checked at one ordinary instant, so that every zone is covered.

Rules, and what they must give:

* postpone ``--days 7``: 7 calendar days later in the request's zone;
* the soak (72 h): production's first possible start is staging's slot end
  plus 72 elapsed hours (the planner's hold);
* a notice tier of 14 days: booked no earlier than 14 calendar days after the
  announcement;
* a refresh interval of 28 days: a start before 28 calendar days after the last
  refresh is refused, one at it is allowed;
* the move cut-off (48 h): allowed until exactly 48 elapsed hours before;
* reminders ``2d`` and ``24h``: 2 calendar days before on the contact's clock,
  24 elapsed hours before;
* an every-2-weeks window: opens at its wall time (read by the boundary rule)
  on the change's date and two weeks before, not one week before.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta, timezone
from datetime import time as clock
from typing import Callable, Dict, Iterator, List, Tuple

import attrs

from siteupdates.app.deferral import postponed_after
from siteupdates.app.slots import notice_hold
from siteupdates.domain import (
    Actor,
    Contact,
    Event,
    NoticeTiers,
    RequestDraft,
    SchedulingRules,
    Site,
    Status,
    apply_event,
)
from siteupdates.domain.daycount import Days
from siteupdates.domain.messages import reminders_for
from siteupdates.domain.planner import Demand, Hold, plan
from siteupdates.domain.policies import PolicyContext, may_move, refresh_interval
from siteupdates.domain.windows import RecurringWindow
from siteupdates.presets import CAMPUS_HOSTING

from ..factories import CATALOG, contact, district, request
from .test_daycount import ZONES, _tz, _wall, expected_instant, transitions

UTC = timezone.utc
FIRST_YEAR, LAST_YEAR = 2024, 2028
SOAK = timedelta(hours=72)
CUTOFF = timedelta(hours=48)
SLOT = timedelta(minutes=15)
NOTICE = NoticeTiers({"normal": timedelta(days=14)}, default="normal")
PRESET = attrs.evolve(CAMPUS_HOSTING, scheduling=SchedulingRules(notice=NOTICE))
REFRESH = attrs.evolve(CAMPUS_HOSTING, refresh_intervals={"staging": timedelta(days=28)})
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def walls_around(zone: str) -> Iterator[datetime]:
    """Wall times at and around each change of ``zone`` (one ordinary one if none)."""
    changes = transitions(zone, FIRST_YEAR, LAST_YEAR)
    if not changes:
        yield datetime(2026, 6, 15, 12)
        return
    for change in changes:
        before = (change - timedelta(seconds=1)).astimezone(_tz(zone)).utcoffset()
        after = change.astimezone(_tz(zone)).utcoffset()
        assert before is not None and after is not None
        lo = change.replace(tzinfo=None) + min(before, after)  # where the gap/overlap begins
        hi = change.replace(tzinfo=None) + max(before, after)  # and ends
        yield from (lo, lo + (hi - lo) / 2, hi, lo - timedelta(hours=3))


def _reading(wall: datetime, zone: str) -> datetime:
    """An instant whose wall clock in ``zone`` is ``wall`` (or the end of its gap)."""
    return expected_instant(wall, zone)


def check_postpone(zone: str, wall: datetime) -> List[str]:
    booked = _reading(wall - timedelta(days=7), zone)
    want = expected_instant(_wall(booked, zone) + timedelta(days=7), zone)
    got = postponed_after(booked, 7, zone)
    return [] if got == want else [f"postpone 7d from {booked}: {got} != {want}"]


def check_notice(zone: str, wall: datetime) -> List[str]:
    announced = _reading(wall - timedelta(days=14), zone)
    want = expected_instant(_wall(announced, zone) + timedelta(days=14), zone)
    hold = notice_hold(PRESET, ["d1"], announced, zone)
    got = hold.until if hold is not None else None
    return [] if got == want else [f"notice 14d from {announced}: {got} != {want}"]


def check_refresh(zone: str, wall: datetime) -> List[str]:
    last = _reading(wall - timedelta(days=28), zone)
    first = expected_instant(_wall(last, zone) + timedelta(days=28), zone)
    tenant = district(sites=(Site("staging", "E.1418.2", last, refreshed_at=last),))
    found = []
    for at, allowed in ((first, True), (first - timedelta(minutes=1), False)):
        local = _wall(at, zone)
        if at.astimezone(_tz(zone)).fold:
            continue  # a second occurrence cannot be typed as a wall time (EARLIER)
        draft = RequestDraft("d1", "staging", None, True, local, zone)
        ctx = PolicyContext.build(
            contact=contact(zone=zone), tenant=tenant, draft=draft, catalog=CATALOG,
            preset=REFRESH, now=last, open_requests=(),
        )  # fmt: skip
        if ctx.start != at:
            continue  # a wall time in a gap: the draft names another instant
        if refresh_interval(ctx).allowed is not allowed:
            found.append(f"refresh 28d after {last}: start {at} allowed is not {allowed}")
    return found


def check_cutoff(zone: str, wall: datetime) -> List[str]:
    start = _reading(wall, zone)
    r = request(status=Status.SCHEDULED, scheduled_for=start, zone=zone)
    found = []
    for now, allowed in ((start - CUTOFF, True), (start - CUTOFF + timedelta(seconds=1), False)):
        if may_move(r, now, CUTOFF, zone).allowed is not allowed:
            found.append(f"cut-off 48h before {start}: now {now} allowed is not {allowed}")
    return found


def check_reminders(zone: str, wall: datetime) -> List[str]:
    start = _reading(wall + timedelta(days=2), zone)
    queued = request(zone=zone)
    r, entry = apply_event(queued, Event.SCHEDULE, actor=Actor.PROVIDER, by="p",
                           at=start - timedelta(days=30), date=start)  # fmt: skip
    who = Contact("c1", "Dana", "dana@d1.example", "district", {"d1"}, zone=zone)
    got = reminders_for(r, entry, district(), [who], ladder=(Days(2), timedelta(hours=24)),
                        now=start - timedelta(days=30), default_zone="UTC")  # fmt: skip
    fires = {m.lead: m.fires_at for m in got}
    want = {
        Days(2): expected_instant(_wall(start, zone) - timedelta(days=2), zone),
        timedelta(hours=24): start - timedelta(hours=24),
    }
    if want[Days(2)] == want[timedelta(hours=24)]:
        want = {Days(2): want[Days(2)]}  # two rungs on one instant: one reminder
    return [] if fires == want else [f"reminders before {start}: {fires} != {want}"]


def check_every_two_weeks(zone: str, wall: datetime) -> List[str]:
    day, at = wall.date(), wall.time().replace(second=0, microsecond=0)
    w = RecurringWindow.weekly([_WEEKDAYS[day.weekday()]], at.strftime("%H:%M"), 90, zone,
                               every=2, starts_on=day - timedelta(days=28))  # fmt: skip
    found = []
    for d in (day, day - timedelta(days=14)):
        opens_wall = datetime.combine(d, at)
        want = (expected_instant(opens_wall, zone),
                expected_instant(opens_wall + timedelta(minutes=90), zone))  # fmt: skip
        got = w.on(d)
        if got != want:
            found.append(f"every 2 weeks on {d} {at}: {got} != {want}")
    off = datetime.combine(day - timedelta(days=7), clock(0))
    nxt = w.next_occurrence(expected_instant(off, zone))
    if nxt is None or _wall(nxt[0], zone).date() == day - timedelta(days=7):
        found.append(f"every 2 weeks: an occurrence on {day - timedelta(days=7)}")
    return found


def check_soak(zone: str, wall: datetime) -> List[str]:
    # Staging placed at the first slot of its window; production holds the soak after
    # the end of that slot. Both windows are whole days in ``zone``, cut in 15 minutes.
    staged_at = _reading(wall - SOAK, zone).replace(second=0, microsecond=0)
    staged_at -= timedelta(minutes=staged_at.minute % 15)
    window = RecurringWindow.weekly(_WEEKDAYS, "00:00", 24 * 60, zone)
    demands = [
        Demand("s", ("d1",), staged_at, zone),
        Demand("p", ("d1",), staged_at, zone, holds=(Hold(staged_at, "soak", "s", SOAK),)),
    ]
    result = plan(demands, windows=[window], capacity=1, slot_length=SLOT,
                  horizon=staged_at + SOAK + timedelta(days=2), start=staged_at)  # fmt: skip
    s, p = result.placements["s"].start, result.placements["p"].start
    if s is None or p is None:
        return [f"soak from {staged_at}: not placed"]
    want = s + SLOT + SOAK
    return [] if p == want else [f"soak 72h after staging {s}: production {p} != {want}"]


RULES: Dict[str, Callable[[str, datetime], List[str]]] = {
    "postpone": check_postpone,
    "soak": check_soak,
    "notice tier": check_notice,
    "refresh interval": check_refresh,
    "cut-off": check_cutoff,
    "reminders": check_reminders,
    "every-2-weeks window": check_every_two_weeks,
}


def test_r12_every_day_hour_and_week_rule_in_every_zone_across_every_change() -> None:
    began = time.perf_counter()
    failures: List[str] = []
    counted: Dict[str, int] = {name: 0 for name in RULES}
    zones_seen = 0
    for zone in ZONES:
        zones_seen += 1
        for wall in walls_around(zone):
            for name, check in RULES.items():
                counted[name] += 1
                failures += [f"{zone} {name}: {x}" for x in check(zone, wall)]
    assert zones_seen == len(ZONES) > 400
    assert all(n >= len(ZONES) for n in counted.values()), counted
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:25])
    assert time.perf_counter() - began < 60 * 5  # generous: CI machines are slow


def test_r12_the_rule_checks_see_a_change_in_chicago() -> None:
    # The walls really straddle changes: 8 March 2026 02:00 (gap) is among them.
    walls = set(walls_around("America/Chicago"))
    assert datetime(2026, 3, 8, 2, 0) in walls and datetime(2026, 11, 1, 1, 0) in walls
    results: Tuple[List[str], ...] = tuple(
        check("America/Chicago", datetime(2026, 3, 8, 2, 30)) for check in RULES.values()
    )
    assert all(r == [] for r in results), results
    assert date(2026, 3, 8).weekday() == 6
