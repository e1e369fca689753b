"""The installed package (version, typing marker, a pure domain) and the built distributions."""

from __future__ import annotations

import ast
import email.parser
import importlib.util
import os
import subprocess
import sys
import tarfile
import zipfile
from email.message import Message
from importlib.metadata import version
from pathlib import Path
from typing import Dict

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
    # Type objects of the interpreter (the trusted constructors' slot setters): no I/O.
    "types",
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
                    # The errors, the leaf value they carry (Refusal) and the pure
                    # value checks are below the domain; nothing else is. From
                    # siteupdates.i18n the domain takes the Language value it is handed
                    # and the N_ marker: the catalogs are read by the app layer.
                    pure = ("siteupdates.errors", "siteupdates.refusal", "siteupdates.checks",
                            "siteupdates.i18n")  # fmt: skip
                    assert name in pure or name.startswith("siteupdates.domain"), (
                        f"{path.name} imports {name}"
                    )


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
def test_the_built_wheel_carries_the_schema_and_the_main_module(built: Dict[str, Path]) -> None:
    names = zipfile.ZipFile(built["siteupdates.whl"]).namelist()
    assert "siteupdates/cli/schema.json" in names and "siteupdates/__main__.py" in names


# -- the distributions, built as a release builds them ------------------------------

ROOT = Path(__file__).resolve().parents[1]
DISTRIBUTIONS = {
    "siteupdates": ROOT,
    "siteupdates-postgres": ROOT / "plugins" / "siteupdates-postgres",
    "siteupdates-ical": ROOT / "plugins" / "siteupdates-ical",
    "siteupdates-web": ROOT / "plugins" / "siteupdates-web",
    "siteupdates-celery": ROOT / "plugins" / "siteupdates-celery",
    "siteupdates-django": ROOT / "plugins" / "siteupdates-django",
}
#: Plugins with a release line of their own ([tool.siteupdates] version in their
#: pyproject.toml): they require the library's line, and are not released with it.
OWN_LINE = {"siteupdates-django": "0.1.0"}
IN_REPOSITORY = (ROOT / "plugins").is_dir()  # not in an unpacked sdist


def test_every_plugin_distribution_carries_the_same_setup_py() -> None:
    """Each sdist builds on its own, so each holds a copy: one text, kept in step."""
    if not IN_REPOSITORY:
        pytest.skip("the plugins' sources are in the repository, not in this sdist")
    copies = {
        name: (source / "setup.py").read_text(encoding="utf-8")
        for name, source in DISTRIBUTIONS.items()
        if name != "siteupdates"
    }
    assert len(copies) >= 4 and len(set(copies.values())) == 1, sorted(copies)


def _metadata(text: str) -> Message:
    return email.parser.Parser().parsestr(text)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Path]:
    """Every distribution built by ``python -m build`` (the sdist, then the wheel from it)."""
    if not IN_REPOSITORY:
        pytest.skip("the plugins' sources are in the repository, not in this sdist")
    for tool in ("build", "twine"):
        if importlib.util.find_spec(tool) is None:
            pytest.skip(f"needs {tool} (pip install '.[test]')")
    out = tmp_path_factory.mktemp("dist")
    for name, source in DISTRIBUTIONS.items():
        proc = subprocess.run(
            [sys.executable, "-m", "build", "--outdir", str(out), str(source)],
            capture_output=True, text=True,
        )  # fmt: skip
        assert proc.returncode == 0, f"{name}:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
    found = {}
    for name in DISTRIBUTIONS:
        stem = name.replace("-", "_")
        (wheel,) = out.glob(f"{stem}-*.whl")
        (sdist,) = out.glob(f"{stem}-*.tar.gz")
        found[f"{name}.whl"], found[f"{name}.tar.gz"] = wheel, sdist
    return found


def test_the_wheels_carry_their_compiled_catalogs(built: Dict[str, Path]) -> None:
    """Issue 27: gettext reads the .mo at run time; nothing compiles them on install."""
    for dist, package in (("siteupdates", "siteupdates"), ("siteupdates-web", "siteupdates_web")):
        with zipfile.ZipFile(built[f"{dist}.whl"]) as wheel:
            names = wheel.namelist()
        for suffix in ("mo", "po"):
            assert f"{package}/locale/de/LC_MESSAGES/{package}.{suffix}" in names, dist
    with tarfile.open(built["siteupdates-web.tar.gz"]) as sdist:
        assert any(n.endswith("/babel.cfg") for n in sdist.getnames())


def _wheel_metadata(wheel: Path) -> Message:
    with zipfile.ZipFile(wheel) as z:
        (name,) = [n for n in z.namelist() if n.endswith(".dist-info/METADATA")]
        return _metadata(z.read(name).decode("utf-8"))


