"""The command line by actor: every declared use case reachable, the 0.2 names as aliases.

A census of the declarations against ``--help``; the forms of the 0.2 commands
and the options each form would ignore (exit 2); read commands that never create
a store; the deprecation note; logs with UTC timestamps; shell completion.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import List, Tuple

import pytest

from siteupdates.cli import EXIT, main
from siteupdates.cli.generated import GROUPS, use_cases
from siteupdates.usecases.catalog import CATALOG

ROOT = Path(__file__).resolve().parents[2]
SETUP = ROOT / "examples" / "district.toml"
NOW = "2015-02-02T10:39:00Z"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> Tuple[int, str, str]:
    try:
        code = main(list(args))
    except SystemExit as stop:
        code = int(stop.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def db(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    path = tmp_path / "groups.db"
    assert run(capsys, "--db", str(path), "--now", NOW, "provider", "apply", str(SETUP))[0] == 0
    return path


def test_every_declared_use_case_without_python_only_has_a_command(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The census: each use case's command, its help naming every parameter and its help."""
    reachable = {uc.qualname for group in GROUPS for uc in use_cases(group)}
    declared = {uc.qualname for uc in CATALOG if not uc.python_only}
    assert reachable == declared
    for uc in CATALOG:
        if uc.python_only:
            continue
        code, out, err = run(capsys, uc.actor.value, uc.command_name, "--help")
        assert code == 0, (uc.qualname, err)
        flat = " ".join(out.split())
        assert " ".join(uc.doc.split()) in flat, uc.qualname
        for p in uc.params:
            if p.kind.python_only:
                continue
            spelled = p.option or (p.name[:-3] if p.name.endswith("_id") else p.name).upper()
            assert spelled in out, (uc.qualname, p.name)
            assert " ".join(p.help.split())[:30] in flat, (uc.qualname, p.name)
        if uc.actor.value == "contact":
            assert "--as CONTACT" in out


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["schedule", "--at", "2015-02-14 01:00", "--zone", "Nowhere/Zone"], ["--at", "--zone"]),
        (["schedule", "--allow-past"], ["--allow-past"]),
        (["schedule", "--what-if", str(SETUP), "--dry-run"], ["--dry-run"]),
        (["schedule", "REQ", "--at", "2015-02-14 01:00", "--dry-run"], ["--dry-run"]),
        (["schedule", "REQ", "--at", "2015-02-14 01:00", "--horizon-days", "9"],
         ["--horizon-days"]),
        (["reschedule", "REQ", "--as", "dana", "--at", "2015-02-21 22:00", "--allow-past"],
         ["--allow-past"]),
        (["dispatch", "--status", "REQ", "--id", "d-1"], ["--id"]),
        (["dispatch", "--status", "REQ", "--batch", "3"], ["--batch"]),
        (["dispatch", "--cancel", "REQ", "--reason", "x", "--local"], ["--local"]),
        (["dispatch", "--id", "d-1", "--reason", "x"], ["--reason"]),
        (["submit", "--as", "dana", "--target", "staging", "--version", "E.1505.2",
          "--at", "2015-02-14 01:00", "--by", "ops"], ["--by"]),
        (["deliver", "--poll", "3"], ["--poll"]),
        (["ops", "deliver", "--poll", "3"], ["--poll"]),
        (["outbox", "--state", "dead", "retry", "--dead"], ["--state"]),
    ],
)  # fmt: skip
def test_an_option_the_chosen_form_ignores_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], db: Path, args: List[str], named: List[str]
) -> None:
    before = db.read_bytes()
    code, out, err = run(capsys, "--db", str(db), "--now", NOW, *args)
    assert code == EXIT["usage"], err
    assert out == "" and len(err.splitlines()) == 1, err
    assert "ignores" in err and all(option in err for option in named), err
    assert db.read_bytes() == before


READS = [
    ["queue"], ["list", "--as", "dana"], ["overview", "--as", "dana"], ["show", "abc"],
    ["explain", "abc"], ["audit"], ["outbox"], ["tenants", "--as", "dana"],
    ["schedule", "--dry-run"], ["dispatch", "--status", "abc"],
    ["provider", "queue"], ["provider", "tenants"], ["provider", "find", "abc"],
    ["contact", "me", "--as", "dana"], ["provider", "what-if", str(SETUP)],
    ["provider", "outbox"], ["ops", "feed"],
]  # fmt: skip


