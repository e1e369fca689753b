"""Attacks on the lazy values of ``siteupdates.ports`` (PEP 562, ``siteupdates._portvalues``).

The port's value classes load on first attribute use, and the modules that use
them import the names under ``TYPE_CHECKING`` only. Hosts, Sphinx and cattrs
(a dependency of the library) still resolve the annotations of public classes
and functions with :func:`typing.get_type_hints`; these tests check that this,
the first load from many threads, ``import *``, ``dir``/``help`` and pickles
still work as they did when the classes lived in ``siteupdates.ports`` itself.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap
import typing
from datetime import datetime, timezone
from typing import Any, Callable

import attrs
import cattrs
import pytest

from siteupdates import ports

UTC = timezone.utc


def _fresh(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a new interpreter, where no port value has loaded yet."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60
    )


# -- typing.get_type_hints on the public API (Sphinx, hosts, cattrs) --------------------


@pytest.mark.parametrize("name", ["ChangeSet", "Claim", "Setup"])
def test_the_annotations_of_the_port_values_resolve(name: str) -> None:
    """get_type_hints on ports.ChangeSet/Claim/Setup (what Sphinx and hosts call)."""
    cls = getattr(ports, name)
    hints = typing.get_type_hints(cls)
    assert set(hints) == {f.name for f in attrs.fields(cls)}


def test_attrs_resolves_the_types_of_every_port_value() -> None:
    """What cattrs and other attrs tooling call before they walk a class's fields."""
    for name in sorted(ports._LAZY):
        cls = getattr(ports, name)
        if attrs.has(cls):
            attrs.resolve_types(cls)
            assert all(not isinstance(f.type, str) for f in attrs.fields(cls)), name


def test_cattrs_unstructures_a_change_set() -> None:
    assert cattrs.Converter().unstructure(ports.ChangeSet(release=("r1",)))["release"] == ["r1"]


@pytest.mark.parametrize(
    "method",
    [
        ports.Reads.tenant,
        ports.Reads.request,
        ports.Reads.requests_for,
        ports.Reads.history,
        ports.Reads.catalog,
        ports.Reads.open_version_updates,
    ],
    ids=lambda m: m.__name__,
)
def test_the_annotations_of_the_storage_port_resolve(method: Callable[..., Any]) -> None:
    """The port a storage plugin implements: its signatures as a host or Sphinx reads them."""
    typing.get_type_hints(method)


def test_unit_apply_annotations_resolve_once_a_port_value_was_used() -> None:
    """The documented limit of the lazy values (``ports._LAZY``), and its way out."""
    proc = _fresh(
        """
        import typing
        from siteupdates import ports
        ports.ChangeSet  # loads the values into the module's namespace
        hints = typing.get_type_hints(ports.Unit.apply)
        assert hints["changes"] is ports.ChangeSet, hints
        """
    )
    assert proc.returncode == 0, proc.stderr[-800:]


# -- guards: the first load, import *, dir, help, pickles -------------------------------


def test_many_threads_touching_the_lazy_values_at_once_get_one_class_each() -> None:
    proc = _fresh(
        """
        import sys, threading
        for attempt in range(20):
            for m in [m for m in sys.modules if m.startswith("siteupdates")]:
                del sys.modules[m]
            from siteupdates import ports
            barrier, seen, errors = threading.Barrier(8), [], []
            names = ["ChangeSet", "OutboxItem", "OutboxState", "Setup"]
            def touch(i):
                try:
                    barrier.wait()
                    seen.append(tuple(getattr(ports, n) for n in names))
                except BaseException as exc:
                    errors.append(repr(exc))
            threads = [threading.Thread(target=touch, args=(i,)) for i in range(8)]
            for t in threads: t.start()
            for t in threads: t.join()
            assert not errors, errors
            assert len(set(seen)) == 1, seen
            from siteupdates import _portvalues
            assert seen[0] == tuple(getattr(_portvalues, n) for n in names)
        print("ok")
        """
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-800:]


def test_star_import_dir_and_help_see_every_lazy_value() -> None:
    proc = _fresh(
        """
        import pydoc
        from siteupdates import ports
        lazy = sorted(ports._LAZY)
        assert set(lazy) <= set(dir(ports)), dir(ports)
        ns = {}
        exec("from siteupdates.ports import *", ns)
        assert set(ports.__all__) <= set(ns), sorted(set(ports.__all__) - set(ns))
        assert ns["ChangeSet"] is ports.ChangeSet
        text = pydoc.render_doc(ports, renderer=pydoc.plaintext)
        assert all(name in text for name in lazy)
        print("ok")
        """
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-800:]


def test_pickles_made_when_the_values_lived_in_ports_still_load() -> None:
    """A queue or cache may hold values pickled by the last release (siteupdates.ports.X)."""
    item = ports.OutboxItem("o1", "k1", "notice", "r1", {"a": 1}, datetime(2026, 3, 1, tzinfo=UTC))
    blob = pickle.dumps(item, protocol=2)
    old = blob.replace(b"siteupdates._portvalues", b"siteupdates.ports")
    assert old != blob
    proc = _fresh(
        f"""
        import pickle
        item = pickle.loads({old!r})
        from siteupdates import ports
        assert type(item) is ports.OutboxItem and item.state is ports.OutboxState.PENDING
        print("ok")
        """
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-800:]


def test_a_change_set_pickled_in_one_process_loads_in_a_fresh_one() -> None:
    """What multiprocessing (spawn) does with a change set: the new process loads lazily."""
    cs = ports.ChangeSet(
        outbox=(
            ports.OutboxItem("o1", "k1", "reminder", "r1", {}, datetime(2026, 3, 1, tzinfo=UTC)),
        ),
        fences=(ports.Fence("r1", "w1", 2),),
        withdraw=("r1",),
    )
    proc = _fresh(
        f"""
        import pickle, sys
        cs = pickle.loads({pickle.dumps(cs)!r})
        assert "siteupdates._portvalues" in sys.modules
        assert cs.fences[0].token == 2 and cs.outbox[0].kind == "reminder"
        print("ok")
        """
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-800:]


def test_an_unknown_name_is_an_attribute_error_not_a_load() -> None:
    proc = _fresh(
        """
        import sys
        from siteupdates import ports
        assert not hasattr(ports, "Nope") and not hasattr(ports, "enum")
        assert "siteupdates._portvalues" not in sys.modules
        print("ok")
        """
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-800:]


def test_a_writing_command_in_a_fresh_process_loads_the_values_it_needs(tmp_path: Any) -> None:
    """The start-up test runs only ``list``; a write in a fresh process must load them too."""
    db = tmp_path / "s.db"
    proc = _fresh(
        f"""
        from datetime import datetime
        from siteupdates.service import Desk
        from siteupdates.testing import FixedClock, sample_setup
        with Desk.open("sqlite:///{db}", clock=FixedClock()) as desk:
            desk.load_setup(sample_setup())
        from siteupdates.cli import main
        now = ["--now", "2026-03-01T12:00:00+00:00"]
        args = [*now, "--db", "{db}", "submit", "--as", "dana", "--tenant", "d1",
                "--target", "staging", "--version", "E.1505.2", "--at", "2026-03-07T22:00"]
        assert main(args) == 0
        assert main([*now, "--db", "{db}", "schedule"]) == 0
        assert main([*now, "--db", "{db}", "outbox"]) == 0
        """
    )
    assert proc.returncode == 0, proc.stderr[-1500:]
