"""The command line for scripts: every command's JSON against the schema shipped in the
package, errors as JSON, global options anywhere, ``python -m siteupdates``, ``--version``."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import jsonschema
import pytest

from siteupdates.cli import EXIT, build_parser, main
from siteupdates.cli.render import output_schema
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
        assert code == 0, err
        data: Dict[str, Any] = json.loads(out)
        validate(args[0], data)
        self.checked.append(args[0])
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


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Cli:
    return Cli(capsys, tmp_path / "json.db")


def test_the_schema_covers_every_command_of_the_parser() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a.choices, dict))
    assert set(SCHEMA["x-commands"]) == set(sub.choices or {})
    assert set(SCHEMA["x-commands"]) <= set(SCHEMA["$defs"])
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_every_commands_json_matches_the_schema_shipped_in_the_package(cli: Cli) -> None:
    _everyday_commands(cli)


def _everyday_commands(cli: Cli) -> None:
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
    _staging_and_executor_commands(cli, tmp_path)


def _staging_and_executor_commands(cli: Cli, tmp_path: Path) -> List[str]:
    """Walk the staged, deferred and executor commands; the commands the other Cli ran."""
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
    return other.checked


def test_every_command_of_the_parser_is_checked_against_the_schema(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Runs both walks itself, so the verdict holds alone, under -k and in any order.
    everyday = Cli(capsys, tmp_path / "everyday.db")
    _everyday_commands(everyday)
    (tmp_path / "staging").mkdir()
    staging = Cli(capsys, tmp_path / "staging" / "staging.db")
    other = _staging_and_executor_commands(staging, tmp_path / "staging")
    checked = {*everyday.checked, *staging.checked, *other}
    assert set(SCHEMA["x-commands"]) == checked, set(SCHEMA["x-commands"]) ^ checked


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
