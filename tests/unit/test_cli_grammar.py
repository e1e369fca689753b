"""The command line builds one command's grammar per run, and it is the whole grammar's."""

from __future__ import annotations

import argparse
from typing import Dict, List, Optional

import pytest

from siteupdates.cli.parser import build_parser, command_word


def _commands(parser: argparse.ArgumentParser) -> Dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("no commands")


def _defaults(parser: argparse.ArgumentParser) -> Dict[str, object]:
    """The parser's defaults, the command function as its name and closed-over values."""
    found = dict(parser._defaults)
    fn = found.pop("func")
    cells = tuple(c.cell_contents for c in fn.__closure__ or ())
    return {**found, "func": (fn.__qualname__, cells)}


FULL = build_parser()
NAMES = sorted(_commands(FULL))


@pytest.mark.parametrize(
    ("args", "word"),
    [
        (["list", "--as", "dana"], "list"),
        (["--db", "x.db", "list"], "list"),
        (["--db", "submit", "list"], "list"),  # a global option's value is not the command
        (["--db=submit", "--json", "queue"], "queue"),
        (
            ["--set", "smtp.x=1", "--plugin", "m:p", "--now", "2026", "--url", "u", "show", "r"],
            "show",
        ),
        (["--d", "x.db", "list"], None),  # an abbreviation: argparse decides
        (["--help"], None),
        (["--version"], None),
        ([], None),
        (["--db", "x.db"], None),
    ],
)
def test_command_word_is_certain_or_none(args: List[str], word: Optional[str]) -> None:
    assert command_word(args) == word


@pytest.mark.parametrize("name", NAMES)
def test_one_command_grammar_is_the_full_grammars(name: str) -> None:
    alone = build_parser(name)
    # Every command is still listed (usage and "invalid choice" read the same) ...
    assert sorted(_commands(alone)) == NAMES
    # ... and the one built has exactly the options, help and defaults of the full one.
    assert _commands(alone)[name].format_help() == _commands(FULL)[name].format_help()
    assert _defaults(_commands(alone)[name]) == _defaults(_commands(FULL)[name])
    assert alone.format_help() == FULL.format_help()


def test_an_unknown_word_builds_nothing_and_is_refused_as_before(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as full:
        FULL.parse_args(["lst"])
    expected = capsys.readouterr().err
    with pytest.raises(SystemExit) as alone:
        build_parser("lst").parse_args(["lst"])
    assert alone.value.code == full.value.code == 2
    assert capsys.readouterr().err == expected
