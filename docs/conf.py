"""Sphinx configuration: furo, the Markdown pages through MyST, the API from docstrings.

Build: ``python -m sphinx -W -b html docs docs/_build/html`` (needs ``.[docs]`` and
Graphviz's ``dot``), then open ``docs/_build/html/index.html``: the site loads
nothing from the network.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

from siteupdates import __version__  # noqa: E402

project = "siteupdates"
author = "siteupdates developers"
copyright = "siteupdates developers, MIT licence"
release = __version__
version = ".".join(__version__.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.graphviz",
    "sphinx.ext.viewcode",
    "siteupdates_docs",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "_ext", "Thumbs.db", ".DS_Store"]
nitpicky = False

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
autodoc_inherit_docstrings = True
add_module_names = False

graphviz_output_format = "svg"

html_theme = "furo"
html_title = f"siteupdates {release}"
html_static_path: list[str] = []
html_theme_options = {
    # furo's defaults load nothing from the network; keep it that way.
    "navigation_with_keys": True,
}
html_show_sourcelink = False
