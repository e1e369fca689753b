"""The documentation cannot go stale.

Every hook is documented with its exact signature, every public name has a
docstring and a place in the API reference, and the site builds with warnings
as errors and opens offline.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

from siteupdates.plugins import PluginHost

DOC = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"


def test_every_hook_is_documented_with_its_signature() -> None:
    text = DOC.read_text(encoding="utf-8")
    host = PluginHost(entry_points=False)
    hooks = [name for name in dir(host.pm.hook) if name.startswith("siteupdates_")]
    assert len(hooks) >= 5
    for name in hooks:
        caller = getattr(host.pm.hook, name)
        assert caller.spec is not None
        params = ", ".join(inspect.signature(caller.spec.function).parameters)
        assert f"### `{name}({params})`" in text, f"{name}({params}) missing from docs/plugins.md"
    documented = {line.split("`")[1].split("(")[0] for line in text.splitlines()
                  if line.startswith("### `siteupdates_")}  # fmt: skip
    assert documented == set(hooks)


def test_every_hook_has_a_docstring() -> None:
    host = PluginHost(entry_points=False)
    for name in dir(host.pm.hook):
        if name.startswith("siteupdates_"):
            spec = getattr(host.pm.hook, name).spec
            assert spec is not None and (spec.function.__doc__ or "").strip()


# -- the documentation site -------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs" / "_ext"))

import apiref  # noqa: E402


def _importable(module: str) -> bool:
    apiref.setup_path()
    return importlib.util.find_spec(module.split(".")[0]) is not None


def test_every_public_name_has_a_docstring() -> None:
    missing = [
        m for m in apiref.modules() if not _importable(m)
    ]  # plugins not installed here (an sdist's own tests)
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)}")
    undocumented = apiref.undocumented()
    assert not undocumented, "public names without a docstring:\n" + "\n".join(undocumented)


def test_every_public_module_has_its_place_in_the_api_reference() -> None:
    pages = {p.stem: p.read_text(encoding="utf-8") for p in (ROOT / "docs" / "api").glob("*.md")}
    documented = {
        line.split("::", 1)[1].strip()
        for text in pages.values()
        for line in text.splitlines()
        if line.startswith(".. apimodule::")
    }
    assert documented == set(apiref.modules())
    assert set(apiref.PAGES) <= set(pages)


def test_every_module_is_in_the_reference_or_said_to_be_internal() -> None:
    if not all(_importable(m) for m in apiref.OURS):
        pytest.skip("the plugins are not installed here")
    unplaced = [
        m for m in apiref.all_modules() if m not in apiref.modules() and not apiref.is_internal(m)
    ]
    assert not unplaced, f"add to docs/_ext/apiref.py PAGES (or INTERNAL): {unplaced}"


def test_every_hook_is_rendered_from_its_specification() -> None:
    text = DOC.read_text(encoding="utf-8")
    host = PluginHost(entry_points=False)
    for name in dir(host.pm.hook):
        if name.startswith("siteupdates_"):
            assert f".. hookspec:: {name}\n" in text


def _offline_problems(site: Path) -> List[str]:
    """References in the built site to anything outside it, besides plain links."""
    loads = re.compile(
        r"""<(?:script|link|img|iframe|source|object|embed)\b[^>]*?(?:src|href|data)=["']"""
        r"""(?:https?:)?//""",
        re.I,
    )
    problems = []
    for page in site.rglob("*"):
        if page.suffix not in (".html", ".css", ".js", ".svg"):
            continue
        text = page.read_text(encoding="utf-8", errors="replace")
        for match in loads.finditer(text):
            problems.append(f"{page.relative_to(site)}: {match.group(0)}")
        if page.suffix == ".css":
            for url in re.findall(
                r"""url\(\s*["']?(?:https?:)?//[^)]*\)|@import\s+["']?https?:""", text
            ):
                problems.append(f"{page.relative_to(site)}: {url}")
    return problems


@pytest.mark.slow
def test_the_site_builds_with_warnings_as_errors_and_opens_offline(tmp_path: Path) -> None:
    missing = [m for m in ("sphinx", "furo", "myst_parser") if not _importable(m)]
    missing += [] if shutil.which("dot") else ["Graphviz's dot"]
    if missing:
        if os.environ.get("CI") and sys.version_info[:2] == (3, 11):
            pytest.fail(f"CI builds the documentation: missing {', '.join(missing)}")
        pytest.skip(f"the documentation needs {', '.join(missing)} (pip install '.[docs]')")
    out = tmp_path / "html"
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(tmp_path / "doctrees"), str(ROOT / "docs"), str(out)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for page in ["index", "api/domain", "plugins", "lifecycle", "operations",
                 "tutorials/embed", "distributions/postgres"]:  # fmt: skip
        assert (out / f"{page}.html").is_file(), page
    lifecycle = (out / "lifecycle.html").read_text(encoding="utf-8")
    assert "graphviz" in lifecycle and list((out / "_images").glob("graphviz-*.svg"))
    domain = (out / "api" / "domain.html").read_text(encoding="utf-8")
    assert 'id="siteupdates.domain.TRANSITIONS"' in domain
    assert 'id="siteupdates.domain.Tenant"' in domain
    hooks = (out / "plugins.html").read_text(encoding="utf-8")
    assert 'id="siteupdates.hookspecs.siteupdates_storage"' in hooks
    assert _offline_problems(out) == []
