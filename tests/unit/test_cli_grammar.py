"""The command line builds one command's grammar per run, and it is the whole grammar's.

Also: every option and argument of every parser has a help text, the global
options are documented once (at the root), and a mistyped command or option
gets a "did you mean".
"""

from __future__ import annotations

import argparse
from typing import Dict, List, Optional, Tuple

import pytest

from siteupdates.cli.generated import GROUPS
from siteupdates.cli.parser import build_parser, command_word, command_words, parsers


def _commands(parser: argparse.ArgumentParser) -> Dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("no commands")


def _defaults(parser: argparse.ArgumentParser) -> Dict[str, object]:
    """The parser's defaults, the command function as its name and closed-over values."""
    found = dict(parser._defaults)
    fn = found.pop("func", None)
    if fn is None:  # a group: its commands have the functions
        return found
    cells = tuple(c.cell_contents for c in fn.__closure__ or ())
    return {**found, "func": (fn.__qualname__, cells)}


FULL = build_parser()
NAMES = sorted(_commands(FULL))
GROUPED = [(g, name) for g in GROUPS for name in sorted(_commands(_commands(FULL)[g]))]


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


@pytest.mark.parametrize(("group", "name"), GROUPED)
def test_one_grouped_command_grammar_is_the_full_grammars(group: str, name: str) -> None:
    alone = build_parser(group, name)
    assert sorted(_commands(alone)) == NAMES
    full_group, alone_group = _commands(FULL)[group], _commands(alone)[group]
    assert sorted(_commands(alone_group)) == sorted(_commands(full_group))
    built, whole = _commands(alone_group)[name], _commands(full_group)[name]
    assert built.format_help() == whole.format_help()
    assert _defaults(built) == _defaults(whole)
    assert alone_group.format_help() == full_group.format_help()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["contact", "submit", "--as", "dana"], ("contact", "submit")),
        (["--db", "x.db", "provider", "--json", "queue"], ("provider", "queue")),
        (["ops"], ("ops", None)),
        (["ops", "--help"], ("ops", None)),
        (["submit", "x"], ("submit", None)),
        (["-v", "--log-level", "DEBUG", "ops", "worker"], ("ops", "worker")),
    ],
)
def test_command_words_name_a_group_and_its_command(
    args: List[str], words: Tuple[Optional[str], Optional[str]]
) -> None:
    assert command_words(args) == words


GLOBALS = {"--db", "--url", "--json", "--smtp", "--plugin", "--set", "--now", "--log-level",
           "-v", "--verbose", "--log-format", "--metrics-port", "--metrics-addr"}  # fmt: skip


def test_every_action_of_every_parser_has_a_help_text() -> None:
    missing = []
    for parser in parsers(FULL):
        for action in parser._actions:
            if action.help is None or not str(action.help).strip():
                missing.append(f"{parser.prog}: {action.option_strings or action.dest}")
            if action.help == argparse.SUPPRESS:
                # Only the global options hide, on the commands: the root documents them.
                assert set(action.option_strings) <= GLOBALS, (parser.prog, action)
    assert missing == []


def test_global_options_are_documented_once_at_the_root() -> None:
    assert "--smtp" in FULL.format_help()
    for parser in parsers(FULL)[1:]:
        assert "--smtp" not in parser.format_help(), parser.prog


@pytest.mark.parametrize(
    ("args", "suggestion"),
    [
        (["sumbit"], "did you mean 'submit'?"),
        (["contact", "sumbit"], "did you mean 'submit'?"),
        (["provider", "schedual"], "did you mean 'schedule'?"),
        (["queue", "--limt", "3"], "did you mean '--limit'?"),
        (["provider", "queue", "--ofset", "1"], "did you mean '--offset'?"),
    ],
)
def test_a_mistyped_command_or_option_gets_a_did_you_mean(
    capsys: pytest.CaptureFixture[str], args: List[str], suggestion: str
) -> None:
    with pytest.raises(SystemExit) as stop:
        build_parser(*command_words(args)).parse_args(args)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert suggestion in err and len(err.splitlines()) == 1, err


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
