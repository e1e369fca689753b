"""The command line: the session of the source document, and bad input as a new user types it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from siteupdates.cli import EXIT, main

ROOT = Path(__file__).resolve().parents[2]
SETUP = ROOT / "examples" / "district.toml"
NOW = "2015-02-02T10:39:00Z"


def run(capsys: pytest.CaptureFixture[str], db: Path, *args: str) -> tuple[int, str, str]:
    try:
        code = main(["--db", str(db), "--now", NOW, *args])
    except SystemExit as stop:  # argparse's usage errors
        code = int(stop.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def db(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    path = tmp_path / "cli.db"
    assert run(capsys, path, "init", str(SETUP))[0] == 0
    return path


def test_r21_the_overview_of_the_source_documents_district(
    capsys: pytest.CaptureFixture[str], db: Path
) -> None:
    code, out, _ = run(capsys, db, "overview", "--as", "dana", "--tenant", "maple")
    assert code == 0
    assert "Updated 4:39 AM CST" in out
    assert "E.1450.4 - Jan. 10, 2015" in out and "Refresh - Aug. 23, 2014" in out


def test_a_whole_session_submit_schedule_overview_in_json(
    capsys: pytest.CaptureFixture[str], db: Path
) -> None:
    code, out, _ = run(
        capsys, db, "--json", "submit", "--as", "dana", "--tenant", "maple", "--target",
        "production/sandbox", "--version", "E.1505.2", "--at", "2015-02-14 01:00",
    )  # fmt: skip
    assert code == 0
    req = json.loads(out)
    assert req["status"] == "to-be-scheduled" and req["warnings"][0]["rule"] == "R14"
    assert req["preferred_start"] == "2015-02-14T01:00:00-06:00"
    assert req["zone"] == "America/Chicago" and req["revision"] == 1
    code, out, _ = run(capsys, db, "schedule", req["id"], "--at", "2015-02-14 04:00")
    assert code == 0 and "Scheduled" in out
    code, out, _ = run(capsys, db, "--json", "overview", "--as", "dana", "--tenant", "maple")
    rows = json.loads(out)["rows"]
    assert {"site": "production", "text": "E.1505.2 - Feb. 14, 2015", "label": "SCHEDULED",
            "request": req["id"], "when": "2015-02-14T04:00:00-06:00",
            "automatic": False} in rows  # fmt: skip
    code, out, _ = run(capsys, db, "--json", "show", req["id"])
    assert [h["event"] for h in json.loads(out)["history"]] == ["submit", "schedule"]
    code, out, _ = run(capsys, db, "deliver")
    assert code == 0 and "delivered 3" in out


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["submit", "--as", "dana", "--tenant", "maple", "--target", "production/sandbox",
          "--version", "E.1505.1", "--at", "2015-02-14 01:00"], EXIT["refused"], "E.1505.2,"),
        (["submit", "--as", "dana", "--tenant", "maple", "--target", "staging",
          "--version", "E.1505.2", "--at", "14/02/2015"], EXIT["usage"], "YYYY-MM-DD HH:MM"),
        (["submit", "--as", "dana", "--tenant", "maple", "--target", "sandbox",
          "--version", "E.1505.2", "--at", "2015-02-14 01:00"], EXIT["refused"], "R2"),
        (["submit", "--as", "dana", "--tenant", "maple", "--target", "prod",
          "--version", "E.1505.2", "--at", "2015-02-14 01:00"], EXIT["usage"], "unknown target"),
        (["submit", "--as", "dana", "--tenant", "maple", "--target", "staging",
          "--version", "1505", "--at", "2015-02-14 01:00"], EXIT["usage"], "LINE.RELEASE.PACK"),
        (["submit", "--as", "dana", "--tenant", "maple", "--target", "staging",
          "--version", "E.1505.2", "--at", "2015-03-08 02:30"], EXIT["refused"], "02:00 to 03:00"),
        (["submit", "--as", "dana", "--tenant", "nowhere", "--target", "staging",
          "--refresh-only", "--refresh", "--at", "2015-02-14 01:00"], EXIT["access"], "no such"),
        (["submit", "--as", "dana", "--tenant", "birch", "--target", "staging",
          "--refresh-only", "--refresh", "--at", "2015-02-14 01:00"], EXIT["access"], "no such"),
        (["submit", "--as", "dana", "--tenant", "maple", "--target", "staging",
          "--refresh-only", "--at", "2015-02-14 01:00"], EXIT["refused"], "R6"),
        (["submit", "--as", "dana", "--tenant", "maple", "--target", "staging",
          "--version", "E.1505.2", "--at", "2015-02-14 01:00", "--zone", "Mars/Base"],
         EXIT["refused"], "IANA"),
        (["schedule", "missing", "--at", "2015-02-14 01:00"], EXIT["access"], "no request"),
        (["list", "--tenant", "maple"], EXIT["usage"], "--as"),
        (["frobnicate"], EXIT["usage"], "invalid choice"),
    ],
)  # fmt: skip
def test_bad_input_gets_one_plain_line_and_a_non_zero_status(
    capsys: pytest.CaptureFixture[str], db: Path, args: list[str], code: int, needle: str
) -> None:
    got, _, err = run(capsys, db, *args)
    assert got == code
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1, err
    assert needle in lines[0]
    assert "Traceback" not in err


def test_bad_setup_files_are_named_with_the_problem(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[[tenants]\nid = 'x'\n")
    code, _, err = run(capsys, tmp_path / "a.db", "init", str(broken))
    assert code == EXIT["setup"] and "not valid TOML" in err and len(err.splitlines()) == 1
    bad_version = tmp_path / "bad.toml"
    bad_version.write_text(
        "[[tenants]]\nid='x'\nplan='asp'\n"
        "sites=[{kind='production', version='E.1', since='2015-01-01 00:00'}]\n"
    )
    code, _, err = run(capsys, tmp_path / "b.db", "init", str(bad_version))
    assert code == EXIT["setup"] and "tenants[0].sites[0]" in err and "E.1505.2" in err
    code, _, err = run(capsys, tmp_path / "c.db", "init", str(tmp_path / "missing.toml"))
    assert code == EXIT["setup"] and "cannot read setup file" in err


def test_a_database_without_setup_says_how_to_start(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, tmp_path / "empty.db", "queue")
    assert code == EXIT["setup"] and "siteupdates provider apply" in err


def test_the_console_script_runs_as_a_process(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    args = [sys.executable, "-m", "siteupdates.cli", "--db", str(db), "--now", NOW]
    assert subprocess.run([*args, "init", str(SETUP)], capture_output=True).returncode == 0
    proc = subprocess.run(
        [*args, "cancel", "--as", "dana", "nope"], capture_output=True, text=True
    )
    assert proc.returncode == EXIT["access"]
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    helped = subprocess.run([*args, "submit", "--help"], capture_output=True, text=True)
    assert helped.returncode == 0 and "--refresh-only" in helped.stdout


def test_schedule_plans_the_queue_and_explain_says_why(
    capsys: pytest.CaptureFixture[str], db: Path
) -> None:
    code, out, _ = run(
        capsys, db, "--json", "submit", "--as", "dana", "--tenant", "maple", "--target",
        "staging", "--refresh-only", "--refresh", "--at", "2015-02-10 22:00",
    )  # fmt: skip
    rid = json.loads(out)["id"]
    code, out, _ = run(capsys, db, "schedule", "--dry-run")
    assert code == 0 and "Feb. 15, 2015 4:00 AM CST" in out and "dry run" in out
    code, out, _ = run(capsys, db, "explain", rid)
    assert code == 0 and "outside every window" in out and "position 1" in out
    code, out, _ = run(capsys, db, "--json", "schedule")
    assert code == 0 and json.loads(out)["plan"][0]["stored"] is True
    code, _, err = run(capsys, db, "cloud-week", "--week-of", "next week")
    assert code == EXIT["usage"] and "YYYY-MM-DD" in err
    code, out, _ = run(capsys, db, "--json", "cloud-week", "--week-of", "2015-02-09")
    # birch (cloud) already runs the newest, E.1505.2; aspen (cloud-choice) does not.
    assert code == 0 and [(r["tenant"], r["version"]) for r in json.loads(out)["requests"]] == [
        ("aspen", "E.1505.2")
    ]


def test_a_district_contact_need_not_name_their_only_tenant(
    capsys: pytest.CaptureFixture[str], db: Path
) -> None:
    code, out, _ = run(capsys, db, "overview", "--as", "dana")
    assert code == 0 and "Maple Grove District" in out
    code, _, err = run(capsys, db, "list", "--as", "sam")
    assert code == EXIT["usage"] and "aspen, birch, cedar" in err and "maple" not in err


def _tenant_commands() -> list[str]:
    from siteupdates.cli.generated import use_cases

    return [
        uc.command_name
        for uc in use_cases("contact")
        if any(p.name == "tenant_id" and p.required for p in uc.params)
    ]


@pytest.mark.parametrize("command", _tenant_commands())
def test_every_grouped_contact_command_defaults_to_the_only_tenant(
    capsys: pytest.CaptureFixture[str], db: Path, command: str
) -> None:
    """The grouped commands keep the 0.2 rule: a district contact's one tenant is implied."""
    _, out, _ = run(capsys, db, "contact", command, "--help")
    assert "--tenant ID" in out and "[--tenant ID]" in out.replace("\n", " ")
    sample = {"--target": "staging", "--version": "E.1505.2", "--at": "2015-02-20 04:00"}
    from siteupdates.cli.generated import use_cases

    (uc,) = [u for u in use_cases("contact") if u.command_name == command]
    rest = [x for p in uc.params if p.option in sample for x in (p.option, sample[p.option])]
    code, _, err = run(capsys, db, "contact", command, "--as", "sam", *rest)
    assert code == EXIT["usage"], err
    assert err.count("\n") == 1 and "aspen, birch, cedar" in err and "maple" not in err
    assert "..." not in err  # three tenants are all there are


