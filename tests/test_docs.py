"""The hook reference cannot go stale: every hook is documented with its exact signature."""

from __future__ import annotations

import inspect
from pathlib import Path

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
