"""The command line for scripts: every command's JSON against the schema shipped in the
package, errors as JSON, global options anywhere, ``python -m siteupdates``, ``--version``."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Any, Dict, List, Optional, Set, Tuple

import jsonschema
import pytest

from siteupdates.cli import EXIT, build_parser, main
from siteupdates.cli.generated import GROUPS
from siteupdates.cli.render import output_schema
from siteupdates.cli.views import generate_schema, schema_path
from siteupdates.hookspecs import hookimpl
from siteupdates.plugins import PluginHost
from siteupdates.service import Desk
from siteupdates.testing import FixedClock

ROOT = Path(__file__).resolve().parents[2]
SETUP = ROOT / "examples" / "district.toml"
NOW = "2015-02-02T10:39:00Z"
START = datetime(2015, 2, 2, 10, 39, tzinfo=timezone.utc)
SCHEMA = output_schema()


def validate(name: str, data: Any) -> None:
    """``data`` against the schema of command ``name`` (or ``error``)."""
    jsonschema.Draft202012Validator({**SCHEMA, "$ref": f"#/$defs/{name}"}).validate(data)


class Cli:
    """Runs ``siteupdates --json`` in this process on one SQLite file; checks every output."""

    def __init__(self, capsys: pytest.CaptureFixture[str], db: Path) -> None:
        self.capsys, self.db = capsys, db
        self.checked: List[str] = []
        self.ticks = 0

    def raw(self, *args: str) -> Tuple[int, str, str]:
        # Each step a second later, so first come, first served has a real order.
        self.ticks += 1
        now = (START + timedelta(seconds=self.ticks)).isoformat()
        try:
            code = main(["--db", str(self.db), "--now", now, "--json", *args])
        except SystemExit as stop:
            code = int(stop.code or 0)
        out, err = self.capsys.readouterr()
        return code, out, err

    def __call__(self, *args: str) -> Dict[str, Any]:
        code, out, err = self.raw(*args)
        assert code == 0, (args, err)
        data: Dict[str, Any] = json.loads(out)
        name = command_name(args)
        validate(name, data)
        self.checked.append(name)
        return data

    def fails(self, code: int, *args: str) -> Dict[str, Any]:
        got, out, err = self.raw(*args)
        assert got == code, err
        assert out == "" and len(err.splitlines()) == 1, err
        data: Dict[str, Any] = json.loads(err)
        validate("error", data)
        error: Dict[str, Any] = data["error"]
        assert error["exit"] == code
        return error


def command_name(args: Tuple[str, ...]) -> str:
    """The schema's name of the command ``args`` run: ``submit``, ``provider.schedule``."""
    words = [a for i, a in enumerate(args)
             if not a.startswith("-") and (i == 0 or args[i - 1] != "--plugin")]  # fmt: skip
    return f"{words[0]}.{words[1]}" if words[0] in GROUPS else words[0]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Cli:
    return Cli(capsys, tmp_path / "json.db")


def _choices(parser: Any) -> Dict[str, Any]:
    return dict(next(a for a in parser._actions if isinstance(a.choices, dict)).choices)


def test_the_schema_covers_every_command_of_the_parser() -> None:
    commands = _choices(build_parser())
    flat = set(commands) - set(GROUPS) - {"completion"}
    assert set(SCHEMA["x-commands"]) == flat
    grouped = {f"{g}.{name}" for g in GROUPS for name in _choices(commands[g])}
    assert set(SCHEMA["x-use-cases"]) == grouped
    assert set(SCHEMA["x-commands"]) | grouped <= set(SCHEMA["$defs"])
    assert set(SCHEMA["x-arguments"]) <= grouped
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    for arguments in SCHEMA["x-arguments"].values():
        jsonschema.Draft202012Validator.check_schema(arguments)


def test_every_result_type_of_a_command_has_a_view() -> None:
    from siteupdates.cli.views import VIEWS
    from siteupdates.usecases.catalog import CATALOG

    assert {uc.result for uc in CATALOG if not uc.python_only} <= set(VIEWS)


