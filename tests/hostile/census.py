"""A census of hostile input: how every invocation, setup file and API call ends.

Run from the repository root::

    python -m tests.hostile.census            # all three parts
    python -m tests.hostile.census cli setup  # some of them
    python -m tests.hostile.census --show     # also print every bad case

Deterministic (no randomness): the same corpus on every run, so figures before
and after a change compare. Each case is classified:

* ``traceback``: an exception other than SystemExit left ``siteupdates.cli.main``
  (the real command prints a traceback and exits 1), or the Python API raised
  something that is not a ``SiteUpdatesError``;
* ``bad-exit``: the exit status is outside the documented set 0-5, or an error
  was not exactly one line on standard error;
* ``partial-write``: the command or call failed but the store changed;
* ``accepted``: malformed input was taken (a setup file, a wrongly typed call);
* ``poisoned``: after the call, a view (list, show, queue, overview, JSON) of
  some tenant failed with something other than a ``SiteUpdatesError``.

The property-based tests in ``tests/hostile`` check the same things on
generated input; this script is the fixed census quoted in the changelog.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import shutil
import sqlite3
import sys
import tempfile
import traceback
from collections import Counter
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parents[2]
SETUP = ROOT / "examples" / "district.toml"
NOW = "2015-02-02T10:39:00Z"
DOCUMENTED = {0, 1, 2, 3, 4, 5}
UTC = timezone.utc

# -- hostile values ---------------------------------------------------------------------

BAD_UTF8 = b"caf\xe9-\xff\xfe".decode("utf-8", "surrogateescape")  # what argv holds
TEXT = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "two\nlines",
    "cr\rlf",
    "\x1b[2J",
    "\t",
    BAD_UTF8,
    "\u202egnp.exe",
    "x" * 5000,
    "-",
    "'; DROP TABLE requests; --",
    "%s%n{}",
    "../../etc/passwd",
    "\U0001f642",
]
NUMBERS = [
    "-1",
    "0",
    "1e26",
    "100000000000000000000000000",
    "nan",
    "inf",
    "-inf",
    "1.5",
    "9223372036854775808",
    "-9223372036854775809",
    "0x10",
    " 7 ",
]
DATES = [
    "0001-01-01 00:00",
    "9999-12-31 23:59",
    "0999-01-01 00:00",
    "1000-01-01 00:00",
    "2015-02-30 10:00",
    "2015-03-08 02:30",
    "2015-13-01 00:00",
    "1969-12-31 23:59",
    "10000-01-01 00:00",
    "2015-02-14",
    "2015-02-14T01:00:00+05:00",
    "2011-12-30 12:00",
]
INSTANTS = [
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "0999-01-01T00:00:00Z",
    "2015-02-02T10:39:00",
    "2015-02-02T10:39:00+24:00",
    "nan",
    "9999-12-31T23:59:59-12:00",
    "0001-01-01T00:00:00+14:00",
]
WEEKS = ["0001-01-01", "9999-12-31", "0999-01-04", "2015-02-30", "x", "10000-01-01"]
URLS = [
    "foo://x",
    "sqlite://",
    "sqlite:///",
    "sqlite://host/x.db",
    "postgresql://[::1",
    "sqlite:///x.db?synchronous=OFF",
    "\x00",
    BAD_UTF8,
    "memory://",
    "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1",
]
PLUGINS = [
    ":",
    "nonexistent_module_xyz",
    "json:nope",
    "json",
    "json:loads",
    "siteupdates.errors:SiteUpdatesError",
    "..",
    "a:b:c",
    "",
    BAD_UTF8,
    "\x00",
]
SMTP = [
    "smtp://[::1",
    "smtp://",
    "http://x",
    "smtp://host:99999",
    "smtp://host:-1",
    "smtp://h?from=not-an-address",
    "smtps://h:port",
    BAD_UTF8,
    "smtp://h?timeout=nan",
]
SETS = [
    "x",
    "a.b",
    ".=",
    "smtp.timeout=nan",
    "smtp.port=99999999999999999999",
    "smtp.url=smtp://[::1",
    "smtp.url=",
    BAD_UTF8 + ".k=v",
]


def _by_kind() -> Dict[str, List[str]]:
    return {
        "text": TEXT,
        "num": NUMBERS,
        "date": DATES + TEXT[:4],
        "instant": INSTANTS,
        "week": WEEKS + TEXT[:3],
        "id": [*TEXT, "d41d8cd98f00", "0000"],
    }


# -- running the command line in this process ----------------------------------------


class Outcome:
    """How one run of the command line ended."""

    def __init__(self, code: Optional[int], out: str, err: str, tb: Optional[str]) -> None:
        self.code, self.out, self.err, self.tb = code, out, err, tb

    def problems(self) -> List[str]:
        found = []
        if self.tb is not None:
            found.append("traceback")
        elif self.code not in DOCUMENTED or (
            self.code != 0 and len(self.err.strip().splitlines()) != 1
        ):
            found.append("bad-exit")
        if "Traceback" in self.err:
            found.append("traceback")
        return sorted(set(found))


@contextlib.contextmanager
def _captured() -> Iterator[Tuple[io.BytesIO, io.BytesIO]]:
    # What a real process has: strict UTF-8 on stdout, backslashreplace on stderr.
    out_b, err_b = io.BytesIO(), io.BytesIO()
    out = io.TextIOWrapper(out_b, encoding="utf-8", errors="strict", write_through=True)
    err = io.TextIOWrapper(err_b, encoding="utf-8", errors="backslashreplace", write_through=True)
    saved = sys.stdout, sys.stderr, sys.stdin
    sys.stdout, sys.stderr, sys.stdin = out, err, io.StringIO("")
    try:
        yield out_b, err_b
    finally:
        sys.stdout, sys.stderr, sys.stdin = saved
        out.detach()
        err.detach()


def run_cli(argv: Sequence[str], env: Optional[Dict[str, str]] = None) -> Outcome:
    """Run ``siteupdates.cli.main(argv)`` as a process would, and say how it ended."""
    from siteupdates.cli import main

    saved_env = dict(os.environ)
    for k in ("SITEUPDATES_URL", "SITEUPDATES_NOW", "SITEUPDATES_SMTP_URL"):
        os.environ.pop(k, None)
    os.environ.update(env or {})
    tb: Optional[str] = None
    code: Optional[int] = None
    with _captured() as (out_b, err_b):
        texts = out_b, err_b
        try:
            code = main(list(argv))
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        except BaseException:
            tb = traceback.format_exc()
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            except Exception:  # pragma: no cover - nothing to add
                pass
    os.environ.clear()
    os.environ.update(saved_env)
    out_text, err_text = (b.getvalue().decode("utf-8", "replace") for b in texts)
    return Outcome(code, out_text, err_text, tb)


def dump(db: Path) -> List[str]:
    """The content of a SQLite file, as SQL (empty when there is none)."""
    if not db.exists() or db.stat().st_size == 0:
        return []
    try:
        con = sqlite3.connect(str(db))
        try:
            return list(con.iterdump())
        finally:
            con.close()
    except sqlite3.DatabaseError:
        return ["<not sqlite>"]


# -- the command-line corpus ----------------------------------------------------------

Slot = Tuple[str, str]  # ("?", kind): a value to replace


def slot(kind: str) -> Slot:
    return ("?", kind)


def _bases(rid: str) -> List[List[Any]]:
    """One valid invocation per command; ``slot(kind)`` marks what the census replaces."""
    sub = [
        "submit",
        "--as",
        slot("id"),
        "--tenant",
        slot("id"),
        "--target",
        slot("text"),
        "--version",
        slot("text"),
        "--at",
        slot("date"),
        "--zone",
        slot("text"),
        "--key",
        slot("text"),
    ]
    return [
        ["tenants", "--as", slot("id")],
        sub,
        [
            "list",
            "--as",
            slot("id"),
            "--tenant",
            "maple",
            "--offset",
            slot("num"),
            "--limit",
            slot("num"),
        ],
        ["overview", "--as", "dana", "--tenant", slot("id")],
        ["cancel", "--as", "dana", slot("id")],
        ["delete", "--as", "dana", slot("id")],
        ["answer", "--as", "dana", rid, slot("text")],
        ["queue", "--limit", slot("num")],
        ["show", slot("id")],
        ["schedule", "--horizon-days", slot("num"), "--by", slot("text"), "--dry-run"],
        ["schedule", rid, "--at", slot("date"), "--zone", slot("text"), "--reason", slot("text")],
        ["reschedule", rid, "--at", slot("date"), "--reason", slot("text")],
        ["pull", slot("id"), "--by", slot("text")],
        ["start", slot("id")],
        ["complete", slot("id")],
        ["ask", rid, slot("text")],
        ["answered", rid, slot("text")],
        ["defer", rid, slot("text")],
        ["resume", slot("id")],
        ["fail", rid, slot("text")],
        ["explain", rid, "--horizon-days", slot("num")],
        [
            "group-update",
            slot("id"),
            "--target",
            "staging",
            "--version",
            slot("text"),
            "--at",
            slot("date"),
            "--horizon-days",
            slot("num"),
        ],
        ["cloud-week", "--week-of", slot("week"), "--by", slot("text")],
        [
            "worker",
            "--id",
            slot("text"),
            "--lease",
            slot("num"),
            "--max-attempts",
            slot("num"),
            "--batch",
            slot("num"),
            "--poll",
            slot("num"),
            "--until-idle",
        ],
        [
            "deliver",
            "--max-attempts",
            slot("num"),
            "--timeout",
            slot("num"),
            "--base-delay",
            slot("num"),
        ],
        ["outbox", "--request", slot("id")],
        ["init", slot("text")],
    ]


_DEFAULTS = {
    "id": "dana",
    "text": "staging",
    "date": "2015-02-14 01:00",
    "num": "1",
    "week": "2015-02-08",
    "instant": NOW,
}
_POSITIONAL_DEFAULTS = {
    ("submit", 2): "dana",
    ("submit", 4): "maple",
    ("submit", 6): "staging",
    ("submit", 8): "E.1505.2",
    ("submit", 12): "America/Chicago",
    ("submit", 14): "k1",
    ("group-update", 1): "state-mn",
    ("init", 1): str(SETUP),
}


def generated_commands() -> List[Tuple[str, Any]]:
    """(group, use case) of every command the declarations give the command line."""
    from siteupdates.cli.generated import GROUPS, use_cases

    return [(group, uc) for group in GROUPS for uc in use_cases(group)]


def slot_of(metavar: str) -> str:
    """The hostile-value kind (``BY_KIND`` key) of a generated argument, by its metavar."""
    return {"TIME": "date", "INSTANT": "instant", "YYYY-MM-DD": "week", "N": "num",
            "SECONDS": "num", "HOURS": "num", "TOKEN": "num"}.get(metavar, "text")  # fmt: skip


def plausible(param: Any, rid: str) -> str:
    """A value of ``param`` that the use case could accept, on the template store."""
    if param.kind.choices:
        return str(param.kind.choices[0])
    if param.name in ("request_id", "run_id", "newer_id", "prefix"):
        return rid
    by_name = {"tenant_id": "maple", "group_id": "state-mn", "contact_id": "dana",
               "target": "staging", "version": "E.1505.2", "setup": str(SETUP),
               "rules": "R10", "fencing_token": "1", "zone": "America/Chicago",
               "statuses": "to-be-scheduled"}  # fmt: skip
    if param.name in by_name:
        return by_name[param.name]
    return {"TIME": "2015-02-14 01:00", "INSTANT": NOW, "YYYY-MM-DD": "2015-02-09", "N": "1",
            "SECONDS": "60", "HOURS": "24"}.get(param.kind.metavar, "staging")  # fmt: skip


def generated_corpus(rid: str) -> List[Tuple[str, List[str], Dict[str, str]]]:
    """Each generated command, each value slot hostile in turn (every argument given)."""
    cases: List[Tuple[str, List[str], Dict[str, str]]] = []
    kinds = _by_kind()
    for group, uc in generated_commands():
        base: List[Any] = [group, uc.command_name]
        if group == "contact":
            base += ["--as", ("dana", "id")]
        for p in uc.params:
            if p.kind.python_only:
                continue
            if p.kind.switch:
                base.append(p.option)
                continue
            slot = (plausible(p, rid), slot_of(p.kind.metavar))
            base += [slot] if p.option == "" else [p.option, slot]
        for i, part in enumerate(base):
            if not isinstance(part, tuple):
                continue
            for value in kinds[part[1]]:
                argv = [x if not isinstance(x, tuple) else x[0] for x in base]
                argv[i] = value
                cases.append((f"{group} {uc.command_name} slot{i}", argv, {}))
    return cases


def cli_corpus(rid: str) -> List[Tuple[str, List[str], Dict[str, str]]]:
    """(label, argv after the global options, env) for every hostile invocation."""
    cases: List[Tuple[str, List[str], Dict[str, str]]] = []
    kinds = _by_kind()
    for base in _bases(rid):
        name = base[0]
        slots = [i for i, p in enumerate(base) if isinstance(p, tuple)]

        def filled(base: List[Any] = base, name: str = name) -> List[str]:
            return [
                p
                if not isinstance(p, tuple)
                else _POSITIONAL_DEFAULTS.get((name, i), _DEFAULTS[p[1]])
                if not (
                    name
                    in (
                        "cancel",
                        "delete",
                        "show",
                        "pull",
                        "start",
                        "complete",
                        "resume",
                        "outbox",
                    )
                    and p[1] == "id"
                )
                else rid
                for i, p in enumerate(base)
            ]

        for i in slots:
            for value in kinds[base[i][1]]:
                argv = filled()
                argv[i] = value
                cases.append((f"{name} slot{i}", argv, {}))
    globals_ = {
        "--url": URLS,
        "--plugin": PLUGINS,
        "--smtp": SMTP,
        "--set": SETS,
        "--now": INSTANTS,
    }
    for option, values in globals_.items():
        for value in values:
            for cmd in (
                ["queue"],
                ["deliver"],
                [
                    "submit",
                    "--as",
                    "dana",
                    "--target",
                    "staging",
                    "--version",
                    "E.1505.2",
                    "--at",
                    "2015-02-14 01:00",
                ],
            ):
                cases.append((f"global {option}", [option, value, *cmd], {}))
    for env_name, values in (("SITEUPDATES_NOW", INSTANTS), ("SITEUPDATES_URL", URLS)):
        for value in values:
            if "\x00" in value:
                continue  # an environment cannot hold NUL
            cases.append((f"env {env_name}", ["queue"], {env_name: value}))
    # Dates that reach the store and every later view (the issue's poisoning case).
    for value in ("0999-01-01 00:00", "0001-01-02 00:00", "9999-12-30 00:00"):
        cases.append(
            ("poison reschedule", ["reschedule", rid, "--at", value, "--reason", "x"], {})
        )
    for value in ("0999-01-04", "0001-01-08"):
        cases.append(("poison cloud-week", ["cloud-week", "--week-of", value], {}))
    cases += generated_corpus(rid)
    for args in (
        ["--"],
        ["--json"],
        [],
        ["--db"],
        ["nosuchcommand"],
        ["submit"],
        ["-h" * 3],
        [BAD_UTF8],
        ["\x00"],
        ["list", "--as"],
        ["worker", "--lease", "nan"],
        ["worker", "--batch", "-1", "--until-idle"],
    ):
        cases.append(("garbage", list(args), {}))
    return cases


def _db_files(tmp: Path) -> List[Tuple[str, Path]]:
    files = []
    text = tmp / "notes.txt"
    text.write_text("just some text\n" * 20)
    files.append(("text file", text))
    noise = tmp / "noise.bin"
    noise.write_bytes(bytes(range(256)) * 64)
    files.append(("random bytes", noise))
    header = tmp / "header.db"
    header.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    files.append(("broken sqlite header", header))
    files.append(("a directory", tmp))
    files.append(("missing folder", tmp / "no" / "such" / "dir.db"))
    other = tmp / "other.db"
    con = sqlite3.connect(str(other))
    con.execute("CREATE TABLE requests (x)")
    con.commit()
    con.close()
    files.append(("another program's SQLite", other))
    return files


def census_cli(show: bool = False) -> Counter[str]:
    """Run every hostile invocation on a fresh copy of a set-up store."""
    totals: Counter[str] = Counter()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        template = tmp / "template.db"
        base = ["--db", str(template), "--now", NOW]
        assert run_cli([*base, "init", str(SETUP)]).code == 0
        made = run_cli(
            [
                *base,
                "--json",
                "submit",
                "--as",
                "dana",
                "--target",
                "staging",
                "--version",
                "E.1505.2",
                "--at",
                "2015-02-14 01:00",
            ]
        )
        rid = json.loads(made.out)["id"]
        cases = cli_corpus(rid)
        (tmp / "files").mkdir()
        for label, path in _db_files(tmp / "files"):
            for cmd in (["queue"], ["init", str(SETUP)]):
                cases.append((f"--db {label}", ["--db", str(path), *cmd], {}))
        work = tmp / "work.db"
        for label, argv, env in cases:
            shutil.copy(template, work)
            before = dump(work)
            if argv[:1] == ["--db"] or "SITEUPDATES_URL" in env:
                full = list(argv)
            elif argv[:1] == ["--now"] or "SITEUPDATES_NOW" in env:
                full = ["--db", str(work), *argv]
            else:
                full = ["--db", str(work), "--now", NOW, *argv]
            o = run_cli(full, env)
            problems = o.problems()
            if o.code not in (0, None) and o.tb is None and dump(work) != before:
                problems.append("partial-write")
            if o.code == 0:
                # A write that succeeded must leave every view readable.
                for view in (
                    ["--json", "list", "--as", "dana"],
                    ["--json", "queue"],
                    ["overview", "--as", "dana"],
                    ["show", rid],
                ):
                    v = run_cli(["--db", str(work), "--now", NOW, *view])
                    if v.tb is not None or "Traceback" in v.err or v.code not in DOCUMENTED:
                        problems.append("poisoned")
                        break
            totals["cases"] += 1
            for p in problems:
                totals[p] += 1
                if show:
                    why = (o.tb or o.err).strip().splitlines()[-1:] if p != "poisoned" else []
                    print(f"  {p}: {label}: {_short(full)} -> {o.code} {why}")
    return totals


def _short(argv: Sequence[str]) -> str:
    return " ".join(repr(a) if len(a) < 40 else repr(a[:37] + "...") for a in argv)


# -- the setup-file corpus ----------------------------------------------------------


def _load_example() -> Dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    return tomllib.loads(SETUP.read_text(encoding="utf-8"))


def _deep(n: int) -> str:
    return "x = " + "[" * n + "]" * n + "\n"


def setup_corpus() -> List[Tuple[str, Any, bool]]:
    """(label, TOML text or bytes or a mutator of the example's tables, malformed?)."""

    def mut(fn: Callable[[Dict[str, Any]], None]) -> Callable[[Dict[str, Any]], None]:
        return fn

    def at(path: str, value: Any) -> Callable[[Dict[str, Any]], None]:
        def fn(d: Dict[str, Any]) -> None:
            parts = path.split(".")
            node: Any = d
            for p in parts[:-1]:
                node = node[int(p)] if isinstance(node, list) else node.setdefault(p, {})
            last = parts[-1]
            if isinstance(node, list):
                node[int(last)] = value
            else:
                node[last] = value

        return fn

    def drop(path: str) -> Callable[[Dict[str, Any]], None]:
        def fn(d: Dict[str, Any]) -> None:
            parts = path.split(".")
            node: Any = d
            for p in parts[:-1]:
                node = node[int(p)] if isinstance(node, list) else node[p]
            del node[parts[-1]]

        return fn

    example = SETUP.read_text(encoding="utf-8")
    cases: List[Tuple[str, Any, bool]] = [
        ("bad UTF-8", example.encode() + b"\n# caf\xe9\n", True),
        ("not TOML", "this is = = not toml", True),
        ("nesting 5000 deep", _deep(5000), True),
        ("nesting 200 deep", _deep(200), True),
        ("empty file", "", False),
        ("NUL byte", example + "\n# \x00\n", True),
        ("huge comment", example + "#" + "x" * 1_000_000 + "\n", False),
    ]
    t0, c0, w0 = "tenants.0", "contacts.0", "provider.windows.0"
    muts: List[Tuple[str, Callable[[Dict[str, Any]], None]]] = [
        ("tenants = 5 in a contact", at(f"{c0}.tenants", 5)),
        ("contact tenants as one string", at(f"{c0}.tenants", "maple")),
        ("contact tenants unknown", at(f"{c0}.tenants", ["nope"])),
        ("group = [g]", at(f"{t0}.group", ["g"])),
        ("group = 5", at(f"{t0}.group", 5)),
        ("windows = 5", at("provider.windows", 5)),
        ("windows = []", at("provider.windows", [])),
        ("window day funday", at(f"{w0}.day", "funday")),
        ("window without end", drop(f"{w0}.end")),
        ("window end 25:00", at(f"{w0}.end", "25:00")),
        ("window zone 5", at(f"{w0}.zone", 5)),
        ("window unknown key", at(f"{w0}.dya", "sunday")),
        ("plans = 5", at("provider.plans", 5)),
        ("plan gold", at("provider.plans.gold", {})),
        ("plan rule as string", at("provider.plans.cloud.automatic_weekly_update", "yes")),
        ("plan rule unknown", at("provider.plans.cloud.automatic", True)),
        ("plan rules = 5", at("provider.plans.cloud", 5)),
        ("duplicate tenant id", mut(lambda d: d["tenants"].append(dict(d["tenants"][0])))),
        ("duplicate contact id", mut(lambda d: d["contacts"].append(dict(d["contacts"][0])))),
        ("duplicate group id", mut(lambda d: d["groups"].append(dict(d["groups"][0])))),
        ("since in year 1", at(f"{t0}.sites.0.since", "0001-01-01 00:00")),
        ("since in year 9999", at(f"{t0}.sites.0.since", "9999-12-31 23:00")),
        ("since yesterday", at(f"{t0}.sites.0.since", "yesterday")),
        ("since = 5", at(f"{t0}.sites.0.since", 5)),
        ("since a date", at(f"{t0}.sites.0.since", date(2015, 1, 10))),
        ("since year 999 offset", at(f"{t0}.sites.0.since", datetime(999, 1, 1, tzinfo=UTC))),
        ("refreshed_at = x", at(f"{t0}.sites.1.refreshed_at", "x")),
        ("automatic = yes", at(f"{t0}.sites.0.automatic", "yes")),
        ("site kind 5", at(f"{t0}.sites.0.kind", 5)),
        ("site kind live", at(f"{t0}.sites.0.kind", "live")),
        ("site version 1450", at(f"{t0}.sites.0.version", 1450)),
        ("site unknown key", at(f"{t0}.sites.0.verison", "E.1450.4")),
        ("sites = 5", at(f"{t0}.sites", 5)),
        ("sites = [5]", at(f"{t0}.sites", [5])),
        (
            "two production sites",
            mut(lambda d: d["tenants"][0]["sites"].append(dict(d["tenants"][0]["sites"][0]))),
        ),
        ("update_duration huge", at("provider.update_duration_minutes", 10**18)),
        ("update_duration 0", at("provider.update_duration_minutes", 0)),
        ("update_duration -5", at("provider.update_duration_minutes", -5)),
        ("update_duration 1.5", at("provider.update_duration_minutes", 1.5)),
        ("update_duration '120'", at("provider.update_duration_minutes", "120")),
        ("update_duration true", at("provider.update_duration_minutes", True)),
        ("update_duration nan", at("provider.update_duration_minutes", math.nan)),
        ("capacity '4'", at("provider.capacity", "4")),
        ("capacity 0", at("provider.capacity", 0)),
        ("capacity huge", at("provider.capacity", 10**18)),
        ("capacity true", at("provider.capacity", True)),
        ("capcity typo", at("provider.capcity", 4)),
        ("grup typo", at(f"{t0}.grup", "state-mn")),
        ("blackouts table", at("blackouts", {"from": "2015-12-24", "to": "2015-12-26"})),
        ("top-level unknown", at("tenant", [])),
        ("provider = 5", at("provider", 5)),
        ("provider name 5", at("provider.name", 5)),
        ("default_zone 5", at("provider.default_zone", 5)),
        ("default_zone Nowhere", at("provider.default_zone", "Nowhere/Land")),
        ("email with comma", at(f"{c0}.email", "dana@maple.example, eve@evil.example")),
        ("email as list", at(f"{c0}.email", ["dana@maple.example", "eve@evil.example"])),
        ("email CRLF header", at(f"{c0}.email", "dana@maple.example\r\nBcc: eve@evil.example")),
        ("email empty", at(f"{c0}.email", "")),
        ("email no at", at(f"{c0}.email", "dana")),
        ("email missing", drop(f"{c0}.email")),
        ("contact id with NUL", at(f"{c0}.id", "da\x00na")),
        ("contact id empty", at(f"{c0}.id", "")),
        ("contact id 5", at(f"{c0}.id", 5)),
        ("contact name with newline", at(f"{c0}.name", "Dana\nReyes")),
        ("contact role king", at(f"{c0}.role", "king")),
        ("contact zone Mars", at(f"{c0}.zone", "Mars/Base")),
        ("district with two tenants", at(f"{c0}.tenants", ["maple", "birch"])),
        ("tenant id with ESC", at(f"{t0}.id", "map\x1ble")),
        ("tenant id empty", at(f"{t0}.id", "")),
        ("tenant id 5", at(f"{t0}.id", 5)),
        ("tenant id huge", at(f"{t0}.id", "m" * 10_000)),
        ("tenant plan gold", at(f"{t0}.plan", "gold")),
        ("tenant missing plan", drop(f"{t0}.plan")),
        ("tasks = 5", at(f"{t0}.tasks", 5)),
        ("task at 25:00", at(f"{t0}.tasks.0.at", "25:00")),
        ("task minutes -1", at(f"{t0}.tasks.0.minutes", -1)),
        ("task minutes huge", at(f"{t0}.tasks.0.minutes", 10**18)),
        ("task weekday 9", at(f"{t0}.tasks.0.weekday", 9)),
        ("task weekday funday", at(f"{t0}.tasks.0.weekday", "funday")),
        ("task unknown key", at(f"{t0}.tasks.0.minuets", 45)),
        ("catalog = 'E.1'", at("catalog", "E.1")),
        ("catalog = [1]", at("catalog", [1])),
        ("catalog malformed", at("catalog", ["E.1"])),
        ("groups = {}", at("groups", {})),
        ("group kind 5", at("groups.0.kind", 5)),
        ("group unknown key", at("groups.0.kinds", "state")),
        ("plugins = 5", at("plugins", 5)),
        ("plugins.smtp = 5", at("plugins.smtp", 5)),
    ]
    for label, fn in muts:
        cases.append((label, fn, True))
    return cases


def _toml(value: Any) -> str:
    """A small TOML writer for the census's trees (strings, numbers, lists, tables)."""
    lines: List[str] = []

    def scalar(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float) and math.isnan(v):
            return "nan"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, datetime):
            return v.isoformat().replace("+00:00", "Z")
        if isinstance(v, date):
            return v.isoformat()
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(scalar(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{json.dumps(k)} = {scalar(x)}" for k, x in v.items()) + "}"
        raise TypeError(v)

    for k, v in value.items():
        lines.append(f"{json.dumps(k)} = {scalar(v)}")
    return "\n".join(lines) + "\n"


def census_setup(show: bool = False) -> Counter[str]:
    """Load every malformed setup through ``init`` on an empty store, and on a set-up one."""
    import copy

    totals: Counter[str] = Counter()
    example = _load_example()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        template = tmp / "template.db"
        assert run_cli(["--db", str(template), "--now", NOW, "init", str(SETUP)]).code == 0
        for label, case, malformed in setup_corpus():
            f = tmp / "setup.toml"
            if callable(case):
                tree = copy.deepcopy(example)
                case(tree)
                f.write_text(_toml(tree), encoding="utf-8", errors="surrogateescape")
            elif isinstance(case, bytes):
                f.write_bytes(case)
            else:
                f.write_text(case, encoding="utf-8")
            for store in ("empty", "set-up"):
                db = tmp / f"{store}.db"
                if db.exists():
                    db.unlink()
                if store == "set-up":
                    shutil.copy(template, db)
                before = dump(db)
                o = run_cli(["--db", str(db), "--now", NOW, "init", str(f)])
                problems = o.problems()
                if o.code == 0 and malformed:
                    problems.append("accepted")
                if o.code not in (0, None) and dump(db) not in (before, []) and store == "set-up":
                    problems.append("partial-write")
                if store == "empty" and o.code not in (0, None):
                    rows = [x for x in dump(db) if x.startswith('INSERT INTO "tenants"')]
                    if rows:
                        problems.append("partial-write")
                totals["cases"] += 1
                for p in problems:
                    totals[p] += 1
                    if show:
                        why = (o.tb or o.err or o.out).strip().splitlines()[-1:]
                        print(f"  {p}: setup {label} ({store}) -> {o.code} {why}")
    return totals


# -- the Python API corpus ----------------------------------------------------------

WRONG: List[Any] = [
    None,
    0,
    -1,
    1.5,
    math.nan,
    10**30,
    True,
    b"bytes",
    "",
    "\x00",
    "two\nlines",
    [],
    {},
    object(),
    datetime(2015, 2, 14, 1),
    datetime(2015, 2, 14, 7, tzinfo=UTC),
    date(2015, 2, 8),
    "2015-02-14 01:00",
]


def _api_calls(rid: str) -> List[Tuple[str, Dict[str, Any]]]:
    """Every public Desk method with valid arguments (by name)."""
    from siteupdates.domain import RequestDraft

    at = datetime(2015, 2, 14, 1)
    when = datetime(2015, 2, 14, 10, tzinfo=UTC)
    draft = RequestDraft("d1", "staging", "E.1505.2", False, at, None)
    return [
        ("tenants_of", {"contact_id": "dana"}),
        ("evaluate", {"contact_id": "dana", "draft": draft}),
        (
            "submit",
            {
                "contact_id": "dana",
                "tenant_id": "d1",
                "target": "staging",
                "version": "E.1505.2",
                "db_refresh": False,
                "at": at,
                "zone": None,
                "ambiguity": "earlier",
                "idempotency_key": "k",
            },
        ),
        ("cancel", {"contact_id": "dana", "request_id": rid}),
        ("delete", {"contact_id": "dana", "request_id": rid}),
        ("answer", {"contact_id": "dana", "request_id": rid, "text": "yes"}),
        (
            "requests",
            {
                "contact_id": "dana",
                "tenant_id": "d1",
                "hide_complete": False,
                "offset": 0,
                "limit": 50,
            },
        ),
        ("request", {"contact_id": "dana", "request_id": rid}),
        ("overview", {"contact_id": "dana", "tenant_id": "d1"}),
        ("queue", {"limit": 10}),
        ("find", {"request_id": rid}),
        ("resolve_id", {"prefix": rid[:8]}),
        ("tenant", {"tenant_id": "d1"}),
        ("history", {"request_id": rid}),
        ("schedule", {"request_id": rid, "when": when, "by": "p", "reason": "r"}),
        ("reschedule", {"request_id": rid, "when": when, "reason": "r", "by": "p"}),
        ("pull", {"request_id": rid, "by": "p"}),
        ("start", {"request_id": rid, "by": "p"}),
        ("complete", {"request_id": rid, "by": "p"}),
        ("ask_input", {"request_id": rid, "question": "q", "by": "p"}),
        ("mark_answered", {"request_id": rid, "note": "n", "by": "p"}),
        ("defer", {"request_id": rid, "reason": "r", "by": "p"}),
        ("resume", {"request_id": rid, "by": "p"}),
        ("fail", {"request_id": rid, "reason": "r", "by": "p"}),
        ("supersede", {"request_id": rid, "newer_id": rid, "by": "p"}),
        ("plan_queue", {"horizon": when, "dry_run": False, "by": "p"}),
        ("explain", {"request_id": rid, "horizon": when}),
        (
            "group_update",
            {
                "group_id": "state-x",
                "target": "staging",
                "version": "E.1505.2",
                "earliest": when,
                "horizon": None,
                "by": "p",
            },
        ),
        ("cloud_week", {"week_of": date(2015, 2, 8), "by": "p"}),
        ("load_setup", {"setup": {"catalog": ["E.1505.2"]}}),
        ("deliver", {"max_attempts": 3}),
    ]


def _views_break(desk: Any) -> Optional[str]:
    """A non-SiteUpdatesError from any view, or None."""
    from siteupdates.cli.render import history_json, request_json
    from siteupdates.errors import SiteUpdatesError

    try:
        for c in desk.storage.contacts():
            for t in c.tenants:
                try:
                    page = desk.requests(c.id, t, limit=1000)
                    json.dumps([request_json(r, c.zone or "UTC") for r in page.items])
                    desk.overview(c.id, t).render()
                except SiteUpdatesError:
                    pass
        ids = [r.id for r in desk.queue(limit=1000)]
        for t in desk.storage.tenants():
            ids += [r.id for r in desk.storage.requests_for(t.id, limit=1000).items]
        for i in ids:
            zone = desk.preset.default_zone
            json.dumps(request_json(desk.find(i), zone))
            json.dumps([history_json(h, zone) for h in desk.history(i)])
        desk.storage.outbox()
    except SiteUpdatesError:
        return None
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def census_api(show: bool = False) -> Counter[str]:
    """Call every public Desk method with each argument replaced by a wrongly typed value."""
    from siteupdates.errors import SiteUpdatesError
    from siteupdates.plugins import PluginHost
    from siteupdates.service import Desk
    from siteupdates.testing import FixedClock, sample_setup

    totals: Counter[str] = Counter()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        template = tmp / "template.db"
        clock = FixedClock(datetime(2015, 2, 2, 10, 39, tzinfo=UTC))
        desk = Desk.open(f"sqlite:///{template}", host=PluginHost(entry_points=False), clock=clock)
        desk.load_setup(sample_setup())
        rid = desk.submit(
            "dana", "d1", "staging", "E.1505.2", at=datetime(2015, 2, 14, 1)
        ).request.id
        desk.close()
        work = tmp / "work.db"
        for method, kwargs in _api_calls(rid):
            for name in kwargs:
                for value in WRONG:
                    if _same(value, kwargs[name]):
                        continue
                    shutil.copy(template, work)
                    before = dump(work)
                    desk = Desk.open(
                        f"sqlite:///{work}", host=PluginHost(entry_points=False), clock=clock
                    )
                    args = {**kwargs, name: value}
                    problems = []
                    try:
                        with _quiet():
                            getattr(desk, method)(**args)
                    except SiteUpdatesError:
                        if dump(work) != before:
                            problems.append("partial-write")
                    except Exception as exc:
                        problems.append("traceback")
                        why = f"{type(exc).__name__}: {exc}"
                    else:
                        if not _acceptable(name, value) and dump(work) != before:
                            problems.append("accepted")
                        why = "stored"
                    broke = _views_break(desk)
                    if broke:
                        problems.append("poisoned")
                    desk.close()
                    totals["cases"] += 1
                    for p in problems:
                        totals[p] += 1
                        if show:
                            detail = broke if p == "poisoned" else why
                            print(f"  {p}: {method}({name}={value!r:.40}) -> {detail:.120}")
    return totals


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def _acceptable(name: str, value: Any) -> bool:
    """Wrong values that are nevertheless right for this parameter."""
    if name in ("zone", "horizon", "reason", "idempotency_key") and value is None:
        return True
    if name in ("db_refresh", "hide_complete", "dry_run") and isinstance(value, bool):
        return True
    if name in ("offset", "limit", "max_attempts") and type(value) is int and 0 <= value <= 1000:
        return True
    if name == "version" and value is None:
        return True
    if name in ("by", "reason", "question", "text", "note") and isinstance(value, str):
        return bool(value.strip()) and "\n" not in value and "\x00" not in value
    if name in ("when", "earliest", "horizon") and isinstance(value, datetime):
        return value.tzinfo is not None
    return name == "setup" and isinstance(value, dict)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield


def main(argv: Sequence[str]) -> int:
    parts = [a for a in argv if not a.startswith("-")] or ["cli", "setup", "api"]
    show = "--show" in argv
    report = {}
    for part in parts:
        fn = {"cli": census_cli, "setup": census_setup, "api": census_api}[part]
        totals = fn(show)
        report[part] = dict(totals)
        bad = {k: v for k, v in totals.items() if k != "cases"}
        print(
            f"{part}: {totals['cases']} cases; "
            + (", ".join(f"{v} {k}" for k, v in sorted(bad.items())) or "no problems")
        )
    if "--json" in argv:
        print(json.dumps(report, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
