"""Reading a provider setup from TOML (or from the equivalent dictionaries).

The format is documented in ``docs/setup.md``; ``examples/district.toml`` is a
complete one. The file is checked against a schema before anything is built or
stored, and every problem raises one :class:`~siteupdates.errors.ConfigurationError`
naming where it is (``tenants[0].sites[1].version``) and what would be accepted:

* the shape is structured into the attrs classes below by cattrs, with
  ``forbid_extra_keys``: an unknown key is refused with its path, a "did you
  mean" and the accepted keys; a table where a list belongs, a string where a
  number belongs (``capacity = "4"``), a boolean where a number belongs are
  refused with their path. cattrs collects every problem of a file in one
  pass with its path, which hand-written checks did one at a time and missed
  wherever a ``get`` with a default was used;
* values go through :mod:`siteupdates.checks`, the rules the command line and
  the Python API use too: identifiers and names without control characters,
  one email address per contact, numbers and dates in their documented ranges;
* IDs are unique within tenants, contacts and groups.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    List,
    Mapping,
    Optional,
    Tuple,
    TypeVar,
    Union,
)

import attrs

from siteupdates import checks
from siteupdates.domain import (
    Catalog,
    Contact,
    Group,
    Plan,
    PlanRules,
    ProviderPreset,
    ScheduledTask,
    Site,
    Status,
    Tenant,
    WeeklyWindow,
)
from siteupdates.domain.messages import lead_label, parse_ladder
from siteupdates.domain.scheduling_settings import scheduling_to_dict, with_scheduling
from siteupdates.domain.timeutil import to_instant
from siteupdates.domain.windows import Window, parse_weekday
from siteupdates.errors import ConfigurationError, SiteUpdatesError
from siteupdates.ports import Setup
from siteupdates.presets import CAMPUS_HOSTING

if TYPE_CHECKING:
    import cattrs

__all__ = [
    "LIMITS",
    "check_setup",
    "load_setup",
    "parse_instant",
    "preset_from_dict",
    "preset_to_dict",
    "setup_from_dict",
    "stored_preset",
]

T = TypeVar("T")

#: The documented ranges of the setup file's numbers (name: lowest, highest).
LIMITS: Mapping[str, Tuple[int, int]] = {
    "update_duration_minutes": (1, 7 * 24 * 60),
    "capacity": (1, 1000),
    "minutes": (1, 24 * 60),
    "reschedule_cutoff_hours": (0, 366 * 24),
    "refresh_interval_days": (0, 3660),
}
#: How deep a ``[plugins.NAME]`` table may nest.
MAX_DEPTH = 16
#: How large a setup file may be, in bytes.
MAX_BYTES = 16 * 1024 * 1024


# -- the schema ------------------------------------------------------------------------
# One attrs class per table of the file. Fields typed ``Any`` take either a TOML
# value or text (a date-time, a time of day, a weekday); their values are checked
# when the domain values are built, with the same paths.


@attrs.frozen
class _Window:
    day: Any
    start: Any
    end: Any
    zone: Optional[str] = None


@attrs.frozen
class _PlanRules:
    automatic_weekly_update: bool = False
    production_refresh_only: bool = False
    shows_automatic_updates: bool = False


@attrs.frozen
class _Provider:
    name: Optional[str] = None
    default_zone: Optional[str] = None
    update_duration_minutes: Optional[int] = None
    capacity: Optional[int] = None
    windows: Optional[List[_Window]] = None
    plans: Dict[str, _PlanRules] = attrs.field(factory=dict)
    # Numbers that may be fractional (checked by checks.number when the preset is built).
    reschedule_cutoff_hours: Any = None
    refresh_interval_days: Dict[str, Any] = attrs.field(factory=dict)
    email: Optional[str] = None
    # The locale of contacts without one, and of the provider's own notices.
    default_locale: Optional[str] = None
    # [provider.scheduling]: checked key by key by domain.scheduling_settings.
    scheduling: Optional[Dict[str, Any]] = None


@attrs.frozen
class _Notices:
    reminders: Any = None
    # [notices.statuses]: the provider's words for what a status means (checked below).
    statuses: Dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class _Group:
    id: str
    name: Optional[str] = None
    kind: str = "state"


@attrs.frozen
class _Site:
    kind: str
    version: str
    since: Any
    refreshed_at: Any = None
    automatic: bool = False


@attrs.frozen
class _Task:
    name: str
    at: Any
    zone: Optional[str] = None
    weekday: Any = None
    minutes: int = 30


@attrs.frozen
class _Tenant:
    id: str
    plan: str
    name: Optional[str] = None
    group: Optional[str] = None
    sites: List[_Site] = attrs.field(factory=list)
    tasks: List[_Task] = attrs.field(factory=list)


@attrs.frozen
class _Contact:
    id: str
    email: str
    role: str
    tenants: List[str]
    name: Optional[str] = None
    zone: Optional[str] = None
    locale: Optional[str] = None


@attrs.frozen
class _File:
    catalog: List[str] = attrs.field(factory=list)
    provider: _Provider = attrs.field(factory=_Provider)
    groups: List[_Group] = attrs.field(factory=list)
    tenants: List[_Tenant] = attrs.field(factory=list)
    contacts: List[_Contact] = attrs.field(factory=list)
    plugins: Dict[str, Dict[str, Any]] = attrs.field(factory=dict)
    notices: _Notices = attrs.field(factory=_Notices)


_TOML_NAMES = {"_File": "the setup file", "_Provider": "[provider]", "_Window": "a window",
               "_PlanRules": "plan rules", "_Group": "[[groups]]", "_Tenant": "[[tenants]]",
               "_Site": "a site", "_Task": "a task", "_Contact": "[[contacts]]",
               "_Notices": "[notices]"}  # fmt: skip


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, (datetime, date, time)):
        return "a date or time"
    return type(value).__name__


class _Shape(TypeError):
    """A value of the wrong kind; the message says what was expected."""


def _converter() -> cattrs.Converter:
    # Imported on first use: commands that read no setup file never load cattrs.
    import cattrs
    from cattrs.cols import (
        is_mapping,
        is_sequence,
        list_structure_factory,
        mapping_structure_factory,
    )
    from cattrs.gen import make_dict_structure_fn

    conv = cattrs.Converter(forbid_extra_keys=True)

    def strict(expected: type, words: str) -> Callable[[Any, Any], Any]:
        def hook(value: Any, _: Any) -> Any:
            if isinstance(value, bool) and expected is not bool:
                raise _Shape(f"expected {words}, not a boolean")
            if not isinstance(value, expected):
                raise _Shape(f"expected {words}, not {_kind(value)} {_short(value)}")
            return value

        return hook

    conv.register_structure_hook(str, strict(str, "a string"))
    conv.register_structure_hook(int, strict(int, "a whole number"))
    conv.register_structure_hook(bool, strict(bool, "true or false"))

    def lists(t: Any) -> Callable[[Any, Any], Any]:
        inner = list_structure_factory(t, conv)

        def hook(value: Any, cl: Any) -> Any:
            if not isinstance(value, list):
                raise _Shape(f"expected a list, not {_kind(value)} {_short(value)}")
            return inner(value, cl)

        return hook

    def tables(t: Any) -> Callable[[Any, Any], Any]:
        inner = mapping_structure_factory(t, conv)

        def hook(value: Any, cl: Any) -> Any:
            if not isinstance(value, dict):
                raise _Shape(f"expected a table, not {_kind(value)} {_short(value)}")
            return inner(value, cl)

        return hook

    def classes(cl: Any) -> Callable[[Any, Any], Any]:
        inner = make_dict_structure_fn(cl, conv, _cattrs_forbid_extra_keys=True)
        what = _TOML_NAMES.get(cl.__name__, "a table")

        def hook(value: Any, _: Any) -> Any:
            if not isinstance(value, dict):
                raise _Shape(f"expected {what} (a table), not {_kind(value)} {_short(value)}")
            return inner(value, cl)

        return hook

    conv.register_structure_hook_factory(is_sequence, lists)
    conv.register_structure_hook_factory(is_mapping, tables)
    conv.register_structure_hook_factory(attrs.has, classes)
    return conv


_CONVERTERS: List[cattrs.Converter] = []


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _problems(exc: BaseException, path: str) -> List[str]:
    """Every leaf problem of a cattrs error, as ``path: message``."""
    from cattrs.errors import ForbiddenExtraKeysError

    found: List[str] = []
    if isinstance(exc, ForbiddenExtraKeysError):
        accepted = [a.name for a in attrs.fields(exc.cl)]
        for key in sorted(exc.extra_fields):
            close = difflib.get_close_matches(key, accepted, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            found.append(
                f"{_join(path, key)}: unknown key{hint}; accepted keys here: {', '.join(accepted)}"
            )
        return found
    subs = getattr(exc, "exceptions", None)
    if subs is not None:
        for sub in subs:
            found += _problems(sub, _join(path, _step(sub)))
        return found
    return [f"{path or 'the setup file'}: {_leaf(exc)}"]


def _step(exc: BaseException) -> Optional[Union[str, int]]:
    for note in getattr(exc, "__notes__", ()):
        if hasattr(note, "name"):
            return str(note.name)
        if hasattr(note, "index"):
            return int(note.index) if isinstance(note.index, int) else str(note.index)
    return None


def _join(path: str, step: Optional[Union[str, int]]) -> str:
    if step is None:
        return path
    if isinstance(step, int):
        return f"{path}[{step}]"
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]{0,63}", step):
        return f"{path}[{step[:64]!a}]"  # a key people could not type plainly
    return f"{path}.{step}" if path else step


def _leaf(exc: BaseException) -> str:
    if isinstance(exc, _Shape):
        return str(exc)
    if isinstance(exc, KeyError):
        return "this key is required"
    if isinstance(exc, (TypeError, AttributeError)):
        return "expected a table here"
    return str(exc)


def _structure(data: Any) -> _File:
    if not isinstance(data, Mapping):
        raise ConfigurationError(f"a setup is a table of tables, not {_kind(data)}")
    if not _CONVERTERS:
        _CONVERTERS.append(_converter())
    try:
        return _CONVERTERS[0].structure(dict(data), _File)
    except RecursionError:
        raise ConfigurationError("the setup file nests too deeply") from None
    except Exception as exc:  # cattrs groups every problem of the file
        found = _problems(exc, "")
        more = f" (and {len(found) - 3} more)" if len(found) > 3 else ""
        raise ConfigurationError("; ".join(found[:3]) + more) from None


# -- from the schema to the domain ---------------------------------------------------------


def _at(where: str, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
    try:
        return fn(*args, **kw)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{where}: {exc}") from None
    except (SiteUpdatesError, KeyError, TypeError, ValueError, OverflowError) as exc:
        detail = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        raise ConfigurationError(f"{where}: {detail}") from None


def parse_instant(value: Any, zone: str = "UTC") -> datetime:
    """An instant from TOML: an offset datetime, or a local one read in ``zone``.

    Dates from 1900-01-01 to 2999-12-31 are accepted (:mod:`siteupdates.checks`).
    """
    if isinstance(value, str):
        checks.text("date-time", value, limit=64)
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ConfigurationError(
                f"malformed date-time {value!r}: expected ISO 8601 such as "
                "2015-01-10T12:00:00Z or 2015-01-10 06:00"
            ) from None
    if not isinstance(value, datetime):
        raise ConfigurationError(
            f"expected a date-time such as 2015-01-10 06:00, not {_kind(value)} {_short(value)}"
        )
    if value.tzinfo is None:
        checks.local_time("date-time", value)
        return checks.instant("date-time", to_instant(value, zone))
    return checks.instant("date-time", value)


def _time_of_day(value: Any) -> Union[time, str]:
    if isinstance(value, (time, str)) and not isinstance(value, datetime):
        if isinstance(value, str):
            checks.text("time", value, limit=16)
        return value
    raise ConfigurationError(f'expected a time of day such as "04:00", not {_kind(value)}')


def _zone(value: Optional[str], default: str) -> str:
    return default if value is None else checks.text("zone", value, limit=64)


def _count(name: str, value: int) -> int:
    lo, hi = LIMITS[name]
    return checks.count(name, value, lo, hi)


def _preset(p: _Provider) -> ProviderPreset:
    base = CAMPUS_HOSTING
    zone = base.default_zone if p.default_zone is None else p.default_zone
    _at(
        "provider.default_zone",
        lambda: ProviderPreset(base.name, zone, base.windows, base.plan_rules),
    )
    windows: Tuple[Window, ...] = base.windows
    scheduled = isinstance(p.scheduling, dict) and bool(p.scheduling.get("windows"))
    if p.windows is not None and not (scheduled and not p.windows):
        # An empty list is refused unless [provider.scheduling] brings the windows.
        if not p.windows:
            raise ConfigurationError(
                "provider.windows: give at least one window, such as "
                '{ day = "sunday", start = "04:00", end = "09:00" }'
            )
        windows = tuple(
            _at(
                f"provider.windows[{i}]",
                lambda w=w: WeeklyWindow(
                    parse_weekday(w.day),
                    _time_of_day(w.start),
                    _time_of_day(w.end),
                    _zone(w.zone, zone),
                ),
            )
            for i, w in enumerate(p.windows)
        )
    plans: Dict[Plan, PlanRules] = dict(base.plan_rules)
    for name, rules in p.plans.items():
        plan: Plan = _at(_join("provider.plans", name), Plan.parse, name)
        plans[plan] = PlanRules(**attrs.asdict(rules))
    duration = base.update_duration
    if p.update_duration_minutes is not None:
        minutes = _at("provider.update_duration_minutes", _count, "update_duration_minutes",
                      p.update_duration_minutes)  # fmt: skip
        duration = timedelta(minutes=minutes)
    capacity = base.capacity
    if p.capacity is not None:
        capacity = _at("provider.capacity", _count, "capacity", p.capacity)
    name = base.name if p.name is None else _at("provider.name", checks.text, "name", p.name)
    cutoff = base.move_cutoff
    if p.reschedule_cutoff_hours is not None:
        hours = _at("provider.reschedule_cutoff_hours", checks.number,
                    "reschedule_cutoff_hours", p.reschedule_cutoff_hours,
                    *LIMITS["reschedule_cutoff_hours"])  # fmt: skip
        cutoff = timedelta(hours=hours)
    intervals: Dict[object, timedelta] = {}
    for k, v in p.refresh_interval_days.items():
        days = _at(_join("provider.refresh_interval_days", k), checks.number,
                   "refresh_interval_days", v, *LIMITS["refresh_interval_days"],
                   above=True)  # fmt: skip
        intervals[k] = timedelta(days=days)
    email = None if p.email is None else _at("provider.email", checks.email, "email", p.email)
    preset = _at(
        "provider",
        lambda: ProviderPreset(
            name=name,
            default_zone=zone,
            windows=windows,
            plan_rules=plans,
            update_duration=duration,
            capacity=capacity,
            move_cutoff=cutoff,
            refresh_intervals=intervals,
            email=email,
        ),
    )
    # Recurring windows, scoped blackouts, staging, deferral, notice tiers (issue 17).
    return with_scheduling(preset, p.scheduling)


def preset_from_dict(data: Mapping[str, Any]) -> ProviderPreset:
    """A provider preset from a ``[provider]`` table; missing parts come from CAMPUS_HOSTING."""
    return _preset(_structure({"provider": data}).provider)


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


def _site(where: str, s: _Site, zone: str) -> Site:
    since = _at(f"{where}.since", parse_instant, s.since, zone)
    refreshed = None
    if s.refreshed_at is not None:
        refreshed = _at(f"{where}.refreshed_at", parse_instant, s.refreshed_at, zone)
    return _at(
        where,
        lambda: Site(s.kind, s.version, since, refreshed_at=refreshed, automatic=s.automatic),
    )


def _task(where: str, k: _Task, zone: str) -> ScheduledTask:
    def build() -> ScheduledTask:
        at = _time_of_day(k.at)
        return ScheduledTask(
            checks.text("name", k.name, limit=checks.MAX_ID, empty=False),
            at if isinstance(at, time) else time.fromisoformat(at.strip()),
            _zone(k.zone, zone),
            None if k.weekday is None else parse_weekday(k.weekday),
            _count("minutes", k.minutes),
        )

    return _at(where, build)


def _unique(kind: str, ids: List[str]) -> None:
    seen: Dict[str, int] = {}
    for i, key in enumerate(ids):
        if key in seen:
            raise ConfigurationError(
                f"{kind}[{i}].id: {key!r} is also the ID of {kind}[{seen[key]}]; IDs are unique"
            )
        seen[key] = i


def _plugin_table(where: str, value: Any, depth: int = 0) -> Any:
    """A plugin table as JSON-able data: strings, numbers, booleans, lists and tables."""
    if depth > MAX_DEPTH:
        raise ConfigurationError(f"{where}: nests deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        return {
            str(k): _plugin_table(_join(where, str(k)), v, depth + 1) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_plugin_table(f"{where}[{i}]", v, depth + 1) for i, v in enumerate(value)]
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigurationError(f"{where}: {value} is not a finite number")
    if isinstance(value, (str, int, float, bool)):
        if isinstance(value, str):
            _at(where, checks.text, "value", value, limit=checks.MAX_TEXT)
        return value
    raise ConfigurationError(
        f"{where}: {_kind(value)} is not accepted in a plugin table; write it as a string"
    )


def _meanings(table: Mapping[str, Any]) -> Dict[Status, str]:
    """``[notices.statuses]``: a status (value or label) to the provider's words for it."""
    from siteupdates.domain.meanings import MAX_MEANING, status_named

    out: Dict[Status, str] = {}
    for key, text in table.items():
        where = _join("notices.statuses", key)
        status = status_named(key)
        if status is None:
            raise ConfigurationError(
                f"{where}: not a status; statuses: {', '.join(s.value for s in Status)}"
            )
        out[status] = _at(where, checks.text, "the meaning", text, limit=MAX_MEANING,
                          empty=False)  # fmt: skip
    return out


