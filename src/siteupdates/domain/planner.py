"""The scheduler: first come, first served, inside windows, around blackouts (R8, R10, R13, R14).

:func:`plan` turns requests, in submission order, into slots. It is pure and
deterministic: the same input gives the same plan.

The model:

* **Slots.** Each occurrence of each window (weekly, or by a recurrence rule)
  is cut into back-to-back slots of ``slot_length`` from the window's opening;
  a slot must end by the window's close. Windows follow the wall clock across
  DST (see :mod:`siteupdates.domain.windows`).
* **Capacity.** A slot holds at most ``capacity`` updates at once. A group
  update (R10) counts one per member tenant. Capacity "per hour" is capacity per
  slot with one-hour slots.
* **Blackouts.** A slot that overlaps a provider-wide blackout of all work is
  closed to all; one that overlaps a blackout with a narrower scope is closed to
  the demands it covers: of the kinds of work it blocks (version updates, DB
  refreshes), for everyone, a group's tenants or one tenant.
* **Holds.** A demand may carry holds, each an instant before which it may not
  start and the rule that says so: the soak after staging, the advance-notice
  tier, a contact's deferral. Slots before a hold are passed over, named.
* **Tenants.** A tenant runs one update at a time: a slot in which it already
  has an update (planned, or scheduled before) is closed to it. A group update
  needs a slot in which every member is free.
* **Strict first come, first served.** Requests are placed one by one in
  submission order, each at the earliest open slot that starts at or after its
  preferred time. A later request never takes a slot an earlier one could have
  had, because the earlier one was placed first and took the earliest it could.

Cost: slots are generated once; a union-find over slot indices skips full
slots in near-constant time and blackouts are found by binary search, so a plan
of n requests costs O((n + slots) log(n + slots)). Explanations are built on
demand, from the plan, for the requests someone asks about.
"""

from __future__ import annotations

import bisect
import re
from datetime import date, datetime, timedelta
from typing import (
    Any,
    Callable,
    Dict,
    FrozenSet,
    Iterable,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
)

import attrs

from siteupdates.errors import InvalidInput
from siteupdates.i18n import N_
from siteupdates.refusal import Listing, Phrase

from .model import Advisory
from .policies import overlapping_tasks
from .timeutil import local_fields, require_aware, to_local
from .views import format_clock, format_day
from .windows import ALL_WORK, Blackout, WeeklyWindow, Window, WorkKind, resolve_local

__all__ = [
    "TAKEN",
    "Candidate",
    "Demand",
    "Explanation",
    "Hold",
    "Occupied",
    "Placement",
    "Plan",
    "expand_blackouts",
    "plan",
]


def _hold_until(value: object) -> datetime:
    return require_aware("hold", value)


@attrs.frozen
class Hold:
    """A demand may not start before ``until``; ``why`` names the rule (soak, notice tier).

    With ``after``, the hold also runs until ``gap`` after the end of the slot the
    demand ``after`` gets in the same plan (staging, then production after a soak):
    ``after`` must come earlier in the queue. ``words`` is ``why`` as a
    translatable phrase (not compared), for the explanation in other languages.
    """

    until: datetime = attrs.field(converter=_hold_until)
    why: str = ""
    after: Optional[str] = None
    gap: timedelta = timedelta(0)
    words: Optional[Phrase] = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen
class Demand:
    """One request to place: its tenants (several for a group update), earliest start.

    ``zone`` is the requester's, used to explain; ``label`` names it in explanations.
    ``words`` is the label as a translatable phrase (see :class:`Explanation`).
    ``kinds`` are the kinds of work it does (a scoped blackout blocks only some),
    ``groups`` the groups of its tenants (for group-scoped blackouts) and ``holds``
    the rules that keep it from starting before a later instant.
    """

    id: str
    tenants: Tuple[str, ...]
    earliest: datetime
    zone: str = "UTC"
    label: str = ""
    kinds: FrozenSet[WorkKind] = ALL_WORK
    groups: Tuple[str, ...] = ()
    holds: Tuple[Hold, ...] = ()
    words: Optional[Phrase] = attrs.field(default=None, eq=False, repr=False)

    @property
    def not_before(self) -> datetime:
        """The earliest start once the holds are counted."""
        t = self.earliest
        for h in self.holds:
            if h.until > t:
                t = h.until
        return t

    @property
    def weight(self) -> int:
        """How much capacity the demand takes: one per tenant."""
        return len(self.tenants)


