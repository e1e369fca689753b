"""The web plugin reaches the library through the desk's actor handles only (issue 22).

No ``desk.storage``, no ``desk.app``, no deprecated flat method: every read and
every action is a declared use case, so the pages get the same checks, paging
and R22 as the Python API and the command line.
"""

from __future__ import annotations

import ast
from pathlib import Path

from siteupdates.usecases.catalog import CATALOG

SRC = Path(__file__).resolve().parents[1] / "src" / "siteupdates_web"
LEGACY = {uc.legacy.name for uc in CATALOG if uc.legacy is not None}


def _offences(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        # Flask's blueprint setup state names the web app ``state.app``: not the desk's.
        flask_state = isinstance(node, ast.Attribute) and (
            isinstance(node.value, ast.Name) and node.value.id == "state"
        )
        if isinstance(node, ast.Attribute) and node.attr in ("storage", "app") and not flask_state:
            found.append(f"{path.name}:{node.lineno}: .{node.attr}")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "desk"
            and node.func.attr in LEGACY
        ):
            found.append(f"{path.name}:{node.lineno}: desk.{node.func.attr}() (deprecated)")
    return found


def test_the_web_plugin_uses_the_actor_handles_only() -> None:
    offences = [o for path in sorted(SRC.glob("*.py")) for o in _offences(path)]
    assert offences == []
