"""The installed package: version, typing marker, a pure domain."""

from __future__ import annotations

import ast
from importlib.metadata import version
from pathlib import Path

import siteupdates

DOMAIN = Path(siteupdates.__file__).parent / "domain"
ALLOWED_TOP = {
    "__future__",
    "attrs",
    # recurrence rules only: pure date arithmetic, no I/O
    "dateutil",
    "backports",
    "datetime",
    "enum",
    "re",
    "sys",
    "typing",
    "zoneinfo",
    "siteupdates",
    "bisect",
    "heapq",
    "itertools",
    "collections",
    "functools",
    "math",
}


def test_version_comes_from_the_installed_metadata() -> None:
    assert siteupdates.__version__ == version("siteupdates")


def test_the_package_ships_its_typing_marker() -> None:
    assert (Path(siteupdates.__file__).parent / "py.typed").is_file()


def test_the_domain_imports_no_io_no_plugins_and_no_storage() -> None:
    for path in DOMAIN.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                assert top in ALLOWED_TOP, f"{path.name} imports {name}"
                if top == "siteupdates":
                    assert name in ("siteupdates.errors",) or name.startswith(
                        "siteupdates.domain"
                    ), f"{path.name} imports {name}"


def test_the_zone_database_is_found() -> None:
    from datetime import datetime, timedelta

    from siteupdates.domain.timeutil import get_zone

    summer = datetime(2026, 1, 15, tzinfo=get_zone("Australia/Lord_Howe"))
    winter = datetime(2026, 7, 15, tzinfo=get_zone("Australia/Lord_Howe"))
    assert summer.utcoffset() == timedelta(hours=11)
    assert winter.utcoffset() == timedelta(hours=10, minutes=30)