def _locales(f: _File) -> Dict[str, Any]:
    """The provider's ``default_locale`` and each contact's ``locale``, checked; {} for none."""
    from siteupdates.i18n import check_locale

    out: Dict[str, Any] = {}
    if f.provider.default_locale is not None:
        out["default"] = check_locale(f.provider.default_locale, "provider.default_locale")
    own = {
        c.id: check_locale(c.locale, f"contacts[{i}].locale")
        for i, c in enumerate(f.contacts)
        if c.locale is not None
    }
    if own:
        out["contacts"] = own
    return out


def setup_from_dict(data: Mapping[str, Any]) -> Setup:
    """A :class:`~siteupdates.ports.Setup` from parsed TOML (checked; see the module doc)."""
    f = _structure(data)
    preset = _preset(f.provider)
    zone = preset.default_zone
    groups = tuple(
        _at(
            f"groups[{i}]",
            lambda g=g: Group(
                checks.ident("id", g.id),
                checks.text("name", g.name or g.id, limit=checks.MAX_ID),
                checks.ident("kind", g.kind),
            ),
        )
        for i, g in enumerate(f.groups)
    )
    _unique("groups", [g.id for g in groups])
    group_ids = {g.id for g in groups}
    tenants: List[Tenant] = []
    for i, t in enumerate(f.tenants):
        where = f"tenants[{i}]"
        tid = _at(f"{where}.id", checks.ident, "id", t.id)
        sites = tuple(_site(f"{where}.sites[{j}]", s, zone) for j, s in enumerate(t.sites))
        tasks = tuple(_task(f"{where}.tasks[{j}]", k, zone) for j, k in enumerate(t.tasks))
        if t.group is not None and t.group not in group_ids:
            raise ConfigurationError(
                f"{where}.group: unknown group {t.group!r}; groups defined: "
                f"{', '.join(sorted(group_ids)) or 'none'}"
            )
        name = _at(f"{where}.name", checks.text, "name", t.name or tid, limit=checks.MAX_ID)
        tenants.append(
            _at(
                where,
                lambda t=t, sites=sites, tasks=tasks, name=name, tid=tid: Tenant(
                    tid, name, t.plan, sites, t.group, tasks
                ),
            )
        )
    _unique("tenants", [t.id for t in tenants])
    tenant_ids = {t.id for t in tenants}
    contacts: List[Contact] = []
    for i, c in enumerate(f.contacts):
        where = f"contacts[{i}]"
        cid = _at(f"{where}.id", checks.ident, "id", c.id)
        address = _at(f"{where}.email", checks.email, "email", c.email)
        unknown = sorted(set(c.tenants) - tenant_ids)
        if unknown:
            raise ConfigurationError(
                f"{where}.tenants: unknown tenants {unknown}; tenants defined: "
                f"{', '.join(sorted(tenant_ids)) or 'none'}"
            )
        name = _at(f"{where}.name", checks.text, "name", c.name or cid, limit=checks.MAX_ID)
        contacts.append(
            _at(
                where,
                lambda c=c, cid=cid, address=address, name=name: Contact(
                    cid, name, address, c.role, c.tenants, c.zone
                ),
            )
        )
    _unique("contacts", [c.id for c in contacts])
    catalog = _at("catalog", lambda: Catalog.of(*f.catalog))
    plugins = {
        _at(_join("plugins", k), checks.ident, "plugin", k): _plugin_table(_join("plugins", k), v)
        for k, v in f.plugins.items()
    }
    # Always stored, even empty: a setup file is the whole truth about its plugins,
    # so loading one without [plugins] turns off what an earlier one turned on.
    settings: Dict[str, Any] = {"provider": preset_to_dict(preset), "plugins": plugins}
    if f.notices.reminders is not None:
        ladder = _at("notices.reminders", parse_ladder, f.notices.reminders)
        settings["notices"] = {"reminders": [lead_label(lead) for lead in ladder]}
    locales = _locales(f)
    if locales:
        settings["locales"] = locales
    if f.notices.statuses:
        meanings = _meanings(f.notices.statuses)
        settings.setdefault("notices", {})["statuses"] = {s.value: t for s, t in meanings.items()}
    return Setup(
        groups=groups,
        tenants=tuple(tenants),
        contacts=tuple(contacts),
        catalog=catalog,
        settings=settings,
    )


