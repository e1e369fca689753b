"""Reference data follows the setup file, and every change of it is recorded.

:func:`apply_setup` makes the stored groups, tenants, contacts, catalog and
provider settings equal to a setup (``siteupdates apply FILE``), in one unit of
work, and records each difference as an :class:`~siteupdates.ports.AuditEntry`
(who, when, before, after) in the same transaction:

* a contact removed from the file loses access at once (the next call that
  names it is refused exactly as for a contact that never existed, R22);
* a version removed from the catalog is no longer offered; requests that
  asked for it keep it;
* a tenant removed from the file is removed, unless it has open requests: then
  nothing is written and the error names them;
* a site's version and dates follow the file only when the file's ``since``
  is later than the stored one: an update completed through siteupdates is not
  undone by applying an older file again (the later refresh date wins too).

With ``replace=False`` (:meth:`~siteupdates.Desk.load_setup`) nothing is
removed: the setup is added over what is stored, and still audited.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Tuple

import attrs

from siteupdates import ports
from siteupdates.domain import OPEN, Catalog, Contact, Group, Site, Tenant
from siteupdates.errors import ConfigurationError
from siteupdates.ports import Unit

from .bootstrap import App

if TYPE_CHECKING:
    from siteupdates.ports import AuditEntry, Setup

__all__ = ["SetupReport", "apply_setup", "contact_data", "tenant_data"]


@attrs.frozen
class SetupReport:
    """What applying a setup changed (or, in a dry run, would change)."""

    changes: Tuple[AuditEntry, ...]
    applied: bool

    def render(self) -> str:
        """One line per change, or a line saying there is none."""
        if not self.changes:
            return "no changes: the storage already matches the setup"
        lines = [("" if self.applied else "would have ") + c.describe() for c in self.changes]
        return "\n".join(lines)


def _iso(value: Any) -> Optional[str]:
    return None if value is None else value.isoformat()


def tenant_data(t: Tenant) -> Dict[str, Any]:
    """A tenant as the plain data an audit entry keeps."""
    return {
        "name": t.name,
        "plan": t.plan.value,
        "group": t.group_id,
        "sites": [
            {
                "kind": s.kind.value,
                "version": str(s.version),
                "since": _iso(s.since),
                "refreshed_at": _iso(s.refreshed_at),
                "automatic": s.automatic,
            }
            for s in t.sites
        ],
        "tasks": [
            {
                "name": k.name,
                "at": k.at.strftime("%H:%M"),
                "zone": k.zone,
                "weekday": k.weekday,
                "minutes": k.duration_minutes,
            }
            for k in t.tasks
        ],
    }


def contact_data(c: Contact) -> Dict[str, Any]:
    """A contact as the plain data an audit entry keeps."""
    return {
        "name": c.name,
        "email": c.email,
        "role": c.role.value,
        "zone": c.zone,
        "tenants": sorted(c.tenants),
    }


def _group_data(g: Group) -> Dict[str, Any]:
    return {"name": g.name, "kind": g.kind}


def _later(a: Any, b: Any) -> Any:
    if a is None or b is None:
        return a if b is None else b
    return max(a, b)


def _merged_sites(new: Tenant, stored: Tenant) -> Tuple[Site, ...]:
    """The file's sites, where the stored one is not newer (see the module doc)."""
    sites = []
    for site in new.sites:
        old = stored.site(site.kind)
        if old is not None and old.since >= site.since:
            site = attrs.evolve(site, version=old.version, since=old.since,
                                automatic=old.automatic)  # fmt: skip
        if old is not None:
            site = attrs.evolve(site, refreshed_at=_later(site.refreshed_at, old.refreshed_at))
        sites.append(site)
    return tuple(sites)


class _Diff:
    def __init__(self, app: App, by: str) -> None:
        self.now = app.now()
        self.by = by
        self.entries: List[AuditEntry] = []

    def compare(
        self, kind: str, key: str, before: Optional[Mapping[str, Any]],
        after: Optional[Mapping[str, Any]],
    ) -> bool:  # fmt: skip
        """Record the difference; True when there is one."""
        if before == after:
            return False
        action = "added" if before is None else "removed" if after is None else "changed"
        self.entries.append(
            ports.AuditEntry(
                self.now,
                self.by,
                kind,
                key,
                action,
                None if before is None else dict(before),
                None if after is None else dict(after),
            )
        )
        return True


def _groups(uow: Unit, replace: bool) -> Dict[str, Group]:
    try:
        return {g.id: g for g in uow.groups()}
    except NotImplementedError:
        if replace:
            raise ConfigurationError(
                f"{type(uow).__name__} cannot list groups, so it cannot apply a setup; "
                "upgrade the storage plugin"
            ) from None
        return {}


