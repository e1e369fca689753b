"""Values of the domain: plans, sites, versions, catalog, tenants, contacts, requests.

Everything here is an immutable value; change one with :func:`attrs.evolve`.

Values are validated where they enter: the converters of each class check and
normalise every field passed to the constructor (or to :func:`attrs.evolve`).
The lifecycle, which only moves a request's status, revision, dates and reason
to values it has checked itself, builds the next state with :func:`replace`, a
private fast copy that does not run the converters of the fields it keeps.
"""

from __future__ import annotations

import enum
import re
import types
from datetime import datetime, time
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    ClassVar,
    Dict,
    FrozenSet,
    Iterable,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Type,
    TypeVar,
)

import attrs

from siteupdates.errors import (
    IncomparableVersions,
    InvalidInput,
    MalformedVersion,
    UnknownName,
    WrongType,
)
from siteupdates.i18n import N_

from .timeutil import require_aware, require_zone

if TYPE_CHECKING:
    from siteupdates.refusal import Refusal as Refusal  # re-exported: its old home


def __getattr__(name: str) -> Any:
    """``Refusal``, re-exported from its old home on first use (PEP 562).

    Its module builds three attrs classes that a command that only reads never
    uses; importing the model no longer costs them.
    """
    if name == "Refusal":
        from siteupdates.refusal import Refusal

        globals()["Refusal"] = Refusal
        return Refusal
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class NamedEnum(str, enum.Enum):
    """A string enum whose ``parse`` names every accepted value on error."""

    @classmethod
    def parse(cls, value: object) -> Any:
        """Return the member for ``value`` (a member or its name), or raise UnknownName."""
        if isinstance(value, cls):
            return value
        # Stored and canonical values are the members' own: one dict look-up.
        found = cls._value2member_map_.get(value) if isinstance(value, str) else None
        if found is not None:
            return found
        if not isinstance(value, str):
            raise WrongType(cls._what(), value, f"one of {', '.join(m.value for m in cls)}")
        text = value.strip().lower().replace("_", "-")
        for member in cls:
            if text in (member.value, member.name.lower().replace("_", "-")):
                return member
        raise UnknownName(cls._what(), value, [m.value for m in cls], cls._hint(text))

    @classmethod
    def _what(cls) -> str:
        return re.sub(r"(?<!^)([A-Z])", r" \1", cls.__name__).lower()

    @classmethod
    def _hint(cls, text: str) -> str:
        return ""

    def __str__(self) -> str:
        return str(self.value)


class Plan(NamedEnum):
    """A tenant's hosting plan; what each plan allows lives in the preset's plan rules."""

    CLOUD = "cloud"
    CLOUD_CHOICE = "cloud-choice"
    ASP = "asp"


class SiteKind(NamedEnum):
    """The kinds of site a tenant may have."""

    PRODUCTION = "production"
    SANDBOX = "sandbox"
    STAGING = "staging"
    PREVIEW = "preview"


class Target(NamedEnum):
    """What a request is for.

    Production and sandbox share one web application (R1), so they are one target;
    there is no target for the sandbox alone (R2).
    """

    PRODUCTION_SANDBOX = "production/sandbox"
    STAGING = "staging"
    PREVIEW = "preview"

    @classmethod
    def _hint(cls, text: str) -> str:
        if text == "sandbox":
            return (
                "R2: the sandbox runs production's version; choose production/sandbox, "
                "with DB refresh for a copy of production's data"
            )
        if text == "production":
            return "R1: production is always updated together with its sandbox"
        return ""

    # The sites of each target are looked up in tables made once (below the class):
    # the policies, the notices and the planner ask for them several times a request.

    @property
    def version_sites(self) -> Tuple[SiteKind, ...]:
        """The sites whose version a version update of this target changes (R1)."""
        return _VERSION_SITES[self]

    @property
    def refresh_site(self) -> SiteKind:
        """The site whose database a DB refresh of this target replaces (R4)."""
        return _REFRESH_SITE[self]

    @property
    def main_site(self) -> SiteKind:
        """The site a request for this target is shown against."""
        return _VERSION_SITES[self][0]


