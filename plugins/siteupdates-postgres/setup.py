"""Metadata that pyproject.toml cannot state for every Python this builds on.

* **Licence.** PEP 639 metadata (``License-Expression: MIT``, ``License-File:
  LICENSE``) needs setuptools 77, which needs Python 3.9; Python 3.8's newest
  setuptools (75.3) refuses ``license = "MIT"`` in pyproject.toml. So the licence
  is declared here: an SPDX expression where setuptools can write one (every
  release is built that way), the older ``License`` field on Python 3.8.
* **Version.** A plugin is released with the siteupdates it is tested with and
  carries its version: from the library's ``pyproject.toml`` two directories up
  in the repository, from ``PKG-INFO`` when built from this plugin's sdist. A
  plugin with a release line of its own states it in its ``pyproject.toml``
  under ``[tool.siteupdates]`` (``version = "0.1.0"``).

This file is the same in every plugin distribution of the repository.
"""

import re
from pathlib import Path

import setuptools

HERE = Path(__file__).resolve().parent


def own_version() -> "str | None":
    """The version of a plugin with a release line of its own, else None."""
    project = HERE / "pyproject.toml"
    text = project.read_text(encoding="utf-8") if project.is_file() else ""
    found = re.search(r'^\[tool\.siteupdates\]\nversion = "([^"]+)"$', text, re.M)
    return found.group(1) if found else None


def library_version() -> str:
    """The version this plugin is released with (see the module docstring)."""
    pkg_info = HERE / "PKG-INFO"  # an unpacked sdist
    if pkg_info.is_file():
        found = re.search(r"^Version: (\S+)$", pkg_info.read_text(encoding="utf-8"), re.M)
    elif own_version() is not None:
        return str(own_version())
    else:
        library = HERE.parent.parent / "pyproject.toml"
        text = library.read_text(encoding="utf-8") if library.is_file() else ""
        found = re.search(r'^version = "([^"]+)"$', text, re.M)
    if not found:
        raise SystemExit(
            f"{HERE.name}: build it from the siteupdates repository (its version is the "
            "library's, read from ../../pyproject.toml) or from its sdist"
        )
    return found.group(1)


if int(setuptools.__version__.split(".")[0]) >= 77:
    licence = {"license_expression": "MIT"}
else:
    licence = {"license": "MIT"}
setuptools.setup(version=library_version(), license_files=["LICENSE"], **licence)
