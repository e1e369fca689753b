"""The tutorials and host guides run: every code block of docs/tutorials/*.md and
docs/guides/*.md, in order, in a fresh directory.

How a tutorial is read (see docs/tutorials/index.md for authors):

* a ``python`` block runs; the blocks of one tutorial share one namespace, like
  one interpreter session, in one fresh process;
* a ``text`` block right after a ``python`` block is what it prints: each of its
  lines must appear in the output, in order (``...`` stands for anything);
* a ``{code-block}`` with ``:caption: NAME`` is a file the reader saves: it is
  written to NAME, and imported or run from there by later blocks;
* a ``console`` block runs each ``$ command`` in a shell (``python`` and
  ``siteupdates`` are this environment's); the lines after a command are
  expected in its output like a ``text`` block;
* ``<!-- requires: MODULE ... -->`` skips the tutorial when a module is missing;
  ``postgresql`` there means a reachable server (``SITEUPDATES_PG_URL``) and
  ``redis-server`` a reachable Redis (``SITEUPDATES_REDIS_URL``, database 7 by
  default; the page gets it as ``SITEUPDATES_BROKER_URL`` and a queue name of
  its own as ``SITEUPDATES_QUEUE``): without one the tutorial is skipped, or
  fails when ``CI`` is set.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any, Dict, List

import pytest

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = sorted(p for p in (ROOT / "docs" / "tutorials").glob("*.md") if p.stem != "index")
GUIDES = sorted((ROOT / "docs" / "guides").glob("*.md"))
#: Pages whose code the suite runs: the tutorials, then the host guides.
PAGES = TUTORIALS + [p for p in GUIDES if p.stem != "index"]
FENCE = re.compile(r"^```(\{code-block\}\s*)?(\w+)\s*$")

DRIVER = textwrap.dedent(
    """
    import contextlib, io, json, os, re, subprocess, sys
    from pathlib import Path

    steps = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    namespace = {"__name__": "__main__"}

    def expect(shown, output, where):
        lines = [l.strip() for l in shown.splitlines() if l.strip()]
        out = [l.strip() for l in output.splitlines()]
        position = 0
        for line in lines:
            if line == "...":
                continue
            pattern = re.compile(".*".join(re.escape(part.strip()) for part in line.split("...")))
            for i in range(position, len(out)):
                if pattern.search(out[i]):
                    position = i + 1
                    break
            else:
                sys.exit(f"{where}: expected {line!r} in the output:\\n{output}")

    for step in steps:
        where = f"{step['path']}:{step['line']}"
        if step["kind"] == "file":
            Path(step["name"]).write_text(step["code"], encoding="utf-8")
        elif step["kind"] == "python":
            buffer = io.StringIO()
            code = compile("\\n" * step["line"] + step["code"], step["path"], "exec")
            with contextlib.redirect_stdout(buffer):
                exec(code, namespace)
            sys.stdout.write(buffer.getvalue())
            if step.get("output"):
                expect(step["output"], buffer.getvalue(), where)
        elif step["kind"] == "console":
            for command, shown in step["commands"]:
                proc = subprocess.run(
                    command, shell=True, capture_output=True, text=True, executable="/bin/bash"
                )
                sys.stdout.write(f"$ {command}\\n{proc.stdout}{proc.stderr}")
                if proc.returncode != 0:
                    sys.exit(f"{where}: {command!r} exited {proc.returncode}:\\n"
                             f"{proc.stdout}{proc.stderr}")
                expect(shown, proc.stdout + proc.stderr, where)
    """
)


def read_steps(path: Path) -> List[Dict[str, Any]]:
    """The tutorial's blocks, as steps for the driver."""
    lines = path.read_text(encoding="utf-8").splitlines()
    steps: List[Dict[str, Any]] = []
    i = 0
    rel = str(path.relative_to(ROOT))
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        language = match.group(2)
        i += 1
        caption = None
        while match.group(1) and i < len(lines) and lines[i].startswith(":"):
            if lines[i].startswith(":caption:"):
                caption = lines[i].split(":", 2)[2].strip()
            i += 1
        start = i
        while not lines[i].startswith("```"):
            i += 1
        code = "\n".join(lines[start:i]) + "\n"
        i += 1
        if caption:
            steps.append({"kind": "file", "name": caption, "code": code, "path": rel,
                          "line": start})  # fmt: skip
        elif language == "python":
            steps.append({"kind": "python", "code": code, "path": rel, "line": start})
        elif language == "text" and steps and steps[-1]["kind"] == "python":
            steps[-1]["output"] = code
        elif language == "console":
            commands: List[List[str]] = []
            for line in code.splitlines():
                if line.startswith("$ "):
                    commands.append([line[2:], ""])
                elif commands:
                    commands[-1][1] += line + "\n"
            steps.append({"kind": "console", "commands": commands, "path": rel, "line": start})
    return steps