_VERSION_SITES: Dict[Target, Tuple[SiteKind, ...]] = {
    t: (SiteKind.PRODUCTION, SiteKind.SANDBOX)
    if t is Target.PRODUCTION_SANDBOX
    else (SiteKind(t.value),)
    for t in Target
}
_REFRESH_SITE: Dict[Target, SiteKind] = {
    t: SiteKind.SANDBOX if t is Target.PRODUCTION_SANDBOX else SiteKind(t.value) for t in Target
}


class Role(NamedEnum):
    """A contact's role; a district contact has one tenant, the others may have several."""

    DISTRICT = "district"
    STATE = "state"
    CONSORTIUM = "consortium"
    PARTNER = "partner"
    ESA = "esa"


class Status(NamedEnum):
    """The statuses of an update request (R15), plus Cancelled (R16) and Deleted (R18)."""

    TO_BE_SCHEDULED = "to-be-scheduled"
    SCHEDULED = "scheduled"
    NOT_STARTED = "not-started"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    PENDING_INPUT = "pending-input"
    DEFERRED = "deferred"
    NEW_VERSION_REQUESTED = "new-version-requested"
    UNABLE_TO_COMPLETE = "unable-to-complete"
    CANCELLED = "cancelled"
    DELETED = "deleted"

    @property
    def label(self) -> str:
        """The status as a contact reads it (``To Be Scheduled``)."""
        return _STATUS_LABELS[self]

    @property
    def meaning(self) -> str:
        """What the status means to a contact, in the source document's words.

        A provider may say it in its own words (``[notices.statuses]`` in the setup
        file; see :func:`siteupdates.domain.meanings.meaning_of`).
        """
        return _STATUS_MEANINGS[self]


_STATUS_LABELS = {
    Status.TO_BE_SCHEDULED: N_("To Be Scheduled"),
    Status.SCHEDULED: N_("Scheduled"),
    Status.NOT_STARTED: N_("Not Started"),
    Status.IN_PROGRESS: N_("In Progress"),
    Status.COMPLETED: N_("Completed"),
    Status.PENDING_INPUT: N_("Pending Input"),
    Status.DEFERRED: N_("Deferred"),
    Status.NEW_VERSION_REQUESTED: N_("New Version Requested"),
    Status.UNABLE_TO_COMPLETE: N_("Unable to Complete"),
    Status.CANCELLED: N_("Cancelled"),
    Status.DELETED: N_("Deleted"),
}

_STATUS_MEANINGS = {
    Status.TO_BE_SCHEDULED: N_(
        "The request has been submitted to the provider. Once the request "
        "has been scheduled, an email will be sent confirming the scheduled date."
    ),
    Status.SCHEDULED: N_(
        "The request has been confirmed and is scheduled to proceed on the scheduled date."
    ),
    Status.NOT_STARTED: N_(
        "This request has just been pulled from the update request queue in "
        "anticipation of beginning the update."
    ),
    Status.IN_PROGRESS: N_(
        "This request is currently being updated to the requested version. The "
        "application is offline, and unable to be accessed by users."
    ),
    Status.COMPLETED: N_("The update process is completed."),
    Status.PENDING_INPUT: N_(
        "A question has been posed to you via email regarding this request. "
        "Please answer it so that work may proceed."
    ),
    Status.DEFERRED: N_("The request is on hold until further notice."),
    Status.NEW_VERSION_REQUESTED: N_(
        "A newer version was requested in a different update request. "
        "Both updates will be completed under the newer request."
    ),
    Status.UNABLE_TO_COMPLETE: N_(
        "There was an issue that prevented this request from being "
        "completed. Please read the email that contains more information regarding this issue, "
        "and what will be needed to resolve it."
    ),
    Status.CANCELLED: N_("The request was cancelled and removed from the queue."),
    Status.DELETED: N_("The completed request was deleted from the list."),
}


_VERSION_RE = re.compile(r"^([A-Za-z][A-Za-z0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")
#: Parsed versions by text: a provider offers a few dozen, read again on every row.
_PARSED: Dict[str, Version] = {}