@attrs.frozen
class Occupied:
    """An update already scheduled: it takes capacity and keeps its tenants busy."""

    id: str
    tenants: Tuple[str, ...]
    start: datetime
    end: datetime


@attrs.frozen
class Placement:
    """Where a demand was placed, or why it could not be (``start`` None)."""

    id: str
    start: Optional[datetime]
    end: Optional[datetime]
    position: int
    reason: Optional[str] = None
    warnings: Tuple[Advisory, ...] = ()

    @property
    def placed(self) -> bool:
        """Whether a slot was found."""
        return self.start is not None


@attrs.frozen
class Candidate:
    """A slot a demand passed over, and why.

    ``cause`` is ``blackout`` (the provider's), ``tenant-blackout`` (the tenant's
    or its group's), ``hold`` (staging must complete and soak first), ``busy``
    (the tenant has an update then) or ``capacity``; ``ahead`` the requests in
    the way.
    """

    start: datetime
    end: datetime
    why: str
    ahead: Tuple[str, ...] = ()
    cause: str = ""


#: What a contact reads for a slot passed over because of tenants they cannot see.
TAKEN = N_("taken by earlier requests")
_NOT_FREE = N_("the tenant (or a group member) is not yet free")
_YOURS = N_("your tenant already has an update then")
_DAY_WORDS = (
    N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"),
    N_("Friday"), N_("Saturday"), N_("Sunday"),
)  # fmt: skip
_CAPACITY = re.compile(
    r"capacity full \((?P<used>\d+) of (?P<capacity>\d+) taken by requests ahead\)"
)
_TOO_BIG = re.compile(
    r"needs (?P<weight>\d+) places at once \(one per tenant\) but a slot holds (?P<capacity>\d+)"
)
_HORIZON = "no free slot before the horizon "
_WORK_WORDS = {
    "all work": N_("all work"),
    "version updates": N_("version updates"),
    "DB refreshes": N_("DB refreshes"),
    "version updates and DB refreshes": N_("version updates and DB refreshes"),
}
# Blackout.scope's words: kinds of work, then whom.
_BLACKOUT = re.compile(
    r"blackout (?P<name>.*) \((?P<what>"
    + "|".join(map(re.escape, _WORK_WORDS))
    + r"), (?P<who>provider-wide|tenant .+|group .+)\)"
)


def _window_words(window: Window) -> object:
    """A window as :func:`str` writes it, with a weekly window's day translatable."""
    if isinstance(window, WeeklyWindow):
        rest = str(window).split(" ", 1)[1]
        return Listing((Phrase(_DAY_WORDS[window.weekday]), rest), sep=" ")
    return str(window)


def _why_words(why: str) -> object:
    """A reason the planner wrote, as a translatable phrase where its form is known."""
    found = _BLACKOUT.fullmatch(why)
    if found:
        who = found["who"]
        if who == "provider-wide":
            whom = Phrase(N_("provider-wide"))
        elif who.startswith("tenant "):
            whom = Phrase(N_("tenant %(id)s"), {"id": who[len("tenant ") :]})
        else:
            whom = Phrase(N_("group %(id)s"), {"id": who[len("group ") :]})
        return Phrase(
            N_("blackout %(name)s (%(what)s, %(whom)s)"),
            {"name": found["name"], "what": Phrase(_WORK_WORDS[found["what"]]), "whom": whom},
        )
    if why.startswith("blackout "):
        return Phrase(N_("blackout %(name)s"), {"name": why[len("blackout ") :]})
    found = _CAPACITY.fullmatch(why)
    if found:
        return Phrase(
            N_("capacity full (%(used)s of %(capacity)s taken by requests ahead)"),
            found.groupdict(),
        )
    found = _TOO_BIG.fullmatch(why)
    if found:
        return Phrase(
            N_("needs %(weight)s places at once (one per tenant) but a slot holds %(capacity)s"),
            found.groupdict(),
        )
    if why.startswith(_HORIZON):
        return Phrase(N_("no free slot before the horizon %(horizon)s"),
                      {"horizon": why[len(_HORIZON) :]})  # fmt: skip
    # A constant reason is its own message id; anything else stays as written.
    return Phrase(why)


