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
* a mutant listed in ``tests/mutation_equivalents.txt`` as equivalent to the
  original (no input tells them apart), with the line it changes and why, does
  not count. The entry holds only while the mutant's diff still adds that line:
  once the function changes (mutmut numbers a function's mutants in order), a
  stale entry is reported and the mutant counts again until it is checked anew;
* every other mutant counts, and it is killed only when a test failed with it:
  one that no unit test reaches ("no tests") or that timed out counts as alive.

``--equivalents`` prints the list as the Markdown table docs/testing.md shows.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tokenize
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

MUTANTS = Path("mutants")
#: The surviving mutants checked by hand and found equivalent (the format is in the file).
EQUIVALENTS = Path(__file__).with_name("mutation_equivalents.txt")


@dataclass(frozen=True)
class Equivalent:
    """One listed equivalent mutant: its name, the line its diff adds, and why no input tells."""

    name: str
    line: str
    why: str


def read_equivalents(path: Path = EQUIVALENTS) -> Dict[str, Equivalent]:
    """The entries of ``path``: a name line, then ``+ <line added>`` and ``why: <reason>``.

    An entry without both indented lines is an error (ValueError naming its line):
    a mutant is excluded only with the change it makes and the reason written down.
    """
    found: Dict[str, Equivalent] = {}
    if not path.exists():
        return found
    name, line, why, at = "", "", "", 0

    def close() -> None:
        if not name:
            return
        if not line or not why:
            raise ValueError(f"{path.name}:{at}: {name} needs a '+ <line>' and a 'why:' line")
        found[name] = Equivalent(name, line, why)

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        if not raw[0].isspace():
            close()
            name, line, why, at = text, "", "", number
        elif text.startswith("+ ") and name:
            line = text[2:].strip()
        elif text.startswith("why:") and name:
            why = text[4:].strip()
        else:
            raise ValueError(f"{path.name}:{number}: expected a mutant name, '+ <line>' or 'why:'")
    close()
    return found


def adds_line(diff: str, line: str) -> bool:
    """Whether ``diff`` adds ``line`` (whitespace at either end ignored)."""
    return any(
        x.startswith("+") and not x.startswith("+++") and x[1:].strip() == line
        for x in diff.splitlines()
    )


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
    ap.add_argument(
        "--equivalents", action="store_true", help="print the equivalents' list as a table"
    )
    args = ap.parse_args(argv)
    equivalents = read_equivalents()
    if args.equivalents:
        print("| mutant | why equivalent |\n|---|---|")
        for e in equivalents.values():
            print(f"| `{e.name.replace('siteupdates.domain.', '')}` | {e.why} |")
        return 0
    stale: List[str] = []
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
        listed = equivalents.get(name)
        if listed is not None and status in ("killed", "caught by type check"):
            print(f"listed in {EQUIVALENTS.name} but killed (drop the entry): {name}")
        elif listed is not None:
            if adds_line(diff, listed.line):
                t["equivalent"] += 1
                continue
            stale.append(name)
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
        uncounted = ("logic", "killed", "message only", "import time", "equivalent")
        alive = ", ".join(f"{k} {v}" for k, v in sorted(t.items()) if k not in uncounted)
        print(
            f"{module:24} logic {t['logic']:4}  killed {t['killed']:4}  {rate:5.1f}%  "
            f"(not counted: message-only {t['message only']}, import-time {t['import time']}, "
            f"equivalent {t['equivalent']})" + (f"  alive: {alive}" if alive else "")
        )
    if args.survivors:
        for name, diff in survivors:
            print(f"\n# {name}\n{diff}")
    for name in stale:
        print(f"stale entry in {EQUIVALENTS.name}: {name} no longer adds the line listed; counted")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 1 if tally and worst < args.min_kill else 0


if __name__ == "__main__":
    sys.exit(main())