@attrs.frozen(order=False)
class Version:
    """A release line, release and pack: ``E.1505.2`` is line E, release 1505, pack 2.

    Versions are ordered within one line only; ordering two lines raises
    :class:`~siteupdates.errors.IncomparableVersions`.
    """

    line: str
    release: int
    pack: int

    @classmethod
    def parse(cls, text: object) -> Version:
        """Read ``LINE.RELEASE.PACK``; raise MalformedVersion naming the expected form."""
        if isinstance(text, Version):
            return text
        if not isinstance(text, str):
            raise WrongType("version", text, "a string like 'E.1505.2'")
        known = _PARSED.get(text)
        if known is not None:
            return known
        m = _VERSION_RE.match(text.strip())
        if not m:
            raise MalformedVersion(
                f"malformed version {text!r}: expected LINE.RELEASE.PACK such as 'E.1505.2' "
                "(a line of letters or digits starting with a letter, then two whole numbers "
                "without leading zeros)",
                text,
            )
        parsed = cls(m.group(1), int(m.group(2)), int(m.group(3)))
        if cls is Version:
            if len(_PARSED) >= 4096:  # bounded: text from outside cannot grow it without end
                _PARSED.clear()
            _PARSED[text] = parsed
        return parsed

    def __str__(self) -> str:
        return f"{self.line}.{self.release}.{self.pack}"

    def _key(self, other: object) -> Tuple[Tuple[int, int], Tuple[int, int]]:
        if not isinstance(other, Version):
            raise WrongType("other", other, "a Version")
        if other.line != self.line:
            raise IncomparableVersions(
                f"cannot order {self} and {other}: versions are ordered within one line only"
            )
        return (self.release, self.pack), (other.release, other.pack)

    def __lt__(self, other: object) -> bool:
        a, b = self._key(other)
        return a < b

    def __le__(self, other: object) -> bool:
        a, b = self._key(other)
        return a <= b

    def __gt__(self, other: object) -> bool:
        a, b = self._key(other)
        return a > b

    def __ge__(self, other: object) -> bool:
        a, b = self._key(other)
        return a >= b


@attrs.frozen
class Advisory:
    """A warning that does not refuse the request (R8's maintenance, R14's tasks).

    The one warning type of the library: :func:`~siteupdates.domain.evaluate`,
    a submit and the planner all give these, and a stored request keeps them.
    ``str()`` gives ``"R14: message"``; :meth:`parse` reads that form back.
    """

    rule: str
    message: str

    @classmethod
    def parse(cls, value: object) -> Advisory:
        """An Advisory from itself or from its text ``"RULE: message"``."""
        if isinstance(value, Advisory):
            return value
        if not isinstance(value, str):
            raise WrongType("warning", value, "an Advisory or a text 'RULE: message'")
        rule, sep, message = value.partition(": ")
        if sep and rule and " " not in rule:
            return cls(rule, message)
        return cls("", value)

    def __str__(self) -> str:
        return f"{self.rule}: {self.message}" if self.rule else self.message


def advisories(values: Iterable[object]) -> Tuple[Advisory, ...]:
    """Warnings as unique :class:`Advisory` values in order, each read by :meth:`Advisory.parse`.

    The converter of :attr:`UpdateRequest.warnings`; WrongType for one string
    instead of a collection.
    """
    if isinstance(values, str):
        raise WrongType("warnings", values, "a collection of warnings, not one string")
    return tuple(dict.fromkeys(Advisory.parse(v) for v in values))


def _version_set(values: Iterable[object]) -> FrozenSet[Version]:
    return frozenset(Version.parse(v) for v in values)


@attrs.frozen
class Catalog:
    """The versions a provider offers."""

    versions: FrozenSet[Version] = attrs.field(converter=_version_set)

    @classmethod
    def of(cls, *versions: str | Version) -> Catalog:
        """Build a catalog from version strings or values."""
        return cls(versions)

    def offers(self, version: Version) -> bool:
        """Whether ``version`` is in the catalog."""
        return version in self.versions

    def latest_pack(self, version: Version) -> Optional[Version]:
        """The highest pack offered of ``version``'s release, the one that may be chosen (R5)."""
        same = [
            v for v in self.versions if v.line == version.line and v.release == version.release
        ]
        return max(same) if same else None

    def newest(self, line: str) -> Optional[Version]:
        """The newest version offered in ``line``."""
        in_line = [v for v in self.versions if v.line == line]
        return max(in_line) if in_line else None

    def choosable(self) -> Tuple[Version, ...]:
        """Every version that may be chosen: the highest pack of each release, sorted (R5)."""
        best: Dict[Tuple[str, int], Version] = {}
        for v in self.versions:
            k = (v.line, v.release)
            if k not in best or v > best[k]:
                best[k] = v
        return tuple(sorted(best.values(), key=lambda v: (v.line, v.release, v.pack)))