@attrs.frozen
class Explanation:
    """Why a demand got its slot: its queue position and every earlier slot passed over.

    ``position`` is the place in the queue, first come first served; None for a
    request that is no longer in the queue (already booked).

    ``lines`` are English; ``phrases`` (not compared) are the same lines, one for
    one, as catalog message ids with their values (None: the line is shown as
    written), so :func:`siteupdates.domain.messages.explanation_lines` can write
    them in another language. A line's leading spaces are not in its phrase.
    """

    id: str
    position: Optional[int]
    preferred: datetime
    placement: Placement
    passed_over: Tuple[Candidate, ...]
    lines: Tuple[str, ...]
    phrases: Tuple[Optional[Phrase], ...] = attrs.field(default=(), eq=False, repr=False)

    def render(self) -> str:
        """The explanation as text."""
        return "\n".join(self.lines)


def expand_blackouts(
    blackouts: Iterable[Blackout], start: datetime, end: datetime
) -> List[Blackout]:
    """One-off blackouts as they are; yearly ones repeated for each year in range."""
    out: List[Blackout] = []
    for b in blackouts:
        if not b.yearly:
            out.append(b)
            continue
        local_start = local_fields(b.start, b.zone)
        local_end = local_fields(b.end, b.zone)
        for year in range(start.year - 1, end.year + 2):
            shift = year - local_start.year
            try:
                s = local_start.replace(year=local_start.year + shift)
                e = local_end.replace(year=local_end.year + shift)
            except ValueError:  # 29 February in a common year: the day before
                s = (local_start - timedelta(days=1)).replace(year=local_start.year + shift)
                # Its length kept: the end may be 1 March, which has no day before to move to.
                e = s + (local_end - local_start)
            out.append(
                attrs.evolve(
                    b, start=resolve_local(s, b.zone), end=resolve_local(e, b.zone), yearly=False
                )
            )
    return out


class _Intervals:
    """Merged, sorted intervals with their names, for overlap look-ups by bisection."""

    def __init__(self, items: Iterable[Tuple[datetime, datetime, str]]) -> None:
        self.starts: List[datetime] = []
        self.ends: List[datetime] = []
        self.names: List[str] = []
        for s, e, name in sorted(items, key=lambda x: (x[0], x[1])):
            if self.starts and s < self.ends[-1]:
                self.ends[-1] = max(self.ends[-1], e)
                if name not in self.names[-1].split(", "):
                    self.names[-1] = f"{self.names[-1]}, {name}"
            else:
                self.starts.append(s)
                self.ends.append(e)
                self.names.append(name)

    def hit(self, start: datetime, end: datetime) -> Optional[Tuple[datetime, str]]:
        """The (end, name) of the interval overlapping [start, end), if any."""
        i = bisect.bisect_left(self.starts, end) - 1
        if i >= 0 and self.ends[i] > start:
            return self.ends[i], self.names[i]
        return None


class _Next:
    """Union-find: the next slot index at or after i that is not full."""

    def __init__(self, n: int) -> None:
        self.parent: List[int] = list(range(n + 1))

    def find(self, i: int) -> int:
        """The first open index at or after ``i`` (``n`` when none)."""
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:
            self.parent[i], i = root, self.parent[i]
        return root

    def close(self, i: int) -> None:
        """Mark index ``i`` full."""
        self.parent[i] = i + 1