def test_the_schema_file_is_the_one_the_views_and_declarations_generate() -> None:
    shipped = json.loads(schema_path().read_text(encoding="utf-8"))
    assert generate_schema(shipped) == shipped, "run: python -m siteupdates.cli.views"


def test_every_commands_json_matches_the_schema_shipped_in_the_package(cli: Cli) -> None:
    _flat_session(cli)


def _flat_session(cli: Cli) -> None:
    first = cli("init", str(SETUP))
    assert first["tenants"] == 4 and first["dry_run"] is False and first["changes"]
    again = cli("apply", str(SETUP), "--dry-run")
    assert again["dry_run"] is True and again["changes"] == []
    assert cli("apply", str(SETUP), "--by", "ops")["changes"] == []
    audit: Any = cli("audit", "--kind", "tenant", "--limit", "2")
    assert len(audit) == 2 and {e["kind"] for e in audit} == {"tenant"}
    assert audit[0]["action"] == "added" and audit[0]["before"] is None
    assert audit[0]["zone"] == "America/Chicago" and audit[0]["at"].endswith("-06:00")
    tenants = cli("tenants", "--as", "sam")
    assert [t["id"] for t in tenants["items"]] == ["aspen", "birch", "cedar"]
    assert tenants["total"] == 3 and tenants["items"][0]["group"] == "state-mn"
    a = cli("submit", "--as", "dana", "--tenant", "maple", "--target", "production/sandbox",
            "--version", "E.1505.2", "--at", "2015-02-14 01:00")  # fmt: skip
    assert a["preferred_start"] == "2015-02-14T01:00:00-06:00" and a["zone"] == "America/Chicago"
    assert a["db_refresh"] is False and a["revision"] == 1 and a["scheduled_for"] is None
    assert a["warnings"][0]["rule"] == "R14"
    # R9: DB refresh not given is the cloud plan's preset, yes.
    b = cli("submit", "--as", "sam", "--tenant", "birch", "--target", "production/sandbox",
            "--refresh-only", "--at", "2015-02-10 22:00")  # fmt: skip
    assert b["db_refresh"] is True and b["zone"] == "America/New_York"
    c = cli("submit", "--as", "sam", "--tenant", "aspen", "--target", "staging", "--version",
            "E.1505.2", "--at", "2015-02-10 22:00", "--override", "R10", "--reason",
            "agreed with the state: aspen tries the release first", "--by", "hosting")  # fmt: skip
    assert c["overridden"] == ["R10"] and c["replayed"] is False
    assert cli("list", "--as", "dana")["total"] == 1
    ov = cli("overview", "--as", "dana")
    assert ov["made_at"].startswith("2015-02-02T04:39:") and ov["made_at"].endswith("-06:00")
    assert ov["zone"] == "America/Chicago"
    q = cli("queue")
    assert [r["id"] for r in q["items"]] == [a["id"], b["id"], c["id"]] and q["total"] == 3
    assert cli("explain", a["id"])["position"] == 1
    mine = cli("explain", a["id"][:8], "--as", "dana")
    assert mine["position"] == 1 and mine["zone"] == "America/Chicago"
    plan = cli("schedule", "--dry-run")
    assert plan["dry_run"] is True and [p["stored"] for p in plan["plan"]] == [False] * 3
    assert plan["plan"][0]["position"] == 1
    assert cli("schedule", a["id"], "--at", "2015-02-14 04:00")["status"] == "scheduled"
    moved = cli("reschedule", a["id"], "--at", "2015-02-15 04:00", "--reason", "maintenance")
    assert moved["scheduled_for"] == "2015-02-15T04:00:00-06:00"
    back = cli("reschedule", b["id"][:10], "--as", "sam", "--at", "2015-02-21 22:00")
    assert back["status"] == "to-be-scheduled" and back["preferred_start"].startswith(
        "2015-02-21T22:00:00-05:00"
    )
    stored = cli("schedule")
    assert stored["dry_run"] is False and all(p["stored"] for p in stored["plan"])
    assert cli("explain", a["id"])["position"] is None  # booked: no longer in the queue
    feed = cli("feed", "--as", "dana")
    assert feed["contact"] == "dana" and feed["events"] == 1 and a["id"] in feed["calendar"]
    assert b["id"] not in feed["calendar"]  # sam's tenant, not dana's (R22)
    shown = cli("show", c["id"])
    assert shown["history"][0]["overrides"] == ["R10"] and shown["history"][0]["by"] == "hosting"
    assert cli("ask", a["id"], "Keep the sandbox copy?")["status"] == "pending-input"
    answered = cli("answer", "--as", "dana", a["id"], "yes")
    assert answered["status"] == "scheduled"  # back where it was asked, with its date
    assert answered["scheduled_for"] == "2015-02-15T04:00:00-06:00"
    cli("ask", a["id"], "May we keep the sandbox offline longer?")
    # R20: the contact answered by phone; the provider records it, same return, same date.
    marked = cli("answered", a["id"][:10], "Dana phoned: yes", "--by", "ops")
    assert marked["status"] == "scheduled" and marked["scheduled_for"] == answered["scheduled_for"]
    assert marked["revision"] == answered["revision"] + 2
    stale = cli.fails(EXIT["refused"], "answered", a["id"], "again")
    assert stale["type"] == "TransitionNotAllowed" and stale["rules"] == ["R15"]
    assert cli("defer", c["id"], "waiting for the state")["scheduled_for"] is None
    assert cli("resume", c["id"])["status"] == "to-be-scheduled"
    for step in ("pull", "start", "complete"):
        cli(step, a["id"])
    assert cli("delete", "--as", "dana", a["id"])["status"] == "deleted"
    assert cli("cancel", "--as", "sam", b["id"])["status"] == "cancelled"
    assert cli("fail", c["id"], "the state said no")["status"] == "unable-to-complete"
    made = cli("group-update", "state-mn", "--target", "staging", "--version", "E.1505.2",
               "--at", "2015-02-10 22:00")["requests"]  # fmt: skip
    assert [r["tenant"] for r in made] == ["aspen"]
    weekly = cli("cloud-week", "--week-of", "2015-02-09")["requests"]
    assert [r["tenant"] for r in weekly] == ["aspen"]
    report = cli("deliver")
    assert isinstance(report["delivered"], int) and report["delivered"] > 0
    items = cli("outbox", "--request", c["id"])["items"]
    assert items and all(isinstance(o["attempts"], int) for o in items)
    assert isinstance(
        cli("worker", "--id", "w1", "--until-idle", "--poll", "0.01")["claimed"], int
    )
    drafts = cli.db.parent / "drafts.jsonl"
    drafts.write_text(
        '{"tenant": "cedar", "target": "production/sandbox", "refresh": true, '
        '"at": "2015-02-10 22:00"}\n'
        '{"tenant": "maple", "target": "staging", "refresh": true, "at": "2015-02-10 22:00"}\n',
        encoding="utf-8",
    )
    # One line refused: the exit status says so (1); the JSON is the same shape.
    code, out, _ = cli.raw("submit-many", "--as", "sam", str(drafts))
    many: Any = json.loads(out)
    validate("submit-many", many)
    cli.checked.append("submit-many")
    assert code == 1 and [row["accepted"] for row in many] == [True, False]
    assert many[1]["refusals"][0]["rule"] == "R22"