def _kind(value: object) -> SiteKind:
    return SiteKind.parse(value)  # type: ignore[no-any-return]


def _plan(value: object) -> Plan:
    return Plan.parse(value)  # type: ignore[no-any-return]


def _role(value: object) -> Role:
    return Role.parse(value)  # type: ignore[no-any-return]


def _target(value: object) -> Target:
    return Target.parse(value)  # type: ignore[no-any-return]


def _status(value: object) -> Status:
    return Status.parse(value)  # type: ignore[no-any-return]


def _status_or_none(value: object) -> Optional[Status]:
    return None if value is None else _status(value)


def _version(value: object) -> Version:
    return Version.parse(value)


def optional_version(value: object) -> Optional[Version]:
    """None for None, else :meth:`Version.parse` of ``value``: the optional versions' converter."""
    return None if value is None else Version.parse(value)


def _aware(value: object) -> datetime:
    return require_aware("time", value)


def _str_set(values: Iterable[str]) -> FrozenSet[str]:
    if isinstance(values, str):
        raise WrongType("tenants", values, "a collection of tenant IDs, not one string")
    return frozenset(str(v) for v in values)


def _zone_or_none(value: Optional[str]) -> Optional[str]:
    return None if value is None else require_zone(value)


def _aware_or_none(value: Optional[datetime]) -> Optional[datetime]:
    return None if value is None else require_aware("time", value)


@attrs.frozen
class Site:
    """One site of a tenant: its kind, the version it runs and since when.

    ``refreshed_at`` is when its database was last copied from production;
    ``automatic`` says whether the current version came from an automatic update (R11).
    """

    kind: SiteKind = attrs.field(converter=_kind)
    version: Version = attrs.field(converter=_version)
    since: datetime = attrs.field(converter=_aware)
    refreshed_at: Optional[datetime] = attrs.field(default=None, converter=_aware_or_none)
    automatic: bool = False


@attrs.frozen
class ScheduledTask:
    """A job the tenant runs at a set time (R14): daily, or weekly on ``weekday`` (0 = Monday)."""

    name: str
    at: time
    zone: str = attrs.field(converter=require_zone)
    weekday: Optional[int] = None
    duration_minutes: int = 30

    def __attrs_post_init__(self) -> None:
        if self.weekday is not None and not 0 <= self.weekday <= 6:
            raise InvalidInput(
                f"weekday of task {self.name!r} must be 0 (Monday) to 6 (Sunday), "
                f"not {self.weekday}",
                self.weekday,
            )
        if self.duration_minutes <= 0:
            raise InvalidInput(
                f"duration of task {self.name!r} must be a positive number of minutes",
                self.duration_minutes,
            )


def _sites(value: Iterable[Site]) -> Tuple[Site, ...]:
    sites = tuple(value)
    kinds = [s.kind for s in sites]
    if len(set(kinds)) != len(kinds):
        raise InvalidInput(f"a tenant has at most one site of each kind, got {kinds}", kinds)
    return tuple(sorted(sites, key=lambda s: list(SiteKind).index(s.kind)))


def _tasks(value: Iterable[ScheduledTask]) -> Tuple[ScheduledTask, ...]:
    return tuple(value)


@attrs.frozen
class Group:
    """A state or regional consortium whose tenants are updated together (R10)."""

    id: str
    name: str
    kind: str = "state"


@attrs.frozen
class Tenant:
    """A customer of the provider (a *district* in the source document)."""

    id: str
    name: str
    plan: Plan = attrs.field(converter=_plan)
    sites: Tuple[Site, ...] = attrs.field(converter=_sites, factory=tuple)
    group_id: Optional[str] = None
    tasks: Tuple[ScheduledTask, ...] = attrs.field(converter=_tasks, factory=tuple)
    #: How often the stored tenant was written; a write checks it (not part of equality).
    revision: int = attrs.field(default=0, eq=False)

    def site(self, kind: SiteKind | str) -> Optional[Site]:
        """The tenant's site of ``kind`` (a SiteKind or its name), or None when it has none (R3).

        An unknown name raises UnknownName listing the kinds.
        """
        wanted = _kind(kind)
        for s in self.sites:
            if s.kind is wanted:
                return s
        return None

    @property
    def kinds(self) -> FrozenSet[SiteKind]:
        """The kinds of site the tenant has."""
        return frozenset([s.kind for s in self.sites])  # no generator: two rules ask per submit