def apply_setup(
    app: App, setup: Setup, *, by: str, replace: bool = True, dry_run: bool = False
) -> SetupReport:
    """Make the stored reference data equal to ``setup`` (see the module doc); audited."""

    def use_case(uow: Unit) -> SetupReport:
        uow.lock("reference-data")
        diff = _Diff(app, by)
        groups = _groups(uow, replace)
        new_groups = [g for g in setup.groups
                      if diff.compare("group", g.id, _data(groups.get(g.id), _group_data),
                                      _group_data(g))]  # fmt: skip
        tenants = {t.id: t for t in uow.tenants()}
        new_tenants = []
        for t in setup.tenants:
            old = tenants.get(t.id)
            if old is not None:
                t = attrs.evolve(t, sites=_merged_sites(t, old), revision=old.revision)
            if diff.compare("tenant", t.id, _data(old, tenant_data), tenant_data(t)):
                new_tenants.append(t)
        contacts = {c.id: c for c in uow.contacts()}
        new_contacts = [c for c in setup.contacts
                        if diff.compare("contact", c.id, _data(contacts.get(c.id), contact_data),
                                        contact_data(c))]  # fmt: skip
        offered = {str(v) for v in uow.catalog().versions}
        wanted = {str(v) for v in setup.catalog.versions}
        for v in sorted(wanted - offered):
            diff.compare("catalog", v, None, {"version": v})
        settings = uow.settings()
        new_settings = {}
        for key, value in setup.settings.items():
            if diff.compare("settings", key, _wrap(settings.get(key)), _wrap(value)):
                new_settings[key] = value
        _lock_tenants(uow, setup, tenants, contacts, new_tenants, new_contacts, replace)
        removed: Dict[str, Tuple[str, ...]] = {}
        if replace:
            removed = _removals(uow, diff, setup, groups, tenants, contacts, offered, wanted,
                                settings)  # fmt: skip
        report = SetupReport(tuple(diff.entries), applied=not dry_run)
        if dry_run or not diff.entries:
            return report
        upsert = ports.Setup(
            groups=tuple(new_groups),
            tenants=tuple(new_tenants),
            contacts=tuple(new_contacts),
            catalog=Catalog.of(*sorted(wanted - offered)),
            settings=new_settings,
        )
        uow.change_reference(ports.ReferenceChange(upsert=upsert, audit=report.changes, **removed))
        return report

    return app.run(use_case)


def _lock_tenants(
    uow: Unit,
    setup: Setup,
    tenants: Mapping[str, Tenant],
    contacts: Mapping[str, Contact],
    new_tenants: Sequence[Tenant],
    new_contacts: Sequence[Contact],
    replace: bool,
) -> None:
    """Take the lock of every stored tenant this setup removes or changes.

    A use case for a tenant holds the tenant's lock from before it reads the
    tenant and its contact until it commits; so it runs wholly before this
    apply (whose reads of open requests come after these locks and see it) or
    wholly after it (and reads the new data). Without them, a submit could
    insert a request for a tenant this apply removes (issue 22). A contact's
    change touches the tenants it saw and sees. In ID order, as every use case
    that locks several tenants, so no two units deadlock.
    """
    names = {t.id for t in new_tenants if t.id in tenants}
    changed = {c.id: c for c in new_contacts}
    if replace:
        names.update(set(tenants) - {t.id for t in setup.tenants})
        kept = {c.id for c in setup.contacts}
        changed.update({k: c for k, c in contacts.items() if k not in kept})
    for key, c in changed.items():
        old = contacts.get(key)
        names.update(c.tenants)
        if old is not None:
            names.update(old.tenants)
    for name in sorted(names & set(tenants)):
        uow.lock(f"tenant:{name}")


def _removals(
    uow: Unit,
    diff: _Diff,
    setup: Setup,
    groups: Mapping[str, Group],
    tenants: Mapping[str, Tenant],
    contacts: Mapping[str, Contact],
    offered: Sequence[str] | set[str],
    wanted: set[str],
    settings: Mapping[str, Any],
) -> Dict[str, Tuple[str, ...]]:
    keep_t = {t.id for t in setup.tenants}
    gone_t = sorted(set(tenants) - keep_t)
    busy = []
    for tid in gone_t:
        page = uow.requests_for(tid, statuses=tuple(OPEN), limit=20)
        busy += [f"{r.id[:12]} ({tid})" for r in page.items]
    if busy:
        raise ConfigurationError(
            f"cannot remove tenants with open requests: {', '.join(busy)}; cancel, complete "
            "or fail them first, or keep the tenants in the setup"
        )
    gone_c = sorted(set(contacts) - {c.id for c in setup.contacts})
    gone_g = sorted(set(groups) - {g.id for g in setup.groups})
    gone_v = sorted(set(offered) - wanted)
    gone_s = sorted(set(settings) - set(setup.settings))
    for key in gone_g:
        diff.compare("group", key, _group_data(groups[key]), None)
    for key in gone_t:
        diff.compare("tenant", key, tenant_data(tenants[key]), None)
    for key in gone_c:
        diff.compare("contact", key, contact_data(contacts[key]), None)
    for key in gone_v:
        diff.compare("catalog", key, {"version": key}, None)
    for key in gone_s:
        diff.compare("settings", key, _wrap(settings[key]), None)
    return {
        "remove_groups": tuple(gone_g),
        "remove_tenants": tuple(gone_t),
        "remove_contacts": tuple(gone_c),
        "remove_versions": tuple(gone_v),
        "remove_settings": tuple(gone_s),
    }


def _data(value: Any, fn: Any) -> Optional[Dict[str, Any]]:
    return None if value is None else fn(value)


def _wrap(value: Any) -> Optional[Dict[str, Any]]:
    return None if value is None else {"value": value}
