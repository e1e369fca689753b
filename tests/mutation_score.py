"""The domain's mutation score from the last ``mutmut run``: logic mutants killed, per module.

Run from the repository's root after ``mutmut run`` (see docs/testing.md)::

    .venv/bin/python -m tests.mutation_score [--survivors] [--min-kill PCT]

Which mutants count (the rule docs/testing.md states):

* a mutant that changes only the text of a string literal holding words (one
  with a space: a message, or a part of one) does not count: what a message says
  is pinned where people read it (the CLI's and the web's tests), not mutant by
  mutant;
* code that runs at import (module constants, class bodies) is never mutated by
  mutmut, so it does not count either;
* every other mutant counts, and it is killed only when a test failed with it:
  one that no unit test reaches ("no tests") or that timed out counts as alive.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tokenize
from collections import Counter
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

MUTANTS = Path("mutants")


def _tokens(code: str) -> List[Tuple[int, str]]:
    """``code``'s tokens, each string literal with words reduced to one placeholder."""
    out: List[Tuple[int, str]] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            if tok.type in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
                continue
            if tok.type == tokenize.STRING and " " in tok.string:
                out.append((tok.type, "<words>"))
            else:
                out.append((tok.type, tok.string))
    except (tokenize.TokenError, IndentationError):
        out.append((-1, code))  # not a whole statement: compare the text as it is
    return out


#: Functions that run only while their module is imported (a table built by calls,
#: a decorator factory): mutmut switches a mutant on after the import, so no test
#: can kill theirs. Each checked by hand: no call of it outside module level.
IMPORT_TIME = (
    "siteupdates.domain.lifecycle.x__row__",  # builds TRANSITIONS
    "siteupdates.domain.policies.x_policy__",  # the @policy decorator
)

WORDS = (tokenize.STRING, "<words>")
NONE = (tokenize.NAME, "None")


def message_only(diff: str) -> bool:
    """Whether a mutant's diff changes nothing but messages: their words, or all of one.

    A message's words changed, or the message (string literals with words, side
    by side) replaced by ``None``.
    """
    import difflib

    lines = diff.splitlines()
    old = "\n".join(x[1:] for x in lines if x.startswith("-") and not x.startswith("---"))
    new = "\n".join(x[1:] for x in lines if x.startswith("+") and not x.startswith("+++"))
    a, b = _tokens(_dedent(old)), _tokens(_dedent(new))
    if a == b:
        return True
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        if not (i2 > i1 and all(t == WORDS for t in a[i1:i2]) and b[j1:j2] in ([NONE], [WORDS])):
            return False
    return True


def _dedent(code: str) -> str:
    import textwrap

    return textwrap.dedent(code)


def results() -> Iterator[Tuple[str, str, Optional[int]]]:
    """(source path, mutant name, exit code) for every mutant of the last run."""
    for meta in sorted(MUTANTS.glob("src/**/*.py.meta")):
        source = str(meta.relative_to(MUTANTS))[: -len(".meta")]
        data = json.loads(meta.read_text(encoding="utf-8"))
        for name, code in data.get("exit_code_by_key", {}).items():
            yield source, name, code


def main(argv: Optional[List[str]] = None) -> int:
    """Print the kill rate of logic mutants per module; non-zero below ``--min-kill``."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant
    from mutmut.stats import status_by_exit_code

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--survivors", action="store_true", help="print each surviving logic mutant")
    ap.add_argument("--min-kill", type=float, default=0.0, help="fail below this percentage")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    args = ap.parse_args(argv)
    tally: Dict[str, Counter[str]] = {}
    survivors: List[Tuple[str, str]] = []
    for source, name, code in results():
        status = status_by_exit_code[code]
        if status == "not checked":
            continue
        t = tally.setdefault(Path(source).name, Counter())
        if name.startswith(IMPORT_TIME):
            t["import time"] += 1
            continue
        diff = get_diff_for_mutant(name, path=source)
        if message_only(diff):
            t["message only"] += 1
            continue
        t["logic"] += 1
        if status in ("killed", "caught by type check"):
            t["killed"] += 1
        else:
            t[status] += 1
            survivors.append((name, diff))
    worst = 100.0
    figures = {}
    for module, t in sorted(tally.items()):
        rate = 100.0 * t["killed"] / t["logic"] if t["logic"] else 100.0
        worst = min(worst, rate)
        figures[module] = {**t, "kill_rate": round(rate, 1)}
        uncounted = ("logic", "killed", "message only", "import time")
        alive = ", ".join(f"{k} {v}" for k, v in sorted(t.items()) if k not in uncounted)
        print(
            f"{module:24} logic {t['logic']:4}  killed {t['killed']:4}  {rate:5.1f}%  "
            f"(not counted: message-only {t['message only']}, import-time {t['import time']})"
            + (f"  alive: {alive}" if alive else "")
        )
    if args.survivors:
        for name, diff in survivors:
            print(f"\n# {name}\n{diff}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 1 if tally and worst < args.min_kill else 0


if __name__ == "__main__":
    sys.exit(main())