@attrs.frozen
class Contact:
    """A technical contact: role, time zone (R12) and the tenants they may act on (R22).

    ``zone`` is the zone of the contact's profile; None means the provider's default
    zone (the preset's ``default_zone``).
    """

    id: str
    name: str
    email: str
    role: Role = attrs.field(converter=_role)
    tenants: FrozenSet[str] = attrs.field(converter=_str_set)
    zone: Optional[str] = attrs.field(default=None, converter=_zone_or_none)

    def __attrs_post_init__(self) -> None:
        if self.role is Role.DISTRICT and len(self.tenants) != 1:
            raise InvalidInput(
                f"district contact {self.id!r} must be connected to exactly one tenant, "
                f"not {len(self.tenants)}; use role state, consortium, partner or esa for more",
                sorted(self.tenants),
            )

    def sees(self, tenant_id: str) -> bool:
        """Whether this contact may see and act on ``tenant_id`` (R22)."""
        return tenant_id in self.tenants


@attrs.frozen
class UpdateRequest:
    """An update request and its current state.

    ``version`` is None for *DB refresh only* (R6). ``preferred_start`` and
    ``scheduled_for`` are UTC instants; ``zone`` is the zone the requester entered
    the time in. ``revision`` counts the changes and guards against lost updates.
    ``group_plan_id`` links the requests of one group update (R10); ``automatic``
    marks the provider's weekly automatic update (R8). ``booking`` names the
    provider booking a request fills (``cloud-week:2015-02-08``); the store keeps
    one request per tenant and booking. ``resume_status`` is, while the request
    is Pending Input, the status an answer returns it to (the lifecycle keeps the
    provider's date meanwhile when that status has one).
    """

    id: str
    tenant_id: str
    target: Target = attrs.field(converter=_target)
    version: Optional[Version] = attrs.field(converter=optional_version)
    db_refresh: bool = attrs.field()
    preferred_start: datetime = attrs.field(converter=_aware)
    zone: str = attrs.field(converter=require_zone)
    requested_by: str
    requested_at: datetime = attrs.field(converter=_aware)
    status: Status = attrs.field(default=Status.TO_BE_SCHEDULED, converter=_status)
    scheduled_for: Optional[datetime] = attrs.field(default=None, converter=_aware_or_none)
    revision: int = 1
    warnings: Tuple[Advisory, ...] = attrs.field(default=(), converter=advisories)
    reason: Optional[str] = None
    superseded_by: Optional[str] = None
    idempotency_key: Optional[str] = None
    group_plan_id: Optional[str] = None
    automatic: bool = False
    booking: Optional[str] = None
    resume_status: Optional[Status] = attrs.field(default=None, converter=_status_or_none)

    @property
    def short_id(self) -> str:
        """The ID as people read it: its first 12 characters (any unique prefix finds it)."""
        return self.id[:12]

    @property
    def is_refresh_only(self) -> bool:
        """Whether this request changes no version (R6)."""
        return self.version is None

    @property
    def effective_date(self) -> datetime:
        """The date every view shows: the provider's date once set, else the preferred one."""
        return self.scheduled_for if self.scheduled_for is not None else self.preferred_start

    #: ``UpdateRequest(...)`` for fields already in converted form: a named constructor
    #: that runs no converter (see :func:`trusted_constructor`). The submit builds a
    #: request from values its checks just made, and
    #: :func:`siteupdates.sql.codec.request_from_values` from stored values it converted;
    #: give a Target, a Version or None, aware UTC datetimes, a Status, unique Advisories.
    #: Anything else is stored as given, so callers with outside values use the class.
    trusted: ClassVar[Callable[..., UpdateRequest]]
    #: :func:`replace` without its check of the field names: ``trusted_copy(request,
    #: status=..., revision=...)``, for the lifecycle, which names only fields it knows.
    trusted_copy: ClassVar[Callable[..., UpdateRequest]]


_V = TypeVar("_V")