def test_the_grouped_overview_needs_no_tenant_for_a_district_contact(
    capsys: pytest.CaptureFixture[str], db: Path
) -> None:
    code, out, err = run(capsys, db, "contact", "overview", "--as", "dana")
    assert code == 0, err
    assert "Maple Grove District" in out
    code, out, err = run(capsys, db, "--json", "contact", "requests", "--as", "dana")
    assert code == 0, err
    assert json.loads(out)["items"] == []


def test_r20_the_provider_marks_a_question_answered_and_every_refusal_is_one_line(
    capsys: pytest.CaptureFixture[str], db: Path
) -> None:
    code, out, _ = run(
        capsys, db, "--json", "submit", "--as", "dana", "--tenant", "maple", "--target",
        "staging", "--refresh-only", "--refresh", "--at", "2015-02-10 22:00",
    )  # fmt: skip
    rid = json.loads(out)["id"]
    refusals = [
        (["answered", rid, "by phone"], EXIT["refused"], "it is To Be Scheduled"),
        (["answered", rid, " "], EXIT["usage"], "note is empty"),
        (["answered", rid, "two\nlines"], EXIT["usage"], "a line break"),
        (["answered", "0" * 32, "by phone"], EXIT["access"], "no request"),
        (["answered", rid], EXIT["usage"], "NOTE"),
    ]
    for args, want, needle in refusals:
        got, _, err = run(capsys, db, *args)
        lines = [x for x in err.splitlines() if x.strip()]
        assert (got, len(lines)) == (want, 1), err
        assert needle in lines[0] and "Traceback" not in err
    assert run(capsys, db, "ask", rid, "Which term's data?")[0] == 0
    code, out, err = run(
        capsys, db, "answered", rid[:8], "Dana phoned: the fall term", "--by", "ops"
    )
    assert code == 0, err
    assert out.strip() == f"request {rid} is To Be Scheduled (Feb. 10, 2015 10:00 PM CST)"
    code, out, _ = run(capsys, db, "--json", "show", rid)
    last = json.loads(out)["history"][-1]
    assert [last[k] for k in ("event", "actor", "by", "from", "to")] == [
        "answer", "provider", "ops", "pending-input", "to-be-scheduled"
    ]  # fmt: skip
    assert last["reason"] == "Dana phoned: the fall term"
    got, _, err = run(capsys, db, "answered", rid, "again")  # no longer Pending Input
    assert got == EXIT["refused"] and len(err.splitlines()) == 1
