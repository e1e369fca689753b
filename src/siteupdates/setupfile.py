"""Reading a provider setup from TOML (or from the equivalent dictionaries).

The format is documented in ``docs/setup.md``; ``examples/district.toml`` is a
complete one. Every problem raises ConfigurationError naming where it is
(``tenants[0].sites[1].version``) and what would be accepted.
"""

from __future__ import annotations

import sys
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, TypeVar, Union

from siteupdates.domain import (
    Catalog,
    Contact,
    Group,
    Plan,
    PlanRules,
    ProviderPreset,
    ScheduledTask,
    Site,
    Tenant,
    WeeklyWindow,
)
from siteupdates.domain.messages import lead_label, parse_ladder
from siteupdates.domain.scheduling_settings import scheduling_to_dict, with_scheduling
from siteupdates.domain.timeutil import to_instant
from siteupdates.domain.windows import parse_weekday
from siteupdates.errors import ConfigurationError, SiteUpdatesError
from siteupdates.ports import Setup
from siteupdates.presets import CAMPUS_HOSTING

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on older Pythons
    import tomli as tomllib

__all__ = [
    "load_setup",
    "parse_instant",
    "preset_from_dict",
    "preset_to_dict",
    "setup_from_dict",
    "stored_preset",
]

T = TypeVar("T")


def _at(where: str, fn: Callable[..., T], *args: Any) -> T:
    try:
        return fn(*args)
    except ConfigurationError:
        raise
    except (SiteUpdatesError, KeyError, TypeError, ValueError) as exc:
        detail = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        raise ConfigurationError(f"{where}: {detail}") from exc