@pytest.mark.slow
def test_every_wheel_carries_the_licence_the_urls_and_the_typing_marker(
    built: Dict[str, Path],
) -> None:
    for name in DISTRIBUTIONS:
        wheel = built[f"{name}.whl"]
        meta = _wheel_metadata(wheel)
        if sys.version_info >= (3, 9):  # built with setuptools >= 77: PEP 639
            assert meta["License-Expression"] == "MIT", name
        else:  # Python 3.8's newest setuptools (75.3): the older field
            assert meta["License"] == "MIT", name
        assert meta.get_all("License-File") == ["LICENSE"], name
        urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL") or [])
        assert {"Homepage", "Documentation", "Changelog", "Source", "Issues"} <= set(urls), name
        assert all(u.startswith("https://") for u in urls.values())
        with zipfile.ZipFile(wheel) as z:
            names = z.namelist()
        package = name.replace("-", "_")
        assert f"{package}/py.typed" in names, name
        assert any(n.endswith(".dist-info/licenses/LICENSE") or n.endswith(
            ".dist-info/LICENSE") for n in names), name  # fmt: skip
        assert not [n for n in names if "/tests/" in f"/{n}" or "/test_" in n], name
        assert meta["Description-Content-Type"] == "text/markdown"
        assert "../" not in (meta.get_payload() or ""), f"{name}: README links out of itself"


@pytest.mark.slow
def test_the_plugins_are_released_with_the_library_and_require_its_line(
    built: Dict[str, Path],
) -> None:
    library = _wheel_metadata(built["siteupdates.whl"])["Version"]
    for name in DISTRIBUTIONS:
        meta = _wheel_metadata(built[f"{name}.whl"])
        assert meta["Version"] == OWN_LINE.get(name, library), name
        if name == "siteupdates":
            continue
        from packaging.requirements import Requirement  # build's dependency

        (requirement,) = [
            Requirement(r)
            for r in meta.get_all("Requires-Dist") or []
            if Requirement(r).name == "siteupdates"
        ]
        operators = sorted(spec.operator for spec in requirement.specifier)
        assert operators == ["<", ">="], f"{name}: {requirement} is not a >=X,<Y range"
        assert requirement.specifier.contains(library, prereleases=True), requirement


@pytest.mark.slow
def test_the_sdists_hold_what_their_tests_and_docs_need(built: Dict[str, Path]) -> None:
    with tarfile.open(built["siteupdates.tar.gz"]) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    for needed in ["LICENSE", "CHANGELOG.md", "README.md", "setup.py", "docs/conf.py",
                   "docs/index.md", "docs/plugins.md", "docs/_ext/apiref.py",
                   "docs/tutorials/embed.md", "examples/district.toml", "examples/session.sh",
                   "examples/siteupdates-freeze/pyproject.toml", "tests/test_docs.py",
                   "tests/data/siteupdates-0.1.0.db", "src/siteupdates/py.typed"]:  # fmt: skip
        assert needed in names, needed
    for plugin in [name for name in DISTRIBUTIONS if name != "siteupdates"]:
        with tarfile.open(built[f"{plugin}.tar.gz"]) as tar:
            names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
        for needed in ["LICENSE", "README.md", "setup.py", "PKG-INFO"]:
            assert needed in names, f"{plugin}: {needed}"
        assert any(n.startswith("tests/test_") for n in names), plugin


@pytest.mark.slow
def test_twine_finds_every_distribution_valid(built: Dict[str, Path]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *map(str, built.values())],
        capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.slow
def test_the_sdist_runs_its_own_tests(built: Dict[str, Path], tmp_path: Path) -> None:
    with tarfile.open(built["siteupdates.tar.gz"]) as tar:
        if hasattr(tarfile, "data_filter"):  # Python 3.12, and security releases before
            tar.extractall(tmp_path, filter="data")
        else:  # pragma: no cover
            tar.extractall(tmp_path)
    (unpacked,) = tmp_path.iterdir()
    env = {**os.environ, "PYTHONPATH": str(unpacked / "src")}
    where = subprocess.run(
        [sys.executable, "-c", "import siteupdates; print(siteupdates.__file__)"],
        capture_output=True, text=True, env=env, cwd=unpacked,
    )  # fmt: skip
    assert where.stdout.startswith(str(unpacked)), where.stdout + where.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x",
         "tests/unit", "tests/test_docs.py", "tests/test_architecture.py",
         "tests/integration/test_examples.py", "tests/integration/test_migrations.py",
         "-k", "not the_site_builds"],
        capture_output=True, text=True, env=env, cwd=unpacked,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert " passed" in proc.stdout
