"""The ``[provider.scheduling]`` table of a setup file, to values and back.

Kept apart from :mod:`siteupdates.setupfile`, which calls :func:`with_scheduling`
and :func:`scheduling_to_dict`; ``docs/setup.md`` documents the table::

    [[provider.scheduling.windows]]       # when given, these are the windows
    rrule = "FREQ=MONTHLY;BYDAY=2TU"      # or day = "sunday" with start and end
    start = "22:00"
    duration_minutes = 240
    zone = "Europe/Berlin"                # default: the provider's default zone
    starts_on = 2026-01-01                # optional, with ends_on and excluded
    excluded = [2026-12-08]

    [[provider.scheduling.blackouts]]
    name = "exam week"
    start = 2026-05-11T00:00:00           # read in zone unless it has an offset
    end = 2026-05-16T00:00:00
    kinds = ["version"]                   # or "refresh", or "all" (the default)
    group = "state-x"                     # or tenant = "d1"; neither: everyone
    yearly = false

    [provider.scheduling.staging]
    soak_hours = 48
    min_soak_hours = 24
    max_soak_hours = 336
    auto_approve = false

    [provider.scheduling.deferral]
    per_request = 2
    per_period = 2
    period_days = 30
    max_skip_days = 7

    [provider.scheduling.notice]
    default = "normal"
    tiers = { early = 28, normal = 14, late = 7 }   # days
    tenants = { d1 = "early" }

Every mistake raises :class:`~siteupdates.errors.ConfigurationError` naming the
place (``provider.scheduling.windows[0].rrule``) and what is accepted.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, TypeVar

import attrs

from siteupdates.checks import text as checked_text
from siteupdates.errors import ConfigurationError, SiteUpdatesError

from .preset import (
    MAX_SPAN,
    MAX_TIMES,
    DeferralRules,
    NoticeTiers,
    ProviderPreset,
    SchedulingRules,
    StagingRules,
)
from .timeutil import to_instant
from .windows import ALL_WORK, EPOCH, WEEKDAYS, Blackout, RecurringWindow, WeeklyWindow, Window

__all__ = ["scheduling_from_dict", "scheduling_to_dict", "with_scheduling"]

T = TypeVar("T")
_WHERE = "provider.scheduling"
_KEYS = {
    "": ("windows", "blackouts", "staging", "deferral", "notice"),
    "windows": ("rrule", "day", "start", "end", "duration_minutes", "zone", "starts_on",
                "ends_on", "excluded"),
    "blackouts": ("name", "start", "end", "zone", "yearly", "kinds", "tenant", "group"),
    "staging": ("soak_hours", "min_soak_hours", "max_soak_hours", "auto_approve"),
    "deferral": ("per_request", "per_period", "period_days", "max_skip_days"),
    "notice": ("default", "tiers", "tenants"),
}  # fmt: skip


def _at(where: str, fn: Callable[[], T]) -> T:
    try:
        return fn()
    except ConfigurationError:
        raise
    except (SiteUpdatesError, KeyError, TypeError, ValueError) as exc:
        detail = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        raise ConfigurationError(f"{where}: {detail}") from exc


def _table(where: str, value: Any, part: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"{where}: expected a table, not {value!r}")
    unknown = sorted(set(value) - set(_KEYS[part]))
    if unknown:
        raise ConfigurationError(
            f"{where}: unknown key {unknown[0]!r}; accepted: {', '.join(_KEYS[part])}"
        )
    return value


def _tables(where: str, value: Any, part: str) -> List[Mapping[str, Any]]:
    if not isinstance(value, list):
        raise ConfigurationError(f"{where}: expected a list of tables ([[{where}]])")
    return [_table(f"{where}[{i}]", v, part) for i, v in enumerate(value)]


#: The largest number of hours and of days a span of the table may give (MAX_SPAN).
_MAX_HOURS = MAX_SPAN.days * 24
_MAX_DAYS = MAX_SPAN.days
#: The longest window of ``duration_minutes``: a week, as the windows accept.
_MAX_WINDOW_MINUTES = 7 * 24 * 60


def _shown(value: Any) -> str:
    """A number as an error shows it: a huge one by its first digits and its length."""
    text = repr(value)
    return text if len(text) <= 24 else f"{text[:10]}...({len(text)} digits)"


def _number(where: str, value: Any, *, hi: float, whole: bool = False) -> float:
    """A finite number from 0 to ``hi`` (a whole one with ``whole``), or one clear error."""
    kind = "a whole number" if whole else "a number"
    wanted = f"{kind} from 0 to {hi:g}"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigurationError(f"{where}: expected {wanted}, not {_shown(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigurationError(f"{where}: expected a finite {wanted[2:]}, not {value}")
    if whole and not isinstance(value, int):
        raise ConfigurationError(f"{where}: expected {wanted}, not {_shown(value)}")
    if not 0 <= value <= hi:
        raise ConfigurationError(f"{where}: {_shown(value)} is out of range: expected {wanted}")
    return float(value)


def _hours(where: str, value: Any) -> timedelta:
    return timedelta(hours=_number(where, value, hi=_MAX_HOURS))


def _days(where: str, value: Any) -> timedelta:
    return timedelta(days=_number(where, value, hi=_MAX_DAYS))


def _printable(where: str, name: Any) -> None:
    """A name of a table: one line of printable text, or an error that does not echo it."""
    try:
        checked_text("a name", name, limit=200)
    except SiteUpdatesError as exc:
        raise ConfigurationError(f"{where}: {exc}") from None


def _bool(where: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigurationError(f"{where}: expected true or false, not {value!r}")
    return value


def _instant(where: str, value: Any, zone: str) -> datetime:
    def build() -> datetime:
        v = value
        if isinstance(v, str):
            v = datetime.fromisoformat(v.replace("Z", "+00:00"))
        elif isinstance(v, date) and not isinstance(v, datetime):
            v = datetime.combine(v, time())
        if not isinstance(v, datetime):
            raise ValueError(f"expected a date-time such as 2026-05-11T00:00:00, not {v!r}")
        return to_instant(v, zone) if v.tzinfo is None else v

    return _at(where, build)


def _window(where: str, w: Mapping[str, Any], zone: str) -> Window:
    z = w.get("zone", zone)
    if "rrule" in w:
        if "day" in w or "end" in w:
            raise ConfigurationError(
                f"{where}: a window has rrule with duration_minutes, or day with end, not both"
            )
        minutes = w.get("duration_minutes")
        if minutes is None:
            raise ConfigurationError(f"{where}: missing field 'duration_minutes'")
        return _at(
            where,
            lambda: RecurringWindow(
                w["rrule"], w.get("start"), int(_number(f"{where}.duration_minutes", minutes,
                                                        hi=_MAX_WINDOW_MINUTES, whole=True)),
                z, w.get("starts_on", EPOCH),
                w.get("ends_on"), w.get("excluded", ()),
            ),
        )  # fmt: skip
    extra = sorted(set(w) & {"duration_minutes", "starts_on", "ends_on", "excluded"})
    if extra:
        raise ConfigurationError(f"{where}: {extra[0]} needs an rrule window (rrule = ...)")
    return _at(where, lambda: WeeklyWindow(w["day"], w["start"], w["end"], z))


def _blackout(where: str, b: Mapping[str, Any], zone: str) -> Blackout:
    z = b.get("zone", zone)
    return _at(
        where,
        lambda: Blackout(
            str(b["name"]), _instant(f"{where}.start", b["start"], z),
            _instant(f"{where}.end", b["end"], z), b.get("tenant"),
            _bool(f"{where}.yearly", b.get("yearly", False)), z,
            b.get("kinds", "all"), b.get("group"),
        ),
    )  # fmt: skip


def scheduling_from_dict(
    data: Mapping[str, Any], default_zone: str
) -> Tuple[Optional[Tuple[Window, ...]], SchedulingRules]:
    """The windows (None when the table gives none) and rules of a scheduling table."""
    top = _table(_WHERE, data, "")
    windows: Optional[Tuple[Window, ...]] = None
    if "windows" in top:
        found = _tables(f"{_WHERE}.windows", top["windows"], "windows")
        if not found:
            raise ConfigurationError(f"{_WHERE}.windows: give at least one window")
        windows = tuple(
            _window(f"{_WHERE}.windows[{i}]", w, default_zone) for i, w in enumerate(found)
        )
    blackouts = tuple(
        _blackout(f"{_WHERE}.blackouts[{i}]", b, default_zone)
        for i, b in enumerate(
            _tables(f"{_WHERE}.blackouts", top.get("blackouts", []), "blackouts")
        )
    )
    base = SchedulingRules()
    s = _table(f"{_WHERE}.staging", top.get("staging", {}), "staging")
    w = f"{_WHERE}.staging"
    staging = _at(w, lambda: StagingRules(
        _hours(f"{w}.soak_hours", s["soak_hours"]) if "soak_hours" in s else base.staging.soak,
        _hours(f"{w}.min_soak_hours", s["min_soak_hours"]) if "min_soak_hours" in s
        else base.staging.min_soak,
        _hours(f"{w}.max_soak_hours", s["max_soak_hours"]) if "max_soak_hours" in s
        else base.staging.max_soak,
        _bool(f"{w}.auto_approve", s.get("auto_approve", False)),
    ))  # fmt: skip
    d = _table(f"{_WHERE}.deferral", top.get("deferral", {}), "deferral")
    w = f"{_WHERE}.deferral"

    def count(key: str, default: Optional[int]) -> Optional[int]:
        return (
            int(_number(f"{w}.{key}", d[key], hi=MAX_TIMES, whole=True)) if key in d else default
        )

    deferral = _at(w, lambda: DeferralRules(
        count("per_request", base.deferral.per_request),
        count("per_period", base.deferral.per_period),
        _days(f"{w}.period_days", d["period_days"]) if "period_days" in d
        else base.deferral.period,
        _days(f"{w}.max_skip_days", d["max_skip_days"]) if "max_skip_days" in d
        else base.deferral.max_skip,
    ))  # fmt: skip
    n = _table(f"{_WHERE}.notice", top.get("notice", {}), "notice")
    w = f"{_WHERE}.notice"
    tiers = n.get("tiers", {})
    tenants = n.get("tenants", {})
    for key, value in (("tiers", tiers), ("tenants", tenants)):
        if not isinstance(value, Mapping):
            raise ConfigurationError(f"{w}.{key}: expected a table such as {{ early = 28 }}")
        # The names go into messages (paths, refusals): printable text only, checked
        # before any is echoed.
        for name in value:
            _printable(f"{w}.{key}", name)
    notice = _at(w, lambda: NoticeTiers(
        {str(k): _days(f"{w}.tiers.{k}", v) for k, v in tiers.items()},
        n.get("default"), {str(k): str(v) for k, v in tenants.items()},
    ))  # fmt: skip
    return windows, SchedulingRules(staging, deferral, notice, blackouts)


def with_scheduling(preset: ProviderPreset, data: Any) -> ProviderPreset:
    """``preset`` with the scheduling table ``data`` (None: the preset unchanged)."""
    if data is None:
        return preset
    windows, rules = scheduling_from_dict(data, preset.default_zone)
    return attrs.evolve(preset, windows=windows or preset.windows, scheduling=rules)


def _iso(t: datetime) -> str:
    return t.isoformat()


def scheduling_to_dict(preset: ProviderPreset) -> Optional[Dict[str, Any]]:
    """The preset's scheduling table, or None when it holds only the defaults."""
    rules = preset.scheduling
    out: Dict[str, Any] = {}
    if any(isinstance(w, RecurringWindow) for w in preset.windows):
        out["windows"] = [
            {"day": WEEKDAYS[w.weekday], "start": f"{w.start:%H:%M}", "end": f"{w.end:%H:%M}",
             "zone": w.zone}
            if isinstance(w, WeeklyWindow)
            else {"rrule": w.rule, "start": f"{w.start:%H:%M}",
                  "duration_minutes": int(w.duration.total_seconds() // 60), "zone": w.zone,
                  "starts_on": w.starts_on.isoformat(),
                  **({"ends_on": w.ends_on.isoformat()} if w.ends_on else {}),
                  "excluded": sorted(d.isoformat() for d in w.excluded)}
            for w in preset.windows
        ]  # fmt: skip
    if rules.blackouts:
        out["blackouts"] = [
            {"name": b.name, "start": _iso(b.start), "end": _iso(b.end), "zone": b.zone,
             "yearly": b.yearly,
             "kinds": "all" if b.kinds == ALL_WORK else sorted(k.value for k in b.kinds),
             **({"tenant": b.tenant_id} if b.tenant_id else {}),
             **({"group": b.group_id} if b.group_id else {})}
            for b in rules.blackouts
        ]  # fmt: skip
    if rules.staging != StagingRules():
        st = rules.staging
        out["staging"] = {
            "soak_hours": st.soak.total_seconds() / 3600,
            "min_soak_hours": st.min_soak.total_seconds() / 3600,
            "max_soak_hours": st.max_soak.total_seconds() / 3600,
            "auto_approve": st.auto_approve,
        }
    if rules.deferral != DeferralRules():
        df = rules.deferral
        out["deferral"] = {
            k: v
            for k, v in (
                ("per_request", df.per_request),
                ("per_period", df.per_period),
                ("period_days", df.period.total_seconds() / 86400),
                ("max_skip_days", df.max_skip.total_seconds() / 86400),
            )
            if v is not None
        }
    if rules.notice != NoticeTiers():
        nt = rules.notice
        out["notice"] = {
            "tiers": {k: v.total_seconds() / 86400 for k, v in nt.tiers.items()},
            "tenants": dict(nt.tenants),
            **({"default": nt.default} if nt.default else {}),
        }
    return out or None
