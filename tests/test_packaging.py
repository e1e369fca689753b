"""The installed package: version, typing marker, a pure domain."""

from __future__ import annotations

import ast
from importlib.metadata import version
from pathlib import Path

import pytest

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


def test_the_package_ships_the_json_schema_of_its_command_line() -> None:
    from siteupdates.cli.render import output_schema

    assert (Path(siteupdates.__file__).parent / "cli" / "schema.json").is_file()
    assert "list" in output_schema()["$defs"]


@pytest.mark.slow
def test_the_built_wheel_carries_the_schema_and_the_main_module(tmp_path: Path) -> None:
    import shutil
    import subprocess
    import sys
    import zipfile

    root = Path(__file__).resolve().parents[1]
    tree = tmp_path / "tree"  # built from a copy: the checkout gets no build/ folder
    tree.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(root / name, tree / name)
    shutil.copytree(root / "src", tree / "src", ignore=shutil.ignore_patterns("*.egg-info"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(tree)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    [wheel] = tmp_path.glob("siteupdates-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "siteupdates/cli/schema.json" in names and "siteupdates/__main__.py" in names