@attrs.define
class Plan:
    """The result of :func:`plan`: a placement per demand, and explanations on demand."""

    placements: Dict[str, Placement]
    slots: List[Tuple[datetime, datetime]]
    order: List[str]
    _index: Dict[str, int]
    _demands: List[Demand]
    _occupants: List[List[int]]
    _provider_closed: Dict[int, str]
    _scoped: Dict[Tuple[str, str, WorkKind], _Intervals]
    _capacity: int
    _first: List[int]
    _chosen: List[int]
    _held: Dict[int, List[Tuple[datetime, str]]]
    windows: Tuple[Window, ...]

    def passed_over_count(self, demand_id: str) -> int:
        """How many earlier slots ``demand_id`` passed over (cheap; no explanation built)."""
        me = self._index[demand_id]
        return self._chosen[me] - self._first[me]

    def explain(
        self, demand_id: str, *, sees: Optional[Callable[[str], bool]] = None
    ) -> Explanation:
        """Why ``demand_id`` got its slot: every earlier candidate, in order, and why not.

        With ``sees`` (whether the reader may see a tenant, R22) the explanation is
        the one a contact reads: a slot passed over because of tenants the reader
        cannot see says only "taken by earlier requests", with no request named
        and nothing counted.
        """
        if demand_id not in self._index:
            raise InvalidInput(f"no request {demand_id!r} in this plan", demand_id)
        me = self._index[demand_id]
        d = self._demands[me]
        p = self.placements[demand_id]
        first = self._first[me]
        last = self._chosen[me]
        passed: List[Candidate] = []
        for i in range(first, last):
            s, e = self.slots[i]
            cause, why, ahead = self._why(i, d, me)
            if sees is not None:
                why, ahead = self._for_reader(i, me, cause, why, ahead, sees)
            passed.append(Candidate(s, e, why, ahead, cause))
        zone = d.zone

        def when(t: Optional[datetime]) -> str:
            return "-" if t is None else f"{format_day(t, zone)} {format_clock(t, zone)}"

        def at(t: Optional[datetime]) -> object:
            return "-" if t is None else to_local(t, zone)

        lines = [
            f"request {d.id}{(' (' + d.label + ')') if d.label else ''}: position {p.position} "
            f"in the queue, preferred start {when(d.earliest)}"
        ]
        head = {"id": d.id, "label": d.words or d.label, "position": p.position}
        phrases: List[Optional[Phrase]] = [
            Phrase(
                N_(
                    "request %(id)s (%(label)s): position %(position)s in the queue, "
                    "preferred start %(preferred)s"
                )
                if d.label
                else N_(
                    "request %(id)s: position %(position)s in the queue, "
                    "preferred start %(preferred)s"
                ),
                {**head, "preferred": at(d.earliest)},
            )
        ]
        if first < len(self.slots) and self.slots[first][0] > d.earliest:
            inside = any(w.contains(d.earliest) for w in self.windows)
            if not inside:
                shown = ", ".join(str(w) for w in self.windows)
                lines.append(f"  {when(d.earliest)} is outside every window ({shown})")
                windows = Listing(tuple(_window_words(w) for w in self.windows))
                phrases.append(
                    Phrase(
                        N_("%(when)s is outside every window (%(windows)s)"),
                        {"when": at(d.earliest), "windows": windows},
                    )
                )
        held = {h.why: h.words for h in d.holds if h.words is not None}
        for until, why in sorted(self._held.get(me, ())):
            if until > d.earliest:
                lines.append(f"  not before {when(until)}: {why}")
                phrases.append(
                    Phrase(
                        N_("not before %(when)s: %(why)s"),
                        {"when": at(until), "why": held.get(why) or Phrase(why)},
                    )
                )
        for c in passed:
            listed = f": {', '.join(c.ahead)}" if c.ahead else ""
            lines.append(f"  passed over {when(c.start)}: {c.why}{listed}")
            values = {
                "when": at(c.start),
                "why": held.get(c.why) or _why_words(c.why),
                "ahead": ", ".join(c.ahead),
            }
            phrases.append(
                Phrase(
                    N_("passed over %(when)s: %(why)s: %(ahead)s")
                    if c.ahead
                    else N_("passed over %(when)s: %(why)s"),
                    values if c.ahead else {k: v for k, v in values.items() if k != "ahead"},
                )
            )
        if p.start is not None:
            lines.append(f"  placed at {when(p.start)} until {when(p.end)}")
            phrases.append(
                Phrase(
                    N_("placed at %(start)s until %(end)s"),
                    {"start": at(p.start), "end": at(p.end)},
                )
            )
            if p.start != d.earliest:
                lines.append(
                    f"  this differs from the preferred start {when(d.earliest)} ({zone})"
                )
                phrases.append(
                    Phrase(
                        N_("this differs from the preferred start %(when)s (%(zone)s)"),
                        {"when": at(d.earliest), "zone": zone},
                    )
                )
        else:
            lines.append(f"  not placed: {p.reason}")
            phrases.append(Phrase(N_("not placed: %(why)s"), {"why": _why_words(str(p.reason))}))
        for w in p.warnings:
            lines.append(f"  warning {w}")
            phrases.append(Phrase(N_("warning %(warning)s"), {"warning": w}))
        return Explanation(
            d.id, p.position, d.earliest, p, tuple(passed), tuple(lines), tuple(phrases)
        )

    def _ahead_near(self, i: int, me: int) -> List[Tuple[str, Tuple[str, ...]]]:
        """Who was placed before ``me`` in slot ``i`` or a slot overlapping it.

        The slots of overlapping windows interleave: an update in one keeps its
        tenants busy in the others it overlaps (R13).
        """
        s, e = self.slots[i]
        first = bisect.bisect_left(self.slots, (s - (e - s),))  # slots are sorted by start
        found: List[Tuple[str, Tuple[str, ...]]] = []
        for j in range(first, len(self.slots)):
            if self.slots[j][0] >= e:
                break
            if self.slots[j][1] > s:
                found.extend(self._occupant(k) for k in self._occupants[j] if k < me)
        return found

    def _why(self, i: int, d: Demand, me: int) -> Tuple[str, str, Tuple[str, ...]]:
        s, e = self.slots[i]
        holds = [h for h in self._held.get(me, ()) if s < h[0]]
        if holds:
            return "hold", max(holds)[1], ()
        if i in self._provider_closed:
            return "blackout", f"blackout {self._provider_closed[i]}", ()
        for key in _scope_keys(d):
            ivs = self._scoped.get(key)
            hit = ivs.hit(s, e) if ivs else None
            if hit:
                return (
                    ("blackout" if key[0] == "*" else "tenant-blackout"),
                    f"blackout {hit[1]}",
                    (),
                )
        # Occupants are demand indexes, or -(k + 1) for the k-th update booked before.
        ahead = [self._occupant(k) for k in self._occupants[i] if k < me]
        busy = sorted({rid for rid, ts in self._ahead_near(i, me) if set(ts) & set(d.tenants)})
        if busy:
            return "busy", _NOT_FREE, tuple(busy)
        used = sum(len(ts) for _, ts in ahead)
        if used + d.weight > self._capacity:
            return (
                "capacity",
                f"capacity full ({used} of {self._capacity} taken by requests ahead)",
                tuple(rid for rid, _ in ahead),
            )
        return "", "not free", ()  # pragma: no cover - the planner would have placed it here

    def _for_reader(
        self,
        i: int,
        me: int,
        cause: str,
        why: str,
        ahead: Tuple[str, ...],
        sees: Callable[[str], bool],
    ) -> Tuple[str, Tuple[str, ...]]:
        """``why`` and ``ahead`` as a reader who sees only some tenants may read them."""
        d = self._demands[me]
        if cause in ("blackout", "hold"):
            return why, ()  # the provider's own closing, or the request's own staging
        if cause == "tenant-blackout":  # its tenant's, or its group's (R10)
            return (why, ()) if all(sees(t) for t in d.tenants) else (TAKEN, ())
        if cause == "busy":
            mine = [
                rid
                for rid, ts in self._ahead_near(i, me)
                if set(ts) & set(d.tenants) and all(sees(t) for t in ts)
            ]
            if mine and all(sees(t) for t in d.tenants):
                return _YOURS, tuple(sorted(mine))
        return TAKEN, ()

    def _occupant(self, k: int) -> Tuple[str, Tuple[str, ...]]:
        if k >= 0:
            d = self._demands[k]
            return d.id, d.tenants
        o = self._existing[-k - 1]
        return o.id, o.tenants

    _existing: List[Occupied] = attrs.field(factory=list)


