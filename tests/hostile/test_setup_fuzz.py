"""Malformed setups: one ConfigurationError naming the place, and nothing written.

Hypothesis mutates the example's tables (a value replaced by a hostile one, a
key added or removed, anywhere in the tree) and its TOML text (characters and
bytes inserted anywhere); every result either loads or raises one
ConfigurationError, and applying it to a set-up store writes nothing unless it
loaded.
"""

from __future__ import annotations

import contextlib
import copy
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Tuple, Union

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from siteupdates import checks
from siteupdates.errors import ConfigurationError
from siteupdates.plugins import PluginHost
from siteupdates.service import Desk
from siteupdates.setupfile import load_setup, setup_from_dict
from tests.hostile import census
from tests.hostile.strategies import toml_value

EXAMPLE = census._load_example()
TEXT = census.SETUP.read_text(encoding="utf-8")
Path_ = List[Union[str, int]]


def _paths(node: Any, path: Path_) -> List[Path_]:
    found = [path]
    if isinstance(node, dict):
        for k, v in node.items():
            found += _paths(v, [*path, k])
    elif isinstance(node, list):
        for i, v in enumerate(node):
            found += _paths(v, [*path, i])
    return found


PATHS = [p for p in _paths(EXAMPLE, []) if p]


def _set(tree: Dict[str, Any], path: Path_, value: Any) -> None:
    node: Any = tree
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value


def _delete(tree: Dict[str, Any], path: Path_) -> None:
    node: Any = tree
    for step in path[:-1]:
        node = node[step]
    del node[path[-1]]


@st.composite
def mutated(draw: Any) -> Tuple[Dict[str, Any], str]:
    tree = copy.deepcopy(EXAMPLE)
    path = draw(st.sampled_from(PATHS))
    how = draw(st.sampled_from(["replace", "replace", "add", "delete"]))
    if how == "replace":
        _set(tree, path, draw(toml_value))
    elif how == "delete":
        _delete(tree, path)
    else:
        node: Any = tree
        for step in path:
            node = node[step]
        if not isinstance(node, dict):
            node = tree
        key = draw(st.text(min_size=1, max_size=12))
        assume(key not in node)
        node[key] = draw(toml_value)
    return tree, how


def _store(tmp: Path) -> Desk:
    desk = Desk.open(f"sqlite:///{tmp / 'setup.db'}", host=PluginHost(entry_points=False))
    desk.apply_setup(EXAMPLE)
    return desk


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=mutated())
def test_a_mutated_tree_loads_or_raises_one_configuration_error_naming_the_place(
    case: Tuple[Dict[str, Any], str],
) -> None:
    tree, _ = case
    try:
        setup_from_dict(tree)
    except ConfigurationError as exc:
        message = str(exc)
        place, sep, _ = message.partition(": ")
        assert sep and place and "\n" not in message, message
        assert checks.bad_character(message) is None, message


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=mutated())
def test_a_refused_tree_writes_nothing_to_a_set_up_store(
    case: Tuple[Dict[str, Any], str],
) -> None:
    tree, _ = case
    with tempfile.TemporaryDirectory() as d:
        desk = _store(Path(d))
        try:
            before = census.dump(Path(d) / "setup.db")
            try:
                desk.apply_setup(tree)
            except ConfigurationError:
                assert census.dump(Path(d) / "setup.db") == before
        finally:
            desk.close()


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(key=st.text(min_size=1, max_size=20), where=st.sampled_from(
    [[], ["provider"], ["tenants", 0], ["tenants", 0, "sites", 0], ["contacts", 0],
     ["groups", 0], ["provider", "windows", 0], ["tenants", 0, "tasks", 0]]))  # fmt: skip
def test_an_unknown_key_anywhere_is_refused_with_its_path_and_the_accepted_keys(
    key: str, where: Path_
) -> None:
    tree = copy.deepcopy(EXAMPLE)
    node: Any = tree
    for step in where:
        node = node[step]
    assume(key not in node and key not in ("catalog", "provider", "groups", "tenants",
           "contacts", "plugins", "name", "zone", "refreshed_at", "automatic", "weekday",
           "group", "tasks", "sites", "default_zone", "update_duration_minutes", "capacity",
           "windows", "plans", "kind", "minutes"))  # fmt: skip
    node[key] = "x"
    with pytest.raises(ConfigurationError) as err:
        setup_from_dict(tree)
    assert "unknown key" in str(err.value) and "accepted keys here" in str(err.value)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(at=st.integers(0, len(TEXT)), junk=st.one_of(
    st.text(max_size=8), st.sampled_from(["[", "]]", "=", '"', "\\", "{", "\n[[tenants]]\n",
                                          "\x00", "\udcff", "[" * 300])))  # fmt: skip
def test_mangled_toml_text_loads_or_raises_one_configuration_error(at: int, junk: str) -> None:
    text = TEXT[:at] + junk + TEXT[at:]
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "setup.toml"
        f.write_bytes(text.encode("utf-8", "surrogateescape"))
        try:
            load_setup(f)
        except ConfigurationError as exc:
            assert "\n" not in str(exc).strip() or "TOML" in str(exc), str(exc)
            assert str(exc).startswith(str(f)), str(exc)


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(raw=st.binary(max_size=200))
def test_random_bytes_are_a_configuration_error(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "setup.toml"
        f.write_bytes(raw)
        with contextlib.suppress(ConfigurationError):
            load_setup(f)


@pytest.mark.parametrize(("where", "value"), [([], {}), (["calendar"], float("nan"))])
def test_a_control_character_in_a_plugin_key_is_shown_escaped_in_the_message(
    where: List[str], value: Any
) -> None:
    # The message names the place by its keys; a raw escape sequence there would
    # reach the terminal of whoever reads it (the setup fuzz test found this).
    tree = copy.deepcopy(EXAMPLE)
    node: Dict[str, Any] = tree.setdefault("plugins", {})
    for step in where:
        node = node.setdefault(step, {})
    node["bell\x07\x1b[31m"] = value
    with pytest.raises(ConfigurationError) as err:
        setup_from_dict(tree)
    message = str(err.value)
    assert checks.bad_character(message) is None, message
    assert "bell\\x07\\x1b[31m" in message, message