class Engine:
    """An executor that takes every run it is handed (an engine's queue)."""

    @hookimpl
    def siteupdates_executor_dispatch(self, run: Any) -> Optional[str]:
        return str(run.idempotency_key)


def test_staging_deferral_what_if_and_executor_commands_match_the_schema(
    cli: Cli, tmp_path: Path
) -> None:
    _staging_session(cli, tmp_path)


def _staging_session(cli: Cli, tmp_path: Path) -> Set[str]:
    cli("init", str(SETUP))
    made = cli("stage", "--as", "dana", "--version", "E.1505.2", "--at", "2015-02-10 22:00",
               "--soak-hours", "24")  # fmt: skip
    staging, production = made["staging"]["id"], made["production"]["id"]
    assert made["soak_hours"] == 24
    cli("schedule")
    assert cli("show", production)["status"] == "pending-input"  # at its gate, with its date
    code, _, err = cli.raw("answer", "--as", "dana", production, "go ahead")
    assert code == EXIT["refused"] and "approve" in err  # the gate is not a question
    changed = tmp_path / "changed.toml"
    changed.write_text(SETUP.read_text().replace('start = "04:00"', 'start = "05:00"'))
    assert isinstance(cli("schedule", "--what-if", str(changed))["moves"], list)
    assert cli("postpone", "--as", "dana", staging, "--next-window")["status"] == "scheduled"
    for step in ("pull", "start", "complete"):
        cli(step, staging)
    assert cli("approve", "--as", "dana", production)["status"] == "scheduled"
    assert isinstance(cli("stages")["requests"], list)
    other = Cli(cli.capsys, tmp_path / "decline.db")
    other("init", str(SETUP))
    gated = other("stage", "--as", "dana", "--version", "E.1505.2", "--at", "2015-02-10 22:00")
    other("schedule")
    declined = other("decline", "--as", "dana", gated["production"]["id"])
    assert declined["status"] == "cancelled" and declined["scheduled_for"] is None
    # An engine took a due update: it reports on the run with its fencing token.
    clock = FixedClock(START + timedelta(minutes=5))
    host = PluginHost(plugins=[Engine()], entry_points=False)
    with Desk.open(f"sqlite:///{cli.db}", host=host, clock=clock) as desk:
        rid = desk.submit("dana", "maple", "staging", None, db_refresh=True,
                          at=datetime(2015, 2, 14, 22)).request.id  # fmt: skip
        desk.schedule(rid, clock.now)
        assert desk.dispatch("d-1", lease_seconds=600).dispatched == 1
    assert cli("report", rid, "1", "started")["applied"] is True
    assert isinstance(cli("dispatch", "--id", "d-2", "--until-idle", "--poll", "0.01"), dict)
    assert cli("dispatch", "--status", rid)["engine_status"] is None
    stale = cli.fails(EXIT["refused"], "report", rid, "7", "completed")
    assert "7" in stale["message"]
    assert cli("outbox", "retry", "--dead")["requeued"] == []
    return set(other.checked)