def _as_list(held: Any) -> List[int]:
    return [held] if held.__class__ is int else list(held)


def _scope_keys(d: Demand) -> List[Tuple[str, str, WorkKind]]:
    """The keys of the scoped blackouts that may cover ``d``: everyone, its tenants, groups."""
    kinds = sorted(d.kinds, key=lambda k: k.value, reverse=True)
    whom = [("*", ""), *(("t", t) for t in d.tenants), *(("g", g) for g in d.groups)]
    return [(a, b, k) for a, b in whom for k in kinds]


def _blackout_key(b: Blackout) -> Tuple[str, str]:
    if b.tenant_id is not None:
        return "t", b.tenant_id
    if b.group_id is not None:
        return "g", b.group_id
    return "*", ""


def _slots(
    windows: Sequence[Window], start: datetime, horizon: datetime, length: timedelta
) -> List[Tuple[datetime, datetime]]:
    found = set()
    for w in windows:
        for opens, closes in w.occurrences(start):
            if opens >= horizon:
                break
            t = opens
            while t + length <= closes:
                if t + length > start and t < horizon:
                    found.add((t, t + length))
                t += length
    return sorted(found)


def plan(
    demands: Sequence[Demand],
    *,
    windows: Sequence[Window],
    capacity: int,
    slot_length: timedelta,
    horizon: datetime,
    start: Optional[datetime] = None,
    blackouts: Iterable[Blackout] = (),
    occupied: Iterable[Occupied] = (),
    tasks: Optional[Mapping[str, Sequence[object]]] = None,
) -> Plan:
    """Place ``demands`` (already in submission order) strictly first come, first served.

    ``start`` is when planning may begin (default: the earliest preferred start);
    ``horizon`` is where it stops; a demand that finds no slot before it is not
    placed, with the reason. ``tasks`` maps tenant IDs to their scheduled tasks, for
    R14 warnings. A demand's holds move its search past them; its earlier slots
    are still explained.
    """
    if capacity < 1:
        raise InvalidInput(f"capacity must be at least 1, not {capacity}", capacity)
    if slot_length <= timedelta(0):
        raise InvalidInput("slot length must be positive", slot_length)
    if not windows:
        raise InvalidInput("planning needs at least one window", windows)
    horizon = require_aware("horizon", horizon)
    ds = list(demands)
    ids = [d.id for d in ds]
    index = {rid: k for k, rid in enumerate(ids)}
    if len(index) != len(ids):
        raise InvalidInput("each request may appear once in a plan", ids)
    begin = start or min((d.earliest for d in ds), default=horizon)
    slots = _slots(windows, require_aware("start", begin), horizon, slot_length)
    slot_starts = [s for s, _ in slots]
    n = len(slots)

    span_end = slots[-1][1] if slots else horizon
    expanded = expand_blackouts(blackouts, begin, span_end)
    # Provider-wide blackouts of all work close slots for everyone (the union-find
    # skips them); any narrower scope is looked up per demand by its keys.
    everyone = [b for b in expanded if b.kinds == ALL_WORK and _blackout_key(b)[0] == "*"]
    provider = _Intervals((b.start, b.end, f"{b.name} ({b.scope})") for b in everyone)
    per_key: Dict[Tuple[str, str, WorkKind], List[Tuple[datetime, datetime, str]]] = {}
    for b in expanded:
        if b.kinds == ALL_WORK and _blackout_key(b)[0] == "*":
            continue
        who = _blackout_key(b)
        for kind in b.kinds:
            per_key.setdefault((*who, kind), []).append((b.start, b.end, f"{b.name} ({b.scope})"))
    scoped = {key: _Intervals(v) for key, v in per_key.items()}
    tenant_keyed = {key[1] for key in scoped if key[0] == "t"}
    general = any(key[0] != "t" for key in scoped)

    used = [0] * n
    occupants: List[List[int]] = [[] for _ in range(n)]
    # tenant -> the slot index it is busy in, or a list of them when several
    busy: Dict[str, Any] = {}
    nxt = _Next(n)
    closed: Dict[int, str] = {}
    for i, (s, e) in enumerate(slots):
        hit = provider.hit(s, e)
        if hit:
            closed[i] = hit[1]
            nxt.close(i)

    existing = list(occupied)
    for k, o in enumerate(existing):
        # Slots are all slot_length long, so one starting that long or more before the
        # update has ended by then; the last slot starting before it is not enough, as
        # the slots of overlapping windows interleave.
        i = bisect.bisect_right(slot_starts, o.start - slot_length)
        while i < n and slots[i][0] < o.end:
            if slots[i][1] > o.start:
                used[i] += len(o.tenants)
                occupants[i].append(-k - 1)
                for t in o.tenants:
                    held = busy.get(t)
                    busy[t] = i if held is None else [*_as_list(held), i]
                if used[i] >= capacity:
                    nxt.close(i)
            i += 1

    placements: Dict[str, Placement] = {}
    hold_log: Dict[int, List[Tuple[datetime, str]]] = {}
    firsts: List[int] = []
    chosen: List[int] = []
    find = nxt.find
    for order, d in enumerate(ds):
        weight = len(d.tenants)
        members = d.tenants
        # Only demands that a scoped blackout may cover need the interval look-up.
        own: List[_Intervals] = []
        if general:
            own = [scoped[k] for k in _scope_keys(d) if k in scoped]
        else:
            for t in members:
                if t in tenant_keyed:
                    own = [scoped[k] for k in _scope_keys(d) if k in scoped]
                    break
        i = bisect.bisect_left(slot_starts, d.earliest)
        firsts.append(i)
        if d.holds:
            resolved = []
            for h in d.holds:
                resolved.append((h.until, h.why))
                ahead = placements.get(h.after) if h.after is not None else None
                if ahead is not None and ahead.end is not None:
                    resolved.append((ahead.end + h.gap, h.why))
            hold_log[order] = resolved
            i = bisect.bisect_left(slot_starts, max(resolved)[0])
        reason: Optional[str] = None
        if weight > capacity:
            reason = f"needs {weight} places at once (one per tenant) but a slot holds {capacity}"
            i = n
        while i < n:
            i = find(i)
            if i >= n:
                break
            if used[i] + weight > capacity:
                i += 1  # too big for what is left here; a later slot may hold it
                continue
            if own:
                s, e = slots[i]
                jump: Optional[datetime] = None
                for ivs in own:
                    hit = ivs.hit(s, e)
                    if hit and (jump is None or hit[0] > jump):
                        jump = hit[0]
                if jump is not None:
                    i = bisect.bisect_left(slot_starts, jump)
                    continue
            taken = False
            for t in members:
                held = busy.get(t)
                if held is not None and (held == i if held.__class__ is int else i in held):
                    taken = True
                    break
            if taken:
                i += 1
                continue
            break
        position = order + 1
        if i >= n:
            placements[d.id] = Placement(
                d.id, None, None, position,
                reason or f"no free slot before the horizon {horizon.isoformat()}",
            )  # fmt: skip
            chosen.append(n)
            continue
        s, e = slots[i]
        used[i] += weight
        occupants[i].append(order)
        # The tenants are busy in every slot this update overlaps, not only its own:
        # the slots of overlapping windows interleave (R13, one update at a time).
        for j in range(bisect.bisect_right(slot_starts, s - slot_length), n):
            if slots[j][0] >= e:
                break
            if slots[j][1] <= s:
                continue
            for t in members:
                held = busy.get(t)
                if held is None:
                    busy[t] = j  # most tenants hold one slot: no list to allocate and chase
                elif held.__class__ is int:
                    busy[t] = [held, j]
                else:
                    held.append(j)
        if used[i] >= capacity:
            nxt.close(i)
        chosen.append(i)
        warnings: Tuple[Advisory, ...] = ()
        if tasks:
            names = [
                Advisory("R14", f"scheduled task {k.name!r} of {t} would run during the update")
                for t in d.tenants
                for k in overlapping_tasks(tasks.get(t, ()), s, e - s)  # type: ignore[arg-type]
            ]
            warnings = tuple(names)
        placements[d.id] = Placement(d.id, s, e, position, None, warnings)

    return Plan(
        placements=placements,
        slots=slots,
        order=ids,
        index=index,
        demands=ds,
        occupants=occupants,
        provider_closed=closed,
        scoped=scoped,
        capacity=capacity,
        first=firsts,
        chosen=chosen,
        held=hold_log,
        windows=tuple(windows),
        existing=existing,
    )


def weekly_window_start(window: Window, week_of: date) -> Tuple[datetime, datetime]:
    """The occurrence of ``window`` in the week (Monday to Sunday) containing ``week_of``.

    A recurring window that has no occurrence opening that week (a monthly one)
    gives its next occurrence after the week's Monday.
    """
    monday = week_of - timedelta(days=week_of.weekday())
    if isinstance(window, WeeklyWindow):
        return window.on(monday + timedelta(days=window.weekday))
    after = resolve_local(datetime.combine(monday, datetime.min.time()), window.zone)
    for opens, closes in window.occurrences(after):
        if opens >= after:
            return opens, closes
    raise InvalidInput(f"window {window} has no occurrence after {monday}", window)
