"""The messages a change of a request causes (R20): notices, reminders, calendar entries.

Pure values computed from the history entry of the change: who is told what,
and what a calendar shows. Each carries a stable ``key`` (request, history
sequence, kind, recipient) so a receiver can drop the duplicates that
at-least-once delivery may bring. The application layer writes them to the
outbox in the same unit of work as the change.

Notices are written for the contact: plain sentences in the contact's zone,
addressed by name; the planner's internal reasons ("planned first come, first
served: position 1") never reach them. Reminders come in a ladder before the
scheduled start (default 72, 24 and 1 hours before); each is keyed by the
history entry that set the date, so moving the date writes a new ladder under
new keys and the old one is withdrawn.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Set, Tuple

import attrs

from siteupdates.errors import InvalidInput
from siteupdates.i18n import ENGLISH, N_, Language
from siteupdates.refusal import Listing, Phrase, Refusal

from .daycount import Days, days_earlier
from .lifecycle import BOOKED, Event, HistoryEntry
from .meanings import meaning_of
from .model import Advisory, Contact, SiteKind, Status, Target, Tenant, UpdateRequest
from .timeutil import parse_ts, to_local, ts

__all__ = [
    "CALENDAR_ACTIONS",
    "DEFAULT_REMINDERS",
    "NOTIFYING_EVENTS",
    "CalendarEntry",
    "Notice",
    "Reminder",
    "advisory_text",
    "explanation_lines",
    "refusal_text",
    "refusals_text",
    "calendar_entry_for",
    "lead_label",
    "messages_for",
    "notice_for",
    "parse_ladder",
    "reminders_for",
    "provider_notice_for",
    "site_word",
    "status_line",
    "target_word",
]

_UTC = timezone.utc


#: The events a contact is told about, and the kind of notice each makes (R20).
NOTIFYING_EVENTS: Mapping[Event, str] = {
    Event.SUBMIT: "accepted",
    Event.SCHEDULE: "scheduled",
    Event.RESCHEDULE: "date-changed",
    Event.START: "started",
    Event.MOVE: "start-moved",
    Event.ASK_INPUT: "input-needed",
    Event.FAIL: "unable-to-complete",
    Event.SUPERSEDE: "superseded",
    Event.COMPLETE: "completed",
    Event.CANCEL: "cancelled",
    Event.POSTPONE: "date-changed",
    Event.APPROVE: "scheduled",
    Event.WITHDRAW: "cancelled",
    Event.FOLLOW_STAGING: "production-moved",
}


@attrs.frozen
class Notice:
    """One message to one contact about one change of a request.

    ``contact_name`` is the contact's name, for the greeting and the address
    (``"Dana Smith" <dana@example.org>``); empty in notices written by older
    releases.
    """

    key: str
    kind: str
    request_id: str
    tenant_id: str
    contact_id: str
    email: str
    subject: str
    body: str
    created_at: datetime
    contact_name: str = ""

    def to_payload(self) -> Dict[str, Any]:
        """The notice as JSON-safe data for the outbox."""
        # Every field is flat, so this is attrs.asdict without its recursion (spelled
        # out: every submit writes one; test_messages checks it against the fields).
        return {
            "key": self.key,
            "kind": self.kind,
            "request_id": self.request_id,
            "tenant_id": self.tenant_id,
            "contact_id": self.contact_id,
            "email": self.email,
            "subject": self.subject,
            "body": self.body,
            "created_at": ts(self.created_at),
            "contact_name": self.contact_name,
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Notice:
        """A notice from outbox data (keys it does not know, such as a reminder's, are left)."""
        names = {f.name for f in attrs.fields(cls)}
        d = {k: v for k, v in payload.items() if k in names}
        d["created_at"] = parse_ts(d["created_at"])
        return cls(**d)


_NOTICE_FIELDS = tuple(f.name for f in attrs.fields(Notice))


@attrs.frozen
class CalendarEntry:
    """A scheduled update as a calendar sees it; ``action`` is publish, move or withdraw."""

    key: str
    action: str
    request_id: str
    tenant_id: str
    summary: str
    start: Optional[datetime]
    end: Optional[datetime]

    def to_payload(self) -> Dict[str, Any]:
        """The entry as JSON-safe data for the outbox."""
        d = attrs.asdict(self)
        d["start"], d["end"] = ts(self.start), ts(self.end)
        return d

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> CalendarEntry:
        """An entry from outbox data."""
        d = dict(payload)
        d["start"], d["end"] = parse_ts(d["start"]), parse_ts(d["end"])
        return cls(**d)


def _when(instant: Optional[datetime], zone: str, lang: Language = ENGLISH) -> str:
    if instant is None:
        return lang.gettext("(no date)")
    local = to_local(instant, zone)  # once for both halves
    return lang.gettext("%(day)s at %(time)s") % {
        "day": lang.day(local),
        "time": lang.clock(local),
    }


def site_word(kind: SiteKind, lang: Language = ENGLISH) -> str:
    """A site's name inside a sentence (``production``), in ``lang``."""
    return lang.gettext(_SITE_WORDS[kind])


def target_word(target: Target, lang: Language = ENGLISH) -> str:
    """A target's name inside a sentence (``production/sandbox``), in ``lang``."""
    return lang.gettext(_TARGET_WORDS[target])


_SITE_WORDS = {
    SiteKind.PRODUCTION: N_("production"),
    SiteKind.SANDBOX: N_("sandbox"),
    SiteKind.STAGING: N_("staging"),
    SiteKind.PREVIEW: N_("preview"),
}
_TARGET_WORDS = {
    Target.PRODUCTION_SANDBOX: N_("production/sandbox"),
    Target.STAGING: N_("staging"),
    Target.PREVIEW: N_("preview"),
}


def _what(request: UpdateRequest, lang: Language = ENGLISH) -> str:
    refresh = site_word(request.target.refresh_site, lang)
    if request.version is not None:
        values = {
            "target": target_word(request.target, lang),
            "version": request.version,
            "site": refresh,
        }
        if request.db_refresh:
            return (
                lang.gettext("update of %(target)s to %(version)s with a DB refresh of %(site)s")
                % values
            )
        return lang.gettext("update of %(target)s to %(version)s") % values
    return lang.gettext("DB refresh of %(site)s") % {"site": refresh}


def _offline(request: UpdateRequest, lang: Language = ENGLISH, *, start: bool = False) -> str:
    """The sites an update takes offline, as words (R1: production with its sandbox)."""
    if request.version is None:
        sites = [site_word(request.target.refresh_site, lang)]
    else:
        sites = [site_word(k, lang) for k in request.target.version_sites]
    if len(sites) == 1:
        one = N_("Your %(site)s site") if start else N_("your %(site)s site")
        return lang.gettext(one) % {"site": sites[0]}
    two = (
        N_("Your %(first)s and %(second)s sites")
        if start
        else N_("your %(first)s and %(second)s sites")
    )
    return lang.gettext(two) % {"first": sites[0], "second": sites[1]}


_SUBJECTS = {
    "accepted": N_("Request accepted"),
    "scheduled": N_("Update scheduled"),
    "date-changed": N_("Date changed"),
    "start-moved": N_("Preferred start moved"),
    "started": N_("Update started"),
    "input-needed": N_("Input needed"),
    "unable-to-complete": N_("Unable to complete"),
    "superseded": N_("New version requested"),
    "completed": N_("Update completed"),
    "cancelled": N_("Request cancelled"),
    "production-moved": N_("Production moved after staging"),
    "reminder": N_("Reminder"),
}

#: The kinds whose history reason the contact reads, and how it is labelled. Others
#: (a schedule's planner reason, a worker's take-over) are the provider's own.
_TOLD_REASONS = {
    "date-changed": N_("Reason: %(reason)s"),
    "input-needed": N_("Question: %(reason)s"),
    "unable-to-complete": N_("Reason: %(reason)s"),
    "superseded": N_("Reason: %(reason)s"),
    "cancelled": N_("Reason: %(reason)s"),
    "production-moved": N_("Reason: %(reason)s"),
}


#: The warnings the rules write (:class:`~siteupdates.domain.model.Advisory`) and the
#: reasons the library writes into a history a contact reads, as catalog messages: both
#: are stored as English text and read back into their message when shown.
_LEFT = r" \((?P<left>\d+) of (?P<most>\d+) deferrals left\)"
_ADVISORIES = (
    # The contact's postpone (app.deferral), with and without the deferrals left.
    (
        re.compile(r"deferred by the contact to the next available window"),
        N_("deferred by the contact to the next available window"),
    ),
    (
        re.compile(r"deferred by the contact to the next available window" + _LEFT),
        N_(
            "deferred by the contact to the next available window "
            "(%(left)s of %(most)s deferrals left)"
        ),
    ),
    (
        re.compile(r"deferred by the contact by 1 day"),
        N_("deferred by the contact by 1 day"),
    ),
    (
        re.compile(r"deferred by the contact by 1 day" + _LEFT),
        N_("deferred by the contact by 1 day (%(left)s of %(most)s deferrals left)"),
    ),
    (
        re.compile(r"deferred by the contact by (?P<days>\d+) days"),
        N_("deferred by the contact by %(days)s days"),
    ),
    (
        re.compile(r"deferred by the contact by (?P<days>\d+) days" + _LEFT),
        N_("deferred by the contact by %(days)s days (%(left)s of %(most)s deferrals left)"),
    ),
    (
        re.compile(r"newer version (?P<version>\S+) requested in request (?P<id>\S+)"),
        N_("newer version %(version)s requested in request %(id)s"),
    ),
    (
        re.compile(r"newer version requested in request (?P<id>\S+)"),
        N_("newer version requested in request %(id)s"),
    ),
    (
        re.compile(r"newer version (?P<version>\S+) planned for the group in request (?P<id>\S+)"),
        N_("newer version %(version)s planned for the group in request %(id)s"),
    ),
    (
        re.compile(r"the update could not be finished after (?P<n>\d+) attempts"),
        N_("the update could not be finished after %(n)s attempts"),
    ),
    (
        re.compile(r"request (?P<id>\S+) for (?P<version>\S+) becomes New Version Requested"),
        N_("request %(id)s for %(version)s becomes New Version Requested"),
    ),
    (
        re.compile(
            r"scheduled task (?P<name>.+) would run during the update and will not "
            r"complete; it runs again at its next set time"
        ),
        N_(
            "scheduled task %(name)s would run during the update and will not complete; "
            "it runs again at its next set time"
        ),
    ),
    (
        re.compile(r"scheduled task (?P<name>.+) of (?P<tenant>\S+) would run during the update"),
        N_("scheduled task %(name)s of %(tenant)s would run during the update"),
    ),
    (
        re.compile(
            r"the requested time falls in the weekly maintenance window \((?P<window>.*)\), "
            r"when the automatic update runs and every service is unavailable"
        ),
        N_(
            "the requested time falls in the weekly maintenance window (%(window)s), "
            "when the automatic update runs and every service is unavailable"
        ),
    ),
)


def advisory_text(message: str, lang: Language = ENGLISH) -> str:
    """A warning (without its rule ID) or history reason in ``lang``; others' words as written."""
    for pattern, msgid in _ADVISORIES:
        found = pattern.fullmatch(message)
        if found:
            return lang.gettext(msgid) % found.groupdict()
    return message


def _phrase_value(value: object, lang: Language) -> str:
    if isinstance(value, Phrase):
        return _phrase(value.template, value.params, lang)
    if isinstance(value, Listing):
        return value.sep.join(_phrase_value(v, lang) for v in value.items)
    if isinstance(value, SiteKind):
        return site_word(value, lang)
    if isinstance(value, Target):
        return target_word(value, lang)
    if isinstance(value, Status):
        return lang.gettext(value.label)
    if isinstance(value, datetime):  # a local time (its zone's): day and clock
        return f"{lang.day(value)} {lang.clock(value)}"
    if isinstance(value, Advisory):
        return f"{value.rule}: {advisory_text(value.message, lang)}"
    return str(value)


def _phrase(template: str, params: Mapping[str, object], lang: Language) -> str:
    text = lang.gettext(template)
    if not params:
        # A reason someone wrote in a known form (a history reason) is matched.
        return advisory_text(template, lang) if text == template else text
    return text % {k: _phrase_value(v, lang) for k, v in params.items()}


def explanation_lines(explanation: Any, lang: Language = ENGLISH) -> Tuple[str, ...]:
    """An :class:`~siteupdates.domain.planner.Explanation`'s lines in ``lang``.

    English is the explanation's own lines, byte for byte. Another language
    writes each line's phrase through the catalog, keeping the line's indent;
    a line without a phrase is shown as written.
    """
    lines: Tuple[str, ...] = explanation.lines
    phrases: Tuple[Optional[Phrase], ...] = explanation.phrases
    if lang is ENGLISH or len(phrases) != len(lines):
        return lines
    out = []
    for line, phrase in zip(lines, phrases):
        if phrase is None:
            out.append(line)
            continue
        indent = line[: len(line) - len(line.lstrip(" "))]
        out.append(indent + _phrase(phrase.template, phrase.params, lang))
    return tuple(out)


def refusal_text(refusal: Refusal, lang: Language = ENGLISH) -> str:
    """A refusal's message (without its rule ID) in ``lang``.

    English is the refusal's own message, byte for byte. Another language writes
    the refusal's ``template`` with its ``params`` through the catalog; a refusal
    without a template (a reason someone wrote) is shown as written.
    """
    if lang is ENGLISH or refusal.template is None:
        return refusal.message
    return _phrase(refusal.template, refusal.params, lang)


def refusals_text(refusals: Sequence[Refusal], lang: Language = ENGLISH) -> str:
    """Every refusal's message in ``lang``, one after another (a form's single error line)."""
    return " ".join(refusal_text(r, lang) for r in refusals)


def _greeting(contact: Contact, lang: Language = ENGLISH) -> str:
    if contact.name:
        return lang.gettext("Hello %(name)s,") % {"name": contact.name}
    return lang.gettext("Hello,")


def status_line(
    status: Status, meanings: Optional[Mapping[Status, str]] = None, lang: Language = ENGLISH
) -> str:
    """A notice's status line: ``Status: Deferred.`` and what the status means."""
    return lang.gettext("Status: %(label)s. %(meaning)s") % {
        "label": lang.gettext(status.label),
        "meaning": meaning_of(status, meanings, lang),
    }


def notice_for(
    request: UpdateRequest,
    entry: HistoryEntry,
    tenant: Tenant,
    contact: Contact,
    default_zone: str,
    *,
    duration: Optional[timedelta] = None,
    meanings: Optional[Mapping[Status, str]] = None,
    lang: Language = ENGLISH,
) -> Optional[Notice]:
    """The notice ``entry`` sends to ``contact``, or None when the event tells no one.

    ``duration`` (the preset's update length) lets a start notice say until when
    the site is offline. Every notice ends with the request's status and what it
    means, in the provider's words from ``meanings`` where it has some
    (:func:`~siteupdates.domain.meanings.meaning_of`). Warnings are shown without
    their rule IDs: those are the provider's. ``lang`` is the contact's language
    (:mod:`siteupdates.i18n`).
    """
    kind = NOTIFYING_EVENTS.get(entry.event)
    if kind is None:
        return None
    zone = contact.zone or default_zone
    short = request.short_id
    _ = lang.gettext

    def when(instant: Optional[datetime]) -> str:
        return _when(instant, zone, lang)

    lines = [
        _greeting(contact, lang),
        "",
        _("%(tenant)s: %(what)s (request %(id)s).")
        % {"tenant": tenant.name, "what": _what(request, lang), "id": short},
    ]
    if kind == "accepted":
        lines.append(_("Preferred start: %(when)s.") % {"when": when(request.preferred_start)})
        if request.warnings:
            lines.extend(
                _("Note: %(warning)s") % {"warning": advisory_text(w.message, lang)}
                for w in request.warnings
            )
    elif kind == "scheduled":
        lines.append(_("Scheduled for %(when)s.") % {"when": when(request.scheduled_for)})
        if request.scheduled_for != request.preferred_start:
            lines.append(
                _("This differs from the time you asked for, %(when)s.")
                % {"when": when(request.preferred_start)}
            )
    elif kind == "date-changed":
        lines.append(
            _("The date moved from %(old)s to %(new)s.")
            % {"old": when(entry.old_date), "new": when(entry.new_date)}
        )
    elif kind == "production-moved":
        lines.append(
            _(
                "Staging moved or finished later, so production moved from %(old)s to "
                "%(new)s: it waits the soak after staging, and still goes ahead only once "
                "staging has completed."
            )
            % {"old": when(entry.old_date), "new": when(entry.new_date)}
        )
    elif kind == "started":
        offline = _offline(request, lang)
        if duration is not None:
            text = _(
                "The work has started: %(sites)s may be offline until about %(when)s. "
                "We will tell you when it is done."
            ) % {"sites": offline, "when": when(entry.at + duration)}
        else:
            text = _(
                "The work has started: %(sites)s may be offline. We will tell you when it is done."
            ) % {"sites": offline}
        lines.append(text)
    elif kind == "completed":
        if request.version is not None:
            sites = [site_word(k, lang) for k in request.target.version_sites]
            if len(sites) == 1:
                done = _("Done: %(site)s now runs %(version)s.") % {
                    "site": sites[0],
                    "version": request.version,
                }
            else:
                done = _("Done: %(first)s and %(second)s now run %(version)s.") % {
                    "first": sites[0],
                    "second": sites[1],
                    "version": request.version,
                }
            lines.append(done)
        if request.db_refresh:
            lines.append(
                _("The %(site)s database was refreshed from production.")
                % {"site": site_word(request.target.refresh_site, lang)}
            )
    elif kind == "start-moved":
        lines.append(
            _(
                "The preferred start moved from %(old)s to %(new)s. The request keeps its "
                "place in the queue; you will be told its date once it is planned."
            )
            % {"old": when(entry.old_date), "new": when(entry.new_date)}
        )
    label = _TOLD_REASONS.get(kind)
    if label and entry.reason:
        lines.append(_(label) % {"reason": advisory_text(entry.reason, lang)})
    lines.append(status_line(request.status, meanings, lang))
    return Notice(
        key=f"{request.id}:{entry.seq}:{kind}",
        kind=kind,
        request_id=request.id,
        tenant_id=tenant.id,
        contact_id=contact.id,
        email=contact.email,
        subject=_("%(subject)s: %(tenant)s, request %(id)s")
        % {"subject": _(_SUBJECTS[kind]), "tenant": tenant.name, "id": short},
        body="\n".join(lines),
        created_at=entry.at,
        contact_name=contact.name,
    )


#: The reminder ladder when the setup file sets none: 72, 24 and 1 hours before.
DEFAULT_REMINDERS: Tuple[timedelta, ...] = (
    timedelta(hours=72),
    timedelta(hours=24),
    timedelta(hours=1),
)

_UNITS = {"d": 86400, "h": 3600, "m": 60}


def parse_ladder(value: Any) -> Tuple[timedelta, ...]:
    """A reminder ladder from the setup file: ``["72h", "24h", "1h"]`` (also ``d``, ``m``).

    Plain numbers are hours. The result is longest lead first, without repeats;
    an empty list means no reminders. InvalidInput names a value it cannot read.
    """
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise InvalidInput(
            f'reminders must be a list such as ["72h", "24h", "1h"], not {value!r}', value
        )
    leads: Set[timedelta] = set()
    for item in value:
        seconds: Optional[float] = None
        if isinstance(item, (int, float)) and not isinstance(item, bool):
            seconds = float(item) * 3600
        elif isinstance(item, str) and item.strip()[-1:].lower() in _UNITS:
            try:
                seconds = float(item.strip()[:-1]) * _UNITS[item.strip()[-1].lower()]
            except ValueError:
                seconds = None
        if seconds is None or not (0 < seconds < 366 * 86400):
            raise InvalidInput(
                f'reminder {item!r} is not a lead time such as "72h", "90m" or "2d" '
                "(positive, under a year)",
                item,
            )
        if isinstance(item, str) and item.strip()[-1].lower() == "d" and seconds % 86400 == 0:
            # Written in days: counted on the contact's calendar (docs/time.md).
            leads.add(Days(int(seconds // 86400)))
        else:
            leads.add(timedelta(seconds=round(seconds)))
    return tuple(sorted(leads, reverse=True))


def lead_label(lead: timedelta) -> str:
    """A lead time as a short label for keys: ``72h``, ``90m``, ``2d`` (written in days)."""
    if isinstance(lead, Days):
        return f"{lead.days}d"
    minutes = int(lead.total_seconds() // 60)
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


def _lead_words(lead: timedelta, lang: Language = ENGLISH) -> str:
    if isinstance(lead, Days):
        return lang.ngettext("%(n)d day", "%(n)d days", lead.days) % {"n": lead.days}
    minutes = int(lead.total_seconds() // 60)
    if minutes % 60 == 0:
        hours = minutes // 60
        return lang.ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours}
    return lang.ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}


@attrs.frozen
class Reminder:
    """A notice due at ``fires_at``, ``lead`` before the scheduled ``start``.

    ``next_at`` is when the next, shorter reminder of the ladder fires (None for
    the last): a deliverer that comes to this one after ``next_at`` skips it,
    so a late deliverer sends one reminder, not a burst.
    """

    notice: Notice
    fires_at: datetime
    start: datetime
    lead: timedelta
    next_at: Optional[datetime]

    def to_payload(self) -> Dict[str, Any]:
        """The notice's payload with the reminder's times."""
        d = self.notice.to_payload()
        d.update(
            fires_at=ts(self.fires_at),
            start=ts(self.start),
            lead_seconds=int(self.lead.total_seconds()),
            next_at=ts(self.next_at),
        )
        return d


def _fires(start: datetime, lead: timedelta, zone: str) -> datetime:
    return days_earlier(start, lead, zone) if isinstance(lead, Days) else start - lead


def reminders_for(
    request: UpdateRequest,
    entry: HistoryEntry,
    tenant: Tenant,
    recipients: Sequence[Contact],
    *,
    ladder: Sequence[timedelta],
    now: datetime,
    default_zone: str,
    duration: Optional[timedelta] = None,
    per_recipient_keys: bool = False,
    language_of: Callable[[Contact], Language] = lambda contact: ENGLISH,
) -> List[Reminder]:
    """The reminders ``entry`` arms: one per rung still ahead, per recipient.

    Every change that leaves a request Scheduled arms a ladder for its date: a
    schedule, a new date (reschedule, postpone), and a return to the date the
    request kept (an answer to a question, staged production approved, a worker
    releasing it). Every change from Scheduled withdraws the pending ones
    (:func:`siteupdates.app.changes.transition`), so one ladder is pending at a
    time. Rungs already past at ``now`` (a request scheduled late) are skipped.
    """
    start = request.scheduled_for
    if entry.to_status is not Status.SCHEDULED or request.status is not Status.SCHEDULED:
        return []
    if start is None:
        return []
    out: List[Reminder] = []
    for contact in recipients:
        zone = contact.zone or default_zone
        # A rung written in days fires at the same wall time so many dates before,
        # on the contact's calendar; one in hours or minutes, that long before.
        fires: Dict[datetime, timedelta] = {}
        for lead in sorted(set(ladder), reverse=True):  # two rungs at one time: one reminder
            fires.setdefault(_fires(start, lead, zone), lead)
        times = sorted(fires.items(), key=lambda x: x[0])
        rungs = [(at, lead) for at, lead in times if at > now]
        for i, (at, lead) in enumerate(rungs):
            next_at = rungs[i + 1][0] if i + 1 < len(rungs) else None
            lang = language_of(contact)
            _ = lang.gettext
            values = {
                "tenant": tenant.name,
                "what": _what(request, lang),
                "id": request.short_id,
                "lead": _lead_words(lead, lang),
                "when": _when(start, zone, lang),
            }
            lines = [
                _greeting(contact, lang),
                "",
                _("%(tenant)s: the %(what)s (request %(id)s) starts in %(lead)s, on %(when)s.")
                % values,
            ]
            if duration is not None:
                lines.append(
                    _("%(sites)s may be offline until about %(time)s.")
                    % {
                        "sites": _offline(request, lang, start=True),
                        "time": lang.clock(to_local(start + duration, zone)),
                    }
                )
            key = f"{request.id}:{entry.seq}:reminder-{lead_label(lead)}"
            if per_recipient_keys:
                key += f":{contact.id}"
            notice = Notice(
                key=key,
                kind="reminder",
                request_id=request.id,
                tenant_id=tenant.id,
                contact_id=contact.id,
                email=contact.email,
                subject=_("Reminder: %(tenant)s, request %(id)s starts in %(lead)s") % values,
                body="\n".join(lines),
                created_at=entry.at,
                contact_name=contact.name,
            )
            out.append(Reminder(notice, at, start, lead, next_at))
    out.sort(key=lambda m: m.fires_at)  # rung by rung, each in the recipients' order
    return out


#: What a calendar does for each event that moves a booked date.
CALENDAR_ACTIONS: Mapping[Event, str] = {
    Event.SCHEDULE: "publish",
    Event.RESCHEDULE: "move",
    Event.MOVE: "withdraw",
    Event.CANCEL: "withdraw",
    Event.SUPERSEDE: "withdraw",
    Event.DEFER: "withdraw",
    Event.FAIL: "withdraw",
    Event.POSTPONE: "move",
    Event.APPROVE: "publish",
    Event.WITHDRAW: "withdraw",
    Event.FOLLOW_STAGING: "move",
}


def calendar_entry_for(
    request: UpdateRequest, entry: HistoryEntry, tenant: Tenant, duration: timedelta
) -> Optional[CalendarEntry]:
    """The calendar change ``entry`` causes, or None (a withdraw only of a dated request)."""
    action = CALENDAR_ACTIONS.get(entry.event)
    if action is None:
        return None
    # Withdraw only what a calendar shows: a booked date, or one kept while Pending Input.
    if action == "withdraw" and not (
        entry.from_status in BOOKED
        or (entry.from_status is Status.PENDING_INPUT and entry.old_date is not None)
    ):
        return None
    start = request.scheduled_for if action != "withdraw" else None
    what = str(request.version) if request.version else "DB refresh"
    return CalendarEntry(
        key=f"{request.id}:{entry.seq}:calendar",
        action=action,
        request_id=request.id,
        tenant_id=tenant.id,
        summary=f"{tenant.name}: {request.target.value} {what}",
        start=start,
        end=None if start is None else start + duration,
    )


def provider_notice_for(
    request: UpdateRequest,
    entry: HistoryEntry,
    tenant: Tenant,
    *,
    email: Optional[str],
    zone: str,
    lang: Language = ENGLISH,
) -> Optional[Notice]:
    """The notice a contact's change tells the provider (their reschedule), or None.

    Addressed to ``contact_id`` ``provider`` at the preset's ``email`` (empty when
    none is set: notifiers that need an address leave it to the others), in
    ``lang``, the provider's default locale.
    """
    if entry.event is not Event.MOVE:
        return None
    _ = lang.gettext
    lines = [
        _(
            "%(tenant)s: contact %(contact)s moved the preferred start of request %(id)s "
            "from %(old)s to %(new)s."
        )
        % {
            "tenant": tenant.name,
            "contact": entry.by,
            "id": request.short_id,
            "old": _when(entry.old_date, zone, lang),
            "new": _when(entry.new_date, zone, lang),
        },
    ]
    if entry.from_status is Status.SCHEDULED:
        lines.append(_("The date you had set is withdrawn; the request waits in the queue again."))
    lines.append(
        _("It keeps its first-come place in the queue (submitted %(when)s).")
        % {"when": _when(request.requested_at, zone, lang)}
    )
    return Notice(
        key=f"{request.id}:{entry.seq}:start-moved:provider",
        kind="start-moved",
        request_id=request.id,
        tenant_id=tenant.id,
        contact_id="provider",
        email=email or "",
        subject=_("Contact moved a request: %(tenant)s, request %(id)s")
        % {"tenant": tenant.name, "id": request.short_id},
        body="\n".join(lines),
        created_at=entry.at,
    )


def messages_for(
    request: UpdateRequest,
    entry: HistoryEntry,
    tenant: Tenant,
    recipients: Sequence[Contact],
    *,
    default_zone: str,
    duration: timedelta,
    per_recipient_keys: bool,
    meanings: Optional[Mapping[Status, str]] = None,
    language_of: Callable[[Contact], Language] = lambda contact: ENGLISH,
) -> Tuple[List[Notice], Optional[CalendarEntry]]:
    """Every notice and the calendar entry that ``entry`` causes.

    ``per_recipient_keys`` adds the contact to each notice key: needed when one
    change tells several contacts (a provider-made request tells every contact
    of the tenant), so that each notice keeps a key of its own. ``language_of``
    gives each recipient's language (default: English).
    """
    notices: List[Notice] = []
    for contact in recipients:
        notice = notice_for(
            request,
            entry,
            tenant,
            contact,
            default_zone,
            duration=duration,
            meanings=meanings,
            lang=language_of(contact),
        )
        if notice is not None:
            if per_recipient_keys:
                notice = attrs.evolve(notice, key=f"{notice.key}:{contact.id}")
            notices.append(notice)
    return notices, calendar_entry_for(request, entry, tenant, duration)