def requirements(path: Path) -> List[str]:
    """The modules (and ``postgresql``) a tutorial needs."""
    found = re.search(r"<!--\s*requires:([^>]*)-->", path.read_text(encoding="utf-8"))
    return found.group(1).split() if found else []


def postgres_url() -> str:
    return os.environ.get("SITEUPDATES_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def redis_url() -> str:
    return os.environ.get("SITEUPDATES_REDIS_URL", "redis://127.0.0.1:6379/7")


def skip_unless_available(needs: List[str]) -> None:
    for need in needs:
        if need == "postgresql":
            try:
                import psycopg

                psycopg.connect(postgres_url(), connect_timeout=3).close()
            except Exception as exc:
                if os.environ.get("CI"):
                    pytest.fail(f"CI needs PostgreSQL at {postgres_url()}: {exc}")
                pytest.skip(f"no PostgreSQL at {postgres_url()}: {exc}")
        elif need == "redis-server":
            try:
                import redis

                redis.Redis.from_url(redis_url(), socket_connect_timeout=3).ping()
            except Exception as exc:
                if os.environ.get("CI"):
                    pytest.fail(f"CI needs Redis at {redis_url()}: {exc}")
                pytest.skip(f"no Redis at {redis_url()}: {exc}")
        elif importlib.util.find_spec(need) is None:
            pytest.skip(f"needs {need}")


def test_there_are_tutorials_with_code() -> None:
    assert len(TUTORIALS) >= 6
    for path in TUTORIALS:
        assert read_steps(path), f"{path.name} has no code block"


def test_there_are_host_guides_with_code() -> None:
    assert {p.stem for p in GUIDES} >= {"flask", "supervisors", "async"}
    for path in GUIDES:
        assert read_steps(path), f"{path.name} has no code block"


@pytest.mark.slow
@pytest.mark.parametrize("path", PAGES, ids=[f"{p.parent.name}/{p.stem}" for p in PAGES])
def test_the_tutorial_runs(path: Path, tmp_path: Path) -> None:
    skip_unless_available(requirements(path))
    steps = tmp_path / "steps.json"
    steps.write_text(json.dumps(read_steps(path)), encoding="utf-8")
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER, encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    bindir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PATH": bindir + os.pathsep + os.environ.get("PATH", ""),
        "PYTHONPATH": str(work),
        "SITEUPDATES_PG_URL": postgres_url(),
        "SITEUPDATES_BROKER_URL": redis_url(),
        # A queue of this run's own: other programs may share the Redis database.
        "SITEUPDATES_QUEUE": f"tutorial-{uuid.uuid4().hex[:10]}",
    }
    env.pop("SITEUPDATES_URL", None)
    env.pop("SITEUPDATES_NOW", None)
    proc = subprocess.run(
        [sys.executable, str(driver), str(steps)], cwd=work, env=env, capture_output=True,
        text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]


def _desk_calls(code: str) -> List[str]:
    """The argument text of every ``Desk.open(...)`` and ``Desk.from_setup(...)`` in ``code``."""
    found = []
    for match in re.finditer(r"Desk\.(?:open|from_setup)\(", code):
        depth, start = 0, match.end() - 1
        for i in range(start, len(code)):
            depth += {"(": 1, ")": -1}.get(code[i], 0)
            if depth == 0:
                found.append(" ".join(code[start + 1 : i].split()))
                break
    return found


def test_every_documented_desk_on_postgresql_loads_the_plugin_that_opens_it() -> None:
    """Issue 25: ``Desk.open("postgresql://...")`` alone knows no storage for the URL.

    The code of every page that needs PostgreSQL, and of the plugins' own
    tutorials (their module docstrings and READMEs), loads the installed plugins
    (``entry_points=True``) or names them (``plugins=``, ``host=``).
    """
    import ast

    codes = [
        (path.name, step["code"])
        for path in PAGES
        if "postgresql" in requirements(path)
        for step in read_steps(path)
        if step["kind"] in ("python", "file")
    ]
    for module in sorted(ROOT.glob("plugins/*/src/*/__init__.py")):
        codes.append((str(module.relative_to(ROOT)), ast.get_docstring(ast.parse(
            module.read_text(encoding="utf-8"))) or ""))  # fmt: skip
    for readme in sorted(ROOT.glob("plugins/*/README.md")):
        blocks = re.findall(r"```python\n(.*?)```", readme.read_text(encoding="utf-8"), re.S)
        codes.append((str(readme.relative_to(ROOT)), "\n".join(blocks)))
    calls = [(where, call) for where, code in codes for call in _desk_calls(code)]
    # A page's call on a variable (``url``) is on its PostgreSQL; a literal URL says.
    on_postgres = [
        (where, call) for where, call in calls
        if "postgres" in call or not re.match(r"\"(sqlite|memory)", call)
    ]  # fmt: skip
    assert any("celery" in where for where, _ in on_postgres)
    missing = [
        (where, call) for where, call in on_postgres
        if not re.search(r"entry_points=True|plugins=|host=", call)
    ]  # fmt: skip
    assert not missing, missing