def check_setup(setup: Setup) -> Setup:
    """Hold a Setup built in Python to the rules of the file; return it, or raise.

    IDs, names and emails as in a file, instants in range, IDs unique, the
    settings JSON-able. ConfigurationError names the value (``tenants['d1'].name``).
    """
    if not isinstance(setup, Setup):
        raise ConfigurationError(f"expected a Setup, not {_kind(setup)}")
    named: Tuple[Tuple[str, Tuple[Union[Group, Tenant, Contact], ...]], ...] = (
        ("groups", setup.groups), ("tenants", setup.tenants), ("contacts", setup.contacts),
    )  # fmt: skip
    for kind, items in named:
        for i, item in enumerate(items):
            where = f"{kind}[{i}]"
            _at(f"{where}.id", checks.ident, "id", item.id)
            _at(f"{where}.name", checks.text, "name", item.name, limit=checks.MAX_ID)
        _unique(kind, [x.id for x in items])
    for i, t in enumerate(setup.tenants):
        if t.group_id is not None:
            _at(f"tenants[{i}].group", checks.ident, "group", t.group_id)
        for j, s in enumerate(t.sites):
            _at(f"tenants[{i}].sites[{j}].since", checks.instant, "since", s.since)
            if s.refreshed_at is not None:
                _at(f"tenants[{i}].sites[{j}].refreshed_at", checks.instant, "refreshed_at",
                    s.refreshed_at)  # fmt: skip
        for j, k in enumerate(t.tasks):
            _at(f"tenants[{i}].tasks[{j}].name", checks.text, "name", k.name,
                limit=checks.MAX_ID)  # fmt: skip
            _at(f"tenants[{i}].tasks[{j}].minutes", _count, "minutes", k.duration_minutes)
    for i, c in enumerate(setup.contacts):
        _at(f"contacts[{i}].email", checks.email, "email", c.email)
        for member in sorted(c.tenants):
            _at(f"contacts[{i}].tenants", checks.ident, "tenant", member)
    _check_locales(setup.settings.get("locales"))
    try:
        json.dumps(dict(setup.settings), allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise ConfigurationError(f"settings: not storable as JSON: {exc}") from None
    return setup


def _check_locales(locales: Any) -> None:
    """``settings["locales"]`` of a Setup built in Python, held to the file's rules."""
    from siteupdates.i18n import check_locale

    if locales is None:
        return
    if not isinstance(locales, Mapping) or set(locales) - {"default", "contacts"}:
        raise ConfigurationError(
            'settings.locales: expected {"default": locale, "contacts": {id: locale}}, '
            f"not {locales!r:.80}"
        )
    if "default" in locales:
        check_locale(locales["default"], "settings.locales.default")
    own = locales.get("contacts", {})
    if not isinstance(own, Mapping):
        raise ConfigurationError(f"settings.locales.contacts: expected a table, not {own!r:.80}")
    for cid, code in own.items():
        check_locale(code, f"settings.locales.contacts.{cid}")


def load_setup(source: Union[str, Path, Mapping[str, Any], Setup]) -> Setup:
    """A setup from a TOML file, its parsed tables, or a Setup (checked, then returned).

    Raises ConfigurationError naming the file, the place in it and the problem.
    """
    if isinstance(source, Setup):
        return check_setup(source)
    if isinstance(source, Mapping):
        return setup_from_dict(source)
    if not isinstance(source, (str, Path)):
        raise ConfigurationError(
            f"a setup is a TOML file's path, its tables or a Setup, not {_kind(source)}"
        )
    p = Path(source)
    where = checks.bad_character(str(p))
    if where is not None:
        raise ConfigurationError(f"the setup file's name {str(p)!r} holds {where}")
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read setup file {p}: {exc.strerror or exc}") from None
    if len(raw) > MAX_BYTES:
        raise ConfigurationError(f"{p} is larger than {MAX_BYTES // (1024 * 1024)} MiB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigurationError(
            f"{p} is not valid UTF-8 (line {line}, byte {exc.start}): save it as UTF-8"
        ) from None
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on older Pythons
        import tomli as tomllib
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{p} is not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigurationError(f"{p}: the file nests too deeply") from None
    try:
        return setup_from_dict(data)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{p}: {exc}") from None


def stored_preset(settings: Mapping[str, Any]) -> Optional[ProviderPreset]:
    """The preset saved by ``apply`` (or ``init``), if any.

    It was checked against the schema when it was stored, so it is read without
    cattrs (every command reads it); a damaged one is a ConfigurationError.
    """
    data = settings.get("provider")
    if data is None:
        return None
    try:
        windows = data.get("windows")
        provider = _Provider(
            **{k: v for k, v in data.items() if k not in ("windows", "plans")},
            windows=None if windows is None else [_Window(**w) for w in windows],
            plans={k: _PlanRules(**v) for k, v in (data.get("plans") or {}).items()},
        )
        return _preset(provider)
    except ConfigurationError as exc:
        raise ConfigurationError(
            f"the stored provider settings are not usable ({exc}); run siteupdates apply"
        ) from None
    except (TypeError, AttributeError, ValueError) as exc:
        raise ConfigurationError(
            f"the stored provider settings are damaged ({exc}); run siteupdates apply"
        ) from None