def test_every_command_of_the_parser_was_checked_against_the_schema(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Self-sufficient: runs every session itself, whatever ran before."""
    checked: Set[str] = set()
    for name, session in (("flat", _flat_session), ("grouped", _grouped_session)):
        run = Cli(capsys, tmp_path / f"{name}.db")
        session(run)
        checked.update(run.checked)
    staging = Cli(capsys, tmp_path / "staging.db")
    checked.update(_staging_session(staging, tmp_path), staging.checked)
    assert set(SCHEMA["x-commands"]) | set(SCHEMA["x-use-cases"]) == checked


def test_every_grouped_commands_json_matches_the_schema(cli: Cli) -> None:
    _grouped_session(cli)


ENGINE = f"{__name__}:Engine"


def _grouped_session(cli: Cli) -> None:
    """Every command of the actor groups, its JSON against the schema of its result type."""
    c, p, o = "contact", "provider", "ops"
    assert cli(p, "apply", str(SETUP))["applied"] is True
    assert cli(p, "load", str(SETUP))["changes"] == []
    assert [t["id"] for t in cli(c, "tenants", "--as", "sam")["items"]] == ["aspen", "birch",
                                                                            "cedar"]  # fmt: skip
    assert cli(c, "me", "--as", "dana")["zone"] == "America/Chicago"
    assert cli(c, "gadget", "--as", "dana")["tenant"]["id"] == "maple"
    assert cli(c, "gadget", "--as", "sam")["overview"] is None
    assert "E.1505.2" in cli(c, "catalog", "--as", "dana")["versions"]
    a = cli(c, "submit", "--as", "dana", "--tenant", "maple", "--target", "production/sandbox",
            "--version", "E.1505.2", "--at", "2015-02-14 01:00")  # fmt: skip
    assert a["warnings"][0]["rule"] == "R14" and a["replayed"] is False
    b = cli(p, "override", "--for", "sam", "--tenant", "aspen", "--target", "staging",
            "--version", "E.1505.2", "--rule", "R10", "--reason", "agreed", "--at",
            "2015-02-10 22:00")  # fmt: skip
    assert b["overridden"] == ["R10"]
    assert cli(c, "requests", "--as", "dana", "--tenant", "maple")["total"] == 1
    assert cli(c, "resolve-id", "--as", "dana", a["id"][:8])["id"] == a["id"]
    assert cli(c, "request", "--as", "dana", a["id"])["id"] == a["id"]
    assert cli(c, "overview", "--as", "dana", "--tenant", "maple")["tenant"] == "maple"
    assert cli(c, "explain", "--as", "dana", a["id"])["position"] == 1
    moved = cli(c, "move", "--as", "dana", a["id"], "--at", "2015-02-15 01:00")
    assert moved["preferred_start"] == "2015-02-15T01:00:00-06:00"
    assert cli(p, "queue")["total"] == 2
    assert cli(p, "requests", "--tenant", "maple", "--status", "to-be-scheduled")["total"] == 1
    assert cli(p, "tenants", "--limit", "2")["total"] == 4
    assert cli(p, "catalog")["versions"]
    assert cli(p, "find", a["id"])["id"] == a["id"]
    assert cli(p, "resolve-id", a["id"][:8])["id"] == a["id"]
    assert cli(p, "tenant", "maple")["name"]
    assert cli(p, "history", a["id"])["history"][0]["event"]
    assert cli(p, "explain", a["id"])["position"] == 1
    assert isinstance(cli(p, "what-if", str(SETUP))["moves"], list)
    assert cli(p, "plan", "--dry-run")["dry_run"] is True
    sched = cli(p, "schedule", a["id"], "--at", "2015-02-16T10:00:00Z")
    assert sched["status"] == "scheduled"
    again = cli(p, "reschedule", a["id"], "--at", "2015-02-17T10:00:00Z", "--reason", "work")
    assert again["scheduled_for"] == "2015-02-17T04:00:00-06:00"
    cli(p, "ask-input", a["id"], "Keep the sandbox?")
    assert cli(c, "answer", "--as", "dana", a["id"], "yes")["status"] == "scheduled"
    cli(p, "ask-input", a["id"], "Again?")
    assert cli(p, "answered", a["id"], "phoned")["status"] == "scheduled"
    assert cli(p, "defer", b["id"], "waiting")["status"] == "deferred"
    assert cli(p, "resume", b["id"])["status"] == "to-be-scheduled"
    for step in ("pull", "start", "complete"):
        cli(p, step, a["id"])
    assert cli(c, "delete", "--as", "dana", a["id"])["status"] == "deleted"
    assert cli(p, "fail", b["id"], "the state said no")["status"] == "unable-to-complete"
    d = cli(c, "submit", "--as", "sam", "--tenant", "birch", "--target", "production/sandbox",
            "--refresh", "--at", "2015-02-10 22:00")  # fmt: skip
    assert d["db_refresh"] is True and d["version"] is None
    assert cli(c, "cancel", "--as", "sam", d["id"])["status"] == "cancelled"
    assert isinstance(cli(p, "stages")["requests"], list)
    grouped = cli(p, "group-update", "state-mn", "--target", "staging", "--version", "E.1505.2",
                  "--earliest", "2015-02-10T22:00:00Z")["requests"]  # fmt: skip
    assert [r["tenant"] for r in grouped] == ["aspen"]
    assert isinstance(cli(p, "cloud-week", "--week-of", "2015-02-09")["requests"], list)
    assert len(cli(p, "audit", "--limit", "2")) == 2
    assert isinstance(cli(o, "deliver", "--max-attempts", "3")["delivered"], int)
    items = cli(p, "outbox", "--limit", "2")["items"]
    assert cli(p, "outbox-item", items[0]["id"])["item"]["key"] == items[0]["key"]
    assert cli(p, "retry", "--dead")["requeued"] == []
    code, out, err = cli.raw(p, "supersede", b["id"], d["id"])
    if code == 0:
        validate("provider.supersede", json.loads(out))
    else:
        assert code == EXIT["refused"], err
    cli.checked.append("provider.supersede")
    # An engine takes a due update: its run, reports, heartbeat and cancel.
    due = cli(c, "submit", "--as", "dana", "--tenant", "maple", "--target", "staging",
              "--refresh", "--at", "2015-02-14 22:00")["id"]  # fmt: skip
    cli(p, "schedule", due, "--at", START.isoformat(), "--allow-past")
    assert cli("--plugin", ENGINE, o, "dispatch", "--id", "d-1")["dispatched"] == 1
    assert cli("--plugin", ENGINE, p, "run-status", due)["run_id"] == due
    assert cli(o, "report", due, "1", "started")["applied"] is True
    assert cli(o, "heartbeat", due, "1", "--lease", "60")["held"] is True
    assert cli(p, "cancel-run", due, "stopped by the provider")["status"]
    assert isinstance(cli(o, "worker", "--id", "w1", "--until-idle", "--poll", "0.01"), dict)
    assert cli(o, "feed", "--as", "dana")["contact"] == "dana"
    code, out, err = cli.raw(o, "status")  # exit 0 ok, 1 warning, 2 critical
    assert code in (0, 1, 2) and json.loads(out)["verdict"] == code, err
    validate("ops.status", json.loads(out))
    cli.checked.append("ops.status")
    drafts = cli.db.parent / "grouped-drafts.jsonl"
    drafts.write_text('{"tenant": "maple", "target": "preview", "refresh": true, '
                      '"at": "2015-02-10 22:00"}\n', encoding="utf-8")  # fmt: skip
    code, out, err = cli.raw(c, "submit-many", "--as", "dana", str(drafts))
    assert code in (0, EXIT["refused"]), err
    validate("contact.submit-many", json.loads(out))
    cli.checked.append("contact.submit-many")
    staged = Cli(cli.capsys, cli.db.parent / "grouped-stage.db")
    staged(p, "apply", str(SETUP))
    made = staged(c, "stage", "--as", "dana", "--tenant", "maple", "--version", "E.1505.2", "--at",
               "2015-02-10 22:00", "--soak-hours", "24")  # fmt: skip
    staging, production = made["staging"]["id"], made["production"]["id"]
    assert staged(p, "plan")["dry_run"] is False
    assert staged(c, "postpone", "--as", "dana", staging, "--next-window")["status"] == "scheduled"
    for step in ("pull", "start", "complete"):
        staged(p, step, staging)
    assert staged(c, "approve", "--as", "dana", production)["status"] == "scheduled"
    cli.checked.extend(staged.checked)
    other = Cli(cli.capsys, cli.db.parent / "grouped-decline.db")
    other(p, "apply", str(SETUP))
    gated = other(c, "stage", "--as", "dana", "--tenant", "maple", "--version", "E.1505.2",
                  "--at", "2015-02-10 22:00")  # fmt: skip
    other(p, "plan")
    assert other(c, "decline", "--as", "dana", gated["production"]["id"])["status"] == "cancelled"
    cli.checked.extend(other.checked)


def test_errors_in_json_mode_are_json_on_stderr_with_the_rule_ids(cli: Cli) -> None:
    cli("init", str(SETUP))
    refused = cli.fails(
        EXIT["refused"], "submit", "--as", "dana", "--target", "production/sandbox",
        "--version", "E.1505.1", "--at", "2015-02-01 01:00",
    )  # fmt: skip
    assert refused["rules"] == ["R5", "R12"] and refused["type"] == "RequestRefused"
    assert refused["refusals"][0]["suggestion"] == "E.1505.2"
    r2 = cli.fails(EXIT["refused"], "submit", "--as", "dana", "--target", "sandbox",
                   "--version", "E.1505.2", "--at", "2015-02-14 01:00")  # fmt: skip
    assert r2["rules"] == ["R2"]
    typo = cli.fails(EXIT["usage"], "submit", "--as", "dana", "--target", "prod",
                     "--version", "E.1505.2", "--at", "2015-02-14 01:00")  # fmt: skip
    assert typo["type"] == "UnknownName" and typo["rules"] == []
    theirs = cli("submit", "--as", "sam", "--tenant", "cedar", "--target", "production/sandbox",
                 "--refresh-only", "--refresh", "--at", "2015-02-10 22:00")["id"]  # fmt: skip
    for what in (theirs, "0" * 32):  # another tenant's request reads like a missing one
        denied = cli.fails(EXIT["access"], "explain", what, "--as", "dana")
        assert denied["rules"] == ["R22"] and theirs not in denied["message"]
        moved = cli.fails(EXIT["access"], "reschedule", what, "--as", "dana", "--at",
                          "2015-02-21 22:00")  # fmt: skip
        assert moved["message"] == denied["message"]
    usage = cli.fails(EXIT["usage"], "frobnicate")
    assert usage["type"] == "UsageError" and "invalid choice" in usage["message"]
    late = cli.fails(EXIT["usage"], "reschedule", theirs, "--at", "2015-02-21 22:00")
    assert "--reason" in late["message"]


def test_global_options_may_follow_the_command(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = str(tmp_path / "after.db")
    assert main(["init", str(SETUP), "--db", db, "--now", NOW]) == 0
    capsys.readouterr()
    assert main(["list", "--as", "dana", "--json", "--db", db, "--now", NOW]) == 0
    after = json.loads(capsys.readouterr().out)
    assert main(["--json", "--db", db, "--now", NOW, "list", "--as", "dana"]) == 0
    assert json.loads(capsys.readouterr().out) == after == {
        "items": [], "limit": 50, "offset": 0, "total": 0
    }  # fmt: skip
    # Given before and after, the later one wins, as with any repeated option.
    assert main(["--db", str(tmp_path / "none.db"), "queue", "--db", db, "--now", NOW]) == 0


def test_db_refresh_yes_no_and_not_given_on_the_command_line(cli: Cli) -> None:
    cli("init", str(SETUP))
    base = ("submit", "--as", "sam", "--tenant", "birch", "--target", "production/sandbox",
            "--refresh-only", "--at", "2015-02-10 22:00")  # fmt: skip
    said_no = cli.fails(EXIT["refused"], *base, "--no-refresh")
    assert set(said_no["rules"]) == {"R6", "R9"}
    assert cli(*base, "--refresh")["db_refresh"] is True
    code, _, err = cli.raw(*base, "--refresh", "--no-refresh")
    assert code == EXIT["usage"] and "not allowed with" in err


def test_python_dash_m_siteupdates_runs_the_command_line_with_its_version(
    tmp_path: Path,
) -> None:
    run = [sys.executable, "-m", "siteupdates"]
    shown = subprocess.run([*run, "--version"], capture_output=True, text=True, timeout=60)
    assert (
        shown.returncode == 0 and shown.stdout.strip() == f"siteupdates {version('siteupdates')}"
    )
    db = ["--db", str(tmp_path / "m.db"), "--now", NOW]
    assert subprocess.run([*run, *db, "init", str(SETUP)], capture_output=True).returncode == 0
    listed = subprocess.run(
        [*run, "list", "--as", "dana", "--json", *db], capture_output=True, text=True, timeout=60
    )
    assert listed.returncode == 0, listed.stderr
    validate("list", json.loads(listed.stdout))
    refused = subprocess.run(
        [*run, *db, "--json", "cancel", "--as", "dana", "nope"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert refused.returncode == EXIT["access"] and "Traceback" not in refused.stderr
    validate("error", json.loads(refused.stderr))