def parse_instant(value: Any, zone: str = "UTC") -> datetime:
    """An instant from TOML: an offset datetime, or a local one read in ``zone``."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ConfigurationError(
                f"malformed date-time {value!r}: expected ISO 8601 such as "
                "2015-01-10T12:00:00Z or 2015-01-10 06:00"
            ) from None
    if not isinstance(value, datetime):
        raise ConfigurationError(f"expected a date-time, not {value!r}")
    if value.tzinfo is None:
        return to_instant(value, zone)
    return value


def _list(data: Mapping[str, Any], key: str) -> List[Mapping[str, Any]]:
    items = data.get(key, [])
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ConfigurationError(f"{key}: expected a list of tables ([[{key}]])")
    return items


def preset_from_dict(data: Mapping[str, Any]) -> ProviderPreset:
    """A provider preset from a ``[provider]`` table; missing parts come from CAMPUS_HOSTING."""
    base = CAMPUS_HOSTING
    zone = data.get("default_zone", base.default_zone)
    windows = (
        tuple(
            _at(
                f"provider.windows[{i}]",
                lambda w=w: WeeklyWindow(w["day"], w["start"], w["end"], w.get("zone", zone)),
            )
            for i, w in enumerate(data.get("windows", []))
        )
        or base.windows
    )
    plans: Dict[Plan, PlanRules] = dict(base.plan_rules)
    for name, rules in dict(data.get("plans", {})).items():
        plan: Plan = _at(f"provider.plans.{name}", Plan.parse, name)
        plans[plan] = _at(f"provider.plans.{name}", lambda r: PlanRules(**r), rules)
    minutes = data.get("update_duration_minutes")
    cutoff = data.get("reschedule_cutoff_hours")
    intervals = _at(
        "provider.refresh_interval_days",
        lambda: {
            k: timedelta(days=v) for k, v in dict(data.get("refresh_interval_days", {})).items()
        },
    )
    preset = _at(
        "provider",
        lambda: ProviderPreset(
            name=str(data.get("name", base.name)),
            default_zone=zone,
            windows=windows,
            plan_rules=plans,
            update_duration=timedelta(minutes=minutes) if minutes else base.update_duration,
            capacity=int(data.get("capacity", base.capacity)),
            move_cutoff=base.move_cutoff if cutoff is None else timedelta(hours=cutoff),
            refresh_intervals=intervals,
            email=None if data.get("email") is None else str(data["email"]),
        ),
    )
    # Recurring windows, scoped blackouts, staging, deferral, notice tiers (issue 17).
    return with_scheduling(preset, data.get("scheduling"))


def preset_to_dict(preset: ProviderPreset) -> Dict[str, Any]:
    """The preset as a ``[provider]`` table, so it can be stored as settings."""
    scheduling = scheduling_to_dict(preset)
    return {
        **({"scheduling": scheduling} if scheduling else {}),
        "name": preset.name,
        "default_zone": preset.default_zone,
        "update_duration_minutes": int(preset.update_duration.total_seconds() // 60),
        "capacity": preset.capacity,
        "reschedule_cutoff_hours": preset.move_cutoff / timedelta(hours=1),
        "refresh_interval_days": {
            k.value: every / timedelta(days=1) for k, every in preset.refresh_intervals.items()
        },
        **({"email": preset.email} if preset.email else {}),
        "windows": [
            {
                "day": w.weekday,
                "start": w.start.strftime("%H:%M"),
                "end": w.end.strftime("%H:%M"),
                "zone": w.zone,
            }
            for w in preset.windows
            if isinstance(w, WeeklyWindow)
        ],
        "plans": {
            p.value: {
                "automatic_weekly_update": r.automatic_weekly_update,
                "production_refresh_only": r.production_refresh_only,
                "shows_automatic_updates": r.shows_automatic_updates,
            }
            for p, r in preset.plan_rules.items()
        },
    }


def _site(where: str, s: Mapping[str, Any], zone: str) -> Site:
    return _at(
        where,
        lambda: Site(
            s["kind"],
            s["version"],
            parse_instant(s["since"], zone),
            refreshed_at=None
            if s.get("refreshed_at") is None
            else parse_instant(s["refreshed_at"], zone),
            automatic=bool(s.get("automatic", False)),
        ),
    )


def _task(where: str, k: Mapping[str, Any], zone: str) -> ScheduledTask:
    def build() -> ScheduledTask:
        at = k["at"]
        return ScheduledTask(
            k["name"],
            at if isinstance(at, time) else time.fromisoformat(str(at)),
            k.get("zone", zone),
            None if k.get("weekday") is None else parse_weekday(k["weekday"]),
            int(k.get("minutes", 30)),
        )

    return _at(where, build)


def setup_from_dict(data: Mapping[str, Any]) -> Setup:
    """A :class:`~siteupdates.ports.Setup` from parsed TOML."""
    provider = data.get("provider", {})
    if not isinstance(provider, dict):
        raise ConfigurationError("provider: expected a table ([provider])")
    preset = preset_from_dict(provider)
    zone = preset.default_zone
    groups = tuple(
        _at(
            f"groups[{i}]",
            lambda g=g: Group(g["id"], g.get("name", g["id"]), g.get("kind", "state")),
        )
        for i, g in enumerate(_list(data, "groups"))
    )
    group_ids = {g.id for g in groups}
    tenants: List[Tenant] = []
    for i, t in enumerate(_list(data, "tenants")):
        where = f"tenants[{i}]"
        sites = tuple(
            _site(f"{where}.sites[{j}]", s, zone) for j, s in enumerate(_list(t, "sites"))
        )
        tasks = tuple(
            _task(f"{where}.tasks[{j}]", k, zone) for j, k in enumerate(_list(t, "tasks"))
        )
        group = t.get("group")
        if group is not None and group not in group_ids:
            raise ConfigurationError(
                f"{where}.group: unknown group {group!r}; groups defined: "
                f"{', '.join(sorted(group_ids)) or 'none'}"
            )
        tenants.append(
            _at(
                where,
                lambda t=t, sites=sites, tasks=tasks, group=group: Tenant(
                    t["id"], t.get("name", t["id"]), t["plan"], sites, group, tasks
                ),
            )
        )
    tenant_ids = {t.id for t in tenants}
    contacts: List[Contact] = []
    for i, c in enumerate(_list(data, "contacts")):
        where = f"contacts[{i}]"
        unknown = sorted(set(c.get("tenants", [])) - tenant_ids)
        if unknown:
            raise ConfigurationError(f"{where}.tenants: unknown tenants {unknown}")
        contacts.append(
            _at(
                where,
                lambda c=c: Contact(
                    c["id"],
                    c.get("name", c["id"]),
                    c["email"],
                    c["role"],
                    c["tenants"],
                    c.get("zone"),
                ),
            )
        )
    catalog = _at("catalog", lambda: Catalog.of(*data.get("catalog", [])))
    plugins = data.get("plugins", {})
    if not isinstance(plugins, dict) or not all(isinstance(v, dict) for v in plugins.values()):
        raise ConfigurationError(
            "plugins: expected one table per plugin, such as [plugins.smtp] with url_env = ..."
        )
    # Always stored, even empty: a setup file is the whole truth about its plugins,
    # so loading one without [plugins] turns off what an earlier one turned on.
    settings: Dict[str, Any] = {"provider": preset_to_dict(preset), "plugins": plugins}
    notices = data.get("notices", {})
    if not isinstance(notices, dict):
        raise ConfigurationError("notices: expected a table ([notices])")
    if "reminders" in notices:
        ladder = _at("notices.reminders", parse_ladder, notices["reminders"])
        settings["notices"] = {"reminders": [lead_label(lead) for lead in ladder]}
    return Setup(
        groups=groups,
        tenants=tuple(tenants),
        contacts=tuple(contacts),
        catalog=catalog,
        settings=settings,
    )


def load_setup(source: Union[str, Path, Mapping[str, Any], Setup]) -> Setup:
    """A setup from a TOML file, its parsed tables, or a Setup (returned as it is).

    Raises ConfigurationError naming the file, the place in it and the problem.
    """
    if isinstance(source, Setup):
        return source
    if isinstance(source, Mapping):
        return setup_from_dict(source)
    p = Path(source)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"cannot read setup file {p}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{p} is not valid TOML: {exc}") from exc
    try:
        return setup_from_dict(data)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{p}: {exc}") from exc


def stored_preset(settings: Mapping[str, Any]) -> Optional[ProviderPreset]:
    """The preset saved by ``init``, if any."""
    data = settings.get("provider")
    return None if data is None else preset_from_dict(data)
