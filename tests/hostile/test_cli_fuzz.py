"""Hostile command lines: never a traceback, one line on error, a documented status, no write.

Hypothesis fills every value slot of every command (``census._bases`` for the
0.2 names; for the actor groups, every command the use-case declarations give
the command line, enumerated by ``census.generated_commands``) and every global
option with hostile text, numbers and dates, runs
``siteupdates.cli.main`` in this process as a real process would (strict UTF-8
on stdout), and a sample again through a real subprocess.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, List, Tuple

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from siteupdates import checks
from siteupdates.cli import EXIT
from tests.hostile import census
from tests.hostile.strategies import BY_KIND, hostile_instant, hostile_text

DOCUMENTED = {0, 1, 2, 3, 4, 5}
ROOT = Path(__file__).resolve().parents[2]


@st.composite
def invocations(draw: Any, rid: str) -> List[str]:
    """A command with one or more of its value slots hostile, maybe hostile globals too."""
    bases = census._bases(rid)
    base = draw(st.sampled_from(bases))
    argv: List[str] = []
    for i, part in enumerate(base):
        if isinstance(part, tuple):
            default = census._POSITIONAL_DEFAULTS.get((base[0], i), census._DEFAULTS[part[1]])
            argv.append(draw(st.one_of(st.just(default), BY_KIND[part[1]])))
        else:
            argv.append(part)
    if base[0] == "worker" and "--until-idle" not in argv:
        argv.append("--until-idle")
    head: List[str] = []
    if draw(st.booleans()):
        option = draw(st.sampled_from(["--url", "--plugin", "--smtp", "--set", "--now"]))
        pool = {"--url": census.URLS, "--plugin": census.PLUGINS, "--smtp": census.SMTP,
                "--set": census.SETS}  # fmt: skip
        value = draw(hostile_instant if option == "--now" else st.sampled_from(pool[option]))
        if "127.0.0.1:1" not in value:  # an unreachable server costs a timeout each time
            head = [option, value]
    return head + argv


GENERATED = census.generated_commands()


@st.composite
def generated_invocations(draw: Any, rid: str) -> List[str]:
    """A generated command (``contact submit``, ``ops report``, ...) with hostile values."""
    group, uc = draw(st.sampled_from(GENERATED))
    argv = [group, uc.command_name]
    if group == "contact":
        argv += ["--as", draw(st.one_of(st.just("dana"), hostile_text))]
    for p in uc.params:
        if p.kind.python_only or (not p.required and draw(st.booleans())):
            continue
        if p.kind.switch:
            argv.append(p.option if p.default is not None or draw(st.booleans())
                        else "--no-" + p.option[2:])  # fmt: skip
            continue
        hostile = BY_KIND[census.slot_of(p.kind.metavar)]
        values = [draw(st.one_of(st.just(census.plausible(p, rid)), hostile))
                  for _ in range(draw(st.integers(1, 2)) if p.kind.many else 1)]  # fmt: skip
        for value in values:
            argv += [value] if p.option == "" else [p.option, value]
    if draw(st.booleans()):
        argv.insert(draw(st.integers(0, len(argv))), "--json")
    return argv


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_hostile_generated_command_lines_end_in_one_line_and_a_documented_status(
    cli_template: Tuple[Path, str], data: st.DataObject
) -> None:
    template, rid = cli_template
    argv = data.draw(generated_invocations(rid))
    outcome, unchanged = _run_on_copy(template, argv)
    _assert_clean(outcome, unchanged, argv)
    assert "internal error" not in outcome.err, (argv, outcome.err)


def test_every_generated_command_with_plausible_arguments_ends_cleanly(
    cli_template: Tuple[Path, str],
) -> None:
    """Each generated command once, every argument given a plausible value."""
    template, rid = cli_template
    for group, uc in GENERATED:
        argv = [group, uc.command_name] + (["--as", "dana"] if group == "contact" else [])
        for p in uc.params:
            if p.kind.python_only:
                continue
            if p.kind.switch:
                argv.append(p.option)
                continue
            value = census.plausible(p, rid)
            argv += [value] if p.option == "" else [p.option, value]
        outcome, unchanged = _run_on_copy(template, argv)
        _assert_clean(outcome, unchanged, argv)
        assert "internal error" not in outcome.err, (argv, outcome.err)


def _run_on_copy(template: Path, argv: List[str]) -> Tuple[census.Outcome, bool]:
    with tempfile.TemporaryDirectory() as d:
        db = Path(d) / "work.db"
        shutil.copy(template, db)
        before = census.dump(db)
        now = [] if "--now" in argv else ["--now", census.NOW]
        outcome = census.run_cli(["--db", str(db), *now, *argv])
        unchanged = census.dump(db) == before
    return outcome, unchanged


def _assert_clean(o: census.Outcome, unchanged: bool, argv: List[str]) -> None:
    assert o.tb is None, f"{argv!r} raised:\n{o.tb}"
    assert "Traceback" not in o.err, argv
    assert o.code in DOCUMENTED, (argv, o.code, o.err)
    if o.code != 0:
        assert len(o.err.strip().splitlines()) == 1, (argv, o.err)
        assert unchanged, f"{argv!r} failed with {o.code} but changed the store"


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_hostile_command_lines_end_in_one_line_and_a_documented_status(
    cli_template: Tuple[Path, str], data: st.DataObject
) -> None:
    template, rid = cli_template
    argv = data.draw(invocations(rid))
    outcome, unchanged = _run_on_copy(template, argv)
    _assert_clean(outcome, unchanged, argv)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(option=st.sampled_from(["--as", "--tenant", "--target", "--version", "--zone", "--key"]),
       value=hostile_text)  # fmt: skip
def test_every_text_option_of_submit_refuses_control_characters_or_works(
    cli_template: Tuple[Path, str], option: str, value: str
) -> None:
    template, _ = cli_template
    argv = ["submit", "--as", "dana", "--tenant", "maple", "--target", "staging",
            "--version", "E.1505.2", "--at", "2015-02-14 01:00"]  # fmt: skip
    if option in argv:
        argv[argv.index(option) + 1] = value
    else:
        argv += [option, value]
    outcome, unchanged = _run_on_copy(template, argv)
    _assert_clean(outcome, unchanged, argv)
    if checks.bad_character(value) is not None:
        assert outcome.code == EXIT["usage"], (argv, outcome.err)


def _bytes(arg: str) -> bytes:
    try:
        return os.fsencode(arg)  # undecodable bytes as they came (surrogate escapes)
    except UnicodeEncodeError:
        return arg.encode("utf-8", "surrogatepass")  # lone surrogates: invalid UTF-8 too


def _subprocess(argv: List[str], db: Path) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SITEUPDATES_")}
    code = "import sys; from siteupdates.cli import main; sys.exit(main())"
    args = [sys.executable, "-c", code, "--db", str(db), "--now", census.NOW, *argv]
    # Arguments travel as bytes, so bad UTF-8 reaches the process as it would from a shell.
    raw = [_bytes(a) for a in args]
    return subprocess.run(raw, capture_output=True, timeout=120, env=env, cwd=str(ROOT))


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_a_sample_through_a_real_process(
    cli_template: Tuple[Path, str], data: st.DataObject
) -> None:
    template, rid = cli_template
    argv = [a for a in data.draw(invocations(rid)) if "\x00" not in a]  # argv cannot hold NUL
    with tempfile.TemporaryDirectory() as d:
        db = Path(d) / "work.db"
        shutil.copy(template, db)
        before = census.dump(db)
        done = _subprocess(argv, db)
        unchanged = census.dump(db) == before
    err = done.stderr.decode("utf-8", "replace")
    assert b"Traceback" not in done.stderr, (argv, err)
    assert done.returncode in DOCUMENTED, (argv, done.returncode, err)
    if done.returncode != 0:
        assert len(err.strip().splitlines()) == 1, (argv, err)
        assert unchanged, argv


def test_the_issues_causes_through_a_real_process(cli_template: Tuple[Path, str]) -> None:
    """The seven causes of the issue's 52 tracebacks, each in a process of its own."""
    template, _ = cli_template
    cases = [
        ["tenants", "--as", census.BAD_UTF8],
        ["submit", "--as", "dana", "--target", "staging", "--version", "E.1505.2",
         "--at", "0001-01-01 00:00"],
        ["submit", "--as", "dana", "--target", "staging", "--version", "E.1505.2",
         "--at", "9999-12-31 23:59"],
        ["list", "--as", "dana", "--limit", "100000000000000000000000000"],
        ["schedule", "--horizon-days", "100000000000000000000000000", "--dry-run"],
        ["--plugin", ":", "queue"],
        ["--smtp", "smtp://[::1", "queue"],
        ["worker", "--id", "w", "--lease", "nan", "--until-idle"],
        ["worker", "--id", "w", "--batch", "-1", "--until-idle"],
    ]  # fmt: skip
    with tempfile.TemporaryDirectory() as d:
        for argv in cases:
            db = Path(d) / "work.db"
            shutil.copy(template, db)
            done = _subprocess(argv, db)
            err = done.stderr.decode("utf-8", "replace")
            assert done.returncode in (EXIT["usage"], EXIT["setup"]), (argv, err)
            assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, (argv, err)
        text = Path(d) / "notes.txt"
        text.write_text("not a database\n" * 50)
        code = "import sys; from siteupdates.cli import main; sys.exit(main())"
        done = subprocess.run([sys.executable, "-c", code, "--db", str(text), "queue"],
                              capture_output=True, timeout=120)  # fmt: skip
        assert done.returncode == EXIT["setup"] and b"Traceback" not in done.stderr
        assert text.read_text() == "not a database\n" * 50