def _setters(cls: type, names: Sequence[str], scope: Dict[str, Any]) -> List[str]:
    """One line per field storing local ``name`` on ``new``, with the setters in ``scope``.

    A slotted class's field is stored through its slot's own setter (``_s_name``),
    which skips what ``object.__setattr__`` does first: look the name up on the
    type to find that same slot (a third of the constructor's cost, counted). A
    field without a slot of the class's own goes through ``object.__setattr__``.
    """
    scope["_set"] = object.__setattr__
    lines = []
    for name in names:
        slot = cls.__dict__.get(name)
        if isinstance(slot, types.MemberDescriptorType):
            scope[f"_s_{name}"] = slot.__set__
            lines.append(f"    _s_{name}(new, {name})")
        else:
            lines.append(f"    _set(new, {name!r}, {name})")
    return lines


def _replacer(cls: Type[_V]) -> Callable[..., _V]:
    """A copy of a frozen attrs value with some fields replaced, without the converters.

    Generated once per class: one line per field, as attrs' own ``__init__``.
    """
    names = [a.name for a in attrs.fields(cls)]  # type: ignore[arg-type]
    scope: Dict[str, Any] = {"_new": object.__new__, "cls": cls}
    lines = ["def replace(inst, **changes):", "    new = _new(cls)"]
    lines += [f"    {n} = inst.{n}" for n in names]
    lines += _setters(cls, names, scope)
    lines += ["    for name, value in changes.items():", "        _set(new, name, value)"]
    lines += ["    return new"]
    exec("\n".join(lines), scope)
    fn = scope["replace"]
    fn.__doc__ = f"A copy of a {cls.__name__} with ``changes``, stored as given (no converter)."
    return fn  # type: ignore[no-any-return]


def trusted_constructor(cls: Type[_V]) -> Callable[..., _V]:
    """A constructor of ``cls`` that stores its arguments as given, for values already valid.

    Same parameters and defaults as the class's own ``__init__``, but no
    converter runs: the caller passes each field in the form the converter
    would have made (a Target, a UTC datetime, deduplicated Advisories). For
    values the caller has just validated or converted itself; generated once
    per class, like attrs' own ``__init__``.
    """
    fields = attrs.fields(cls)  # type: ignore[arg-type]
    if getattr(cls, "__attrs_post_init__", None) is not None or any(
        a.validator is not None for a in fields
    ):
        raise TypeError(f"{cls.__name__} checks more than its converters: build it validated")
    scope: Dict[str, Any] = {"_new": object.__new__, "cls": cls}
    params = []
    for a in fields:
        if a.default is attrs.NOTHING:
            params.append(a.name)
            continue
        if isinstance(a.default, attrs.Factory):  # type: ignore[arg-type]
            raise TypeError(f"{cls.__name__}.{a.name}: a factory default is not supported")
        # What the validated constructor stores for the default: the converted default.
        scope[f"_d_{a.name}"] = a.default if a.converter is None else a.converter(a.default)
        params.append(f"{a.name}=_d_{a.name}")
    lines = [f"def make({', '.join(params)}):", "    new = _new(cls)"]
    lines += _setters(cls, [a.name for a in fields], scope)
    lines += ["    return new"]
    exec("\n".join(lines), scope)
    fn = scope["make"]
    fn.__doc__ = f"``{cls.__name__}(...)`` for fields in converted form: no converter runs."
    return fn  # type: ignore[no-any-return]


# Class attributes set once the class exists: staticmethods, so that neither binds
# an instance; called through the class, they cost one attribute look-up more than
# a module global.
UpdateRequest.trusted = staticmethod(trusted_constructor(UpdateRequest))
UpdateRequest.trusted_copy = staticmethod(_replacer(UpdateRequest))
_replace_request = UpdateRequest.trusted_copy
_REQUEST_FIELDS = frozenset(a.name for a in attrs.fields(UpdateRequest))


def replace(request: UpdateRequest, **changes: Any) -> UpdateRequest:
    """``request`` with ``changes``, for values the caller has validated already.

    The fields kept are not converted again (they were when the request was
    built); the changed ones are stored as given, so give them in their
    converted form (a :class:`Status`, an aware UTC datetime). Private to the
    lifecycle and the storages; everyone else uses :func:`attrs.evolve`.
    """
    unknown = changes.keys() - _REQUEST_FIELDS
    if unknown:
        raise TypeError(f"UpdateRequest has no field {sorted(unknown)[0]!r}")
    return _replace_request(request, **changes)


def tenants_by_id(tenants: Iterable[Tenant]) -> Mapping[str, Tenant]:
    """Index tenants by ID."""
    return {t.id: t for t in tenants}
