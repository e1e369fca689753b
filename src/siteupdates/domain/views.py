"""What contacts see, as pure functions of domain values (R11, R19, R21)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Iterable, List, Optional, Tuple

import attrs

from .model import SiteKind, Status, Tenant, UpdateRequest
from .timeutil import format_clock, format_day

if TYPE_CHECKING:
    from .preset import ProviderPreset

__all__ = [
    "CURRENT",
    "SCHEDULED",
    "Overview",
    "OverviewRow",
    "format_day",
    "format_clock",
    "overview",
    "request_list",
]

#: The overview label of a version a site runs.
CURRENT = "CURRENT"
#: The overview label of a version a confirmed request will install.
SCHEDULED = "SCHEDULED"

_LABELS = {
    SiteKind.PRODUCTION: "Production",
    SiteKind.SANDBOX: "Sandbox",
    SiteKind.STAGING: "Staging",
    SiteKind.PREVIEW: "Preview",
}
#: The order the source document's overview lists sites in: Production, staging, Sandbox.
_SITE_ORDER = {SiteKind.PRODUCTION: 0, SiteKind.STAGING: 1, SiteKind.SANDBOX: 2}
#: Statuses whose date is confirmed and shown as SCHEDULED in the overview.
_SHOWN_SCHEDULED = frozenset({Status.SCHEDULED, Status.NOT_STARTED, Status.IN_PROGRESS})


@attrs.frozen
class OverviewRow:
    """One line of the overview: the site, what it runs or will run, and a label."""

    site: SiteKind
    text: str
    label: str
    when: datetime
    automatic: bool = False
    request_id: Optional[str] = None
    #: The status of the request a scheduled row comes from (None on a current row).
    status: Optional[Status] = None

    def render(self) -> str:
        """The row as the overview prints it."""
        return f"{_LABELS[self.site]:<11}{self.text:<28}{self.label}"


@attrs.frozen
class Overview:
    """A tenant's sites with current and scheduled versions, made at ``made_at`` (R21)."""

    tenant_id: str
    tenant_name: str
    made_at: datetime
    zone: str
    rows: Tuple[OverviewRow, ...]

    @property
    def updated_line(self) -> str:
        """``Updated 4:39 AM CST``: when the overview was made, in the viewer's zone."""
        return f"Updated {format_clock(self.made_at, self.zone)}"

    def render(self) -> str:
        """The overview as text."""
        lines = [f"{self.tenant_name}", self.updated_line, ""]
        lines.extend(r.render() for r in self.rows)
        return "\n".join(lines)


def overview(
    tenant: Tenant,
    requests: Iterable[UpdateRequest],
    *,
    viewer_zone: str,
    now: datetime,
    preset: Optional[ProviderPreset] = None,
) -> Overview:
    """The overview of ``tenant`` as ``viewer_zone`` sees it at ``now``.

    Sites come in the source document's order (Production, staging, Sandbox, then
    the others as the tenant lists them). Current rows come from the sites;
    scheduled rows from the tenant's requests whose date is confirmed. A sandbox
    shows its last refresh (``Refresh - <date>``). Plans whose rules show
    automatic updates (R11) mark a current version that came from one.
    """
    shows_auto = bool(preset and preset.rules_for(tenant.plan).shows_automatic_updates)
    rows: List[OverviewRow] = []
    ordered = sorted(tenant.sites, key=lambda s: _SITE_ORDER.get(s.kind, len(_SITE_ORDER)))
    # The booked requests and their local days, once for every site (not per site).
    booked = [
        (r, format_day(r.effective_date, viewer_zone))
        for r in sorted(
            (r for r in requests if r.tenant_id == tenant.id and r.status in _SHOWN_SCHEDULED),
            key=lambda r: (r.effective_date, r.id),
        )
    ]
    for site in ordered:
        if site.kind is SiteKind.SANDBOX and site.refreshed_at is not None:
            text = f"Refresh - {format_day(site.refreshed_at, viewer_zone)}"
            when = site.refreshed_at
        else:
            text = f"{site.version} - {format_day(site.since, viewer_zone)}"
            when = site.since
        auto = shows_auto and site.automatic
        if auto:
            text += " (auto)"
        rows.append(OverviewRow(site.kind, text, CURRENT, when, automatic=auto))
        for r, day in booked:
            if r.version is not None and r.target.main_site is site.kind:
                rows.append(
                    OverviewRow(
                        site.kind,
                        f"{r.version} - {day}",
                        SCHEDULED,
                        r.effective_date,
                        request_id=r.id,
                        status=r.status,
                    )
                )
            if r.db_refresh and r.target.refresh_site is site.kind:
                rows.append(
                    OverviewRow(
                        site.kind,
                        f"Refresh - {day}",
                        SCHEDULED,
                        r.effective_date,
                        request_id=r.id,
                        status=r.status,
                    )
                )
    return Overview(tenant.id, tenant.name, now, viewer_zone, tuple(rows))


def request_list(
    requests: Iterable[UpdateRequest], *, hide_complete: bool = False
) -> Tuple[UpdateRequest, ...]:
    """R19: the contact's list, newest first; never cancelled or deleted ones.

    With ``hide_complete`` completed requests are left out too.
    """
    hidden = {Status.CANCELLED, Status.DELETED}
    if hide_complete:
        hidden.add(Status.COMPLETED)
    return tuple(
        sorted(
            (r for r in requests if r.status not in hidden),
            key=lambda r: (r.requested_at, r.id),
            reverse=True,
        )
    )