@pytest.mark.parametrize("args", READS, ids=lambda a: " ".join(a[:2]))
def test_a_read_command_never_creates_a_store(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: List[str]
) -> None:
    missing = tmp_path / "mistyped.db"
    code, _, err = run(capsys, "--db", str(missing), "--now", NOW, *args)
    assert code == EXIT["setup"], err
    assert str(missing) in err and "never creates" in err and len(err.splitlines()) == 1
    assert not missing.exists() and list(tmp_path.iterdir()) == []


def test_a_write_command_creates_the_store_as_before(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for args in (["apply", str(SETUP)], ["provider", "apply", str(SETUP)]):
        path = tmp_path / f"{args[0]}.db"
        code, _, err = run(capsys, "--db", str(path), "--now", NOW, *args)
        assert code == 0 and path.exists(), err


def test_a_0_2_name_says_what_replaces_it_after_it_succeeds(
    capsys: pytest.CaptureFixture[str], db: Path
) -> None:
    code, out, err = run(capsys, "--db", str(db), "--now", NOW, "list", "--as", "dana")
    assert code == 0 and out.startswith("(none)")
    assert err.strip() == (
        "siteupdates: note: 'list' is the 0.2 name of this command, kept for one release; "
        "use: siteupdates contact requests"
    )
    # The grouped command prints no note; a failing 0.2 command prints only its error.
    code, out, err = run(capsys, "--db", str(db), "--now", NOW, "contact", "requests",
                         "--as", "dana", "--tenant", "maple")  # fmt: skip
    assert code == 0 and err == ""
    code, _, err = run(capsys, "--db", str(db), "--now", NOW, "cancel", "--as", "dana", "x")
    assert code == EXIT["access"] and len(err.splitlines()) == 1 and "note" not in err


def test_the_generated_commands_print_the_0_2_commands_text(
    capsys: pytest.CaptureFixture[str], db: Path
) -> None:
    g = ("--db", str(db), "--now", NOW)
    common = ("--target", "production/sandbox", "--version", "E.1505.2", "--at",
              "2015-02-14 01:00")  # fmt: skip
    _, flat, _ = run(capsys, *g, "submit", "--as", "dana", "--key", "k1", *common)
    _, grouped, _ = run(capsys, *g, "contact", "submit", "--as", "dana", "--tenant", "maple",
                        "--key", "k1", *common)  # fmt: skip
    assert grouped == flat.replace("is To Be Scheduled", "(already submitted) is To Be Scheduled")
    assert run(capsys, *g, "queue")[1] == run(capsys, *g, "provider", "queue")[1]
    _, plan, _ = run(capsys, *g, "schedule", "--dry-run")
    assert run(capsys, *g, "provider", "plan", "--dry-run")[1] == plan


def test_the_long_running_commands_log_with_utc_timestamps_and_levels(
    capsys: pytest.CaptureFixture[str], db: Path
) -> None:
    g = ("--db", str(db), "--now", NOW)
    code, _, err = run(capsys, *g, "ops", "worker", "--id", "w1", "--until-idle", "--poll",
                       "0.01")  # fmt: skip
    assert code == 0
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
    assert re.search(rf"^{stamp} INFO siteupdates\.worker: worker w1 ready", err, re.M), err
    code, _, err = run(capsys, "--log-level", "warning", *g, "ops", "worker", "--id", "w1",
                       "--until-idle", "--poll", "0.01")  # fmt: skip
    assert code == 0 and "ready" not in err
    code, _, err = run(capsys, *g, "ops", "worker", "--id", "w1", "--until-idle", "--poll",
                       "0.01", "--log-level", "nonsense")  # fmt: skip
    assert code == EXIT["usage"] and "--log-level" in err


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts_cover_the_groups_and_pass_the_shells_syntax_check(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, shell: str
) -> None:
    import shtab

    code, out, err = run(capsys, "completion", shell)
    if shell not in shtab.SUPPORTED_SHELLS:  # an older shtab (Python 3.8): one clear line
        assert code == 5 and "needs a newer shtab" in err and len(err.splitlines()) == 1
        pytest.skip(f"shtab {shtab.__version__} writes no {shell} script")
    assert code == 0 and err == ""
    for word in ("contact", "provider", "ops", "submit", "--tenant", "--as"):
        assert word in out, (shell, word)
    found = shutil.which(shell)
    if found is None:
        pytest.skip(f"{shell} is not installed: the script's syntax is not checked")
    script = tmp_path / f"siteupdates.{shell}"
    script.write_text(out, encoding="utf-8")
    checked = subprocess.run([found, "-n", str(script)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
