"""Start-up: installed plugins load when needed, and a read command imports little."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, List, Tuple

import pytest

from siteupdates.domain.messages import Notice
from siteupdates.hookspecs import hookimpl
from siteupdates.plugins import PluginHost
from siteupdates.service import Desk
from siteupdates.testing import FixedClock, sample_setup

GENERAL = """
from siteupdates.hookspecs import hookimpl
seen = []

@hookimpl
def siteupdates_configure(settings):
    seen.append(("configure", dict(settings)))

@hookimpl
def siteupdates_deliver_notice(notice):
    seen.append(("notice", notice.key))
    return True
"""

STORAGE = """
from siteupdates.builtin.memory import MemoryStorage
from siteupdates.hookspecs import hookimpl
seen = []

@hookimpl
def siteupdates_configure(settings):
    seen.append(dict(settings))

@hookimpl
def siteupdates_storage(url):
    return MemoryStorage(url) if url.startswith("fake://") else None
"""


def _distribution(root: Path, name: str, module: str, source: str, entry_points: str) -> None:
    (root / f"{module}.py").write_text(textwrap.dedent(source))
    info = root / f"{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    _distribution(tmp_path, "su-general", "su_general", GENERAL,
                  "[siteupdates]\nsu_general = su_general\n")  # fmt: skip
    _distribution(tmp_path, "su-fakestore", "su_fakestore", STORAGE,
                  "[siteupdates.storage]\nfake = su_fakestore\n")  # fmt: skip
    monkeypatch.syspath_prepend(str(tmp_path))
    for m in ("su_general", "su_fakestore"):
        monkeypatch.delitem(sys.modules, m, raising=False)
    return tmp_path


def _notice(key: str) -> Notice:
    return Notice(key, "accepted", "r1", "d1", "dana", "dana@d1.example", "s", "b",
                  datetime(2026, 3, 1, tzinfo=timezone.utc))  # fmt: skip


class Mine:
    """A host's notifier that declines, so the next one is asked."""

    def __init__(self) -> None:
        self.seen: List[str] = []

    @hookimpl
    def siteupdates_deliver_notice(self, notice: Notice) -> Any:
        self.seen.append(notice.key)
        return None  # ask the next notifier


def test_installed_plugins_load_on_first_need_configured_and_after_the_hosts_own(
    installed: Path,
) -> None:
    mine = Mine()
    host = PluginHost(plugins=[mine], entry_points=True)
    host.configure({"smtp": {}})  # a built-in's table only: nothing else to check
    desk = Desk.open("memory://", host=host, clock=FixedClock())
    assert "su_general" not in sys.modules and "su_fakestore" not in sys.modules
    desk.load_setup(sample_setup())
    assert host.deliver_notice(_notice("k1"))
    general = sys.modules["su_general"]
    # Configured with the last settings before its first notice, and asked after
    # the host's own notifier, as when installed plugins loaded at construction.
    assert general.seen == [("configure", {}), ("notice", "k1")]
    assert mine.seen == ["k1"]
    assert "su_general" in host.names()
    assert "su_fakestore" not in sys.modules  # a storage plugin waits for its scheme
    desk.close()


def test_a_storage_plugin_is_found_by_scheme_and_loads_alone(installed: Path) -> None:
    host = PluginHost(entry_points=True)
    desk = Desk.open("fake://one", host=host, clock=FixedClock())
    assert desk.storage.url == "fake://one"
    assert sys.modules["su_fakestore"].seen == [{}]  # configured like every plugin
    assert "su_general" not in sys.modules
    assert "fake" in host.names()
    desk.close()
    blocked = PluginHost(entry_points=True, blocked=["fake"])
    with pytest.raises(Exception, match="no plugin handles"):
        blocked.storage("fake://two")


def test_a_table_for_an_installed_plugin_loads_it_at_once(installed: Path) -> None:
    host = PluginHost(entry_points=True)
    host.configure({"general": {"x": 1}})
    assert sys.modules["su_general"].seen == [("configure", {"general": {"x": 1}})]


#: What each read command needs beyond the others: the overview is a domain view, and
#: the sample tenant has a site updated automatically, whose mark the preset decides (R11).
_OVERVIEW = {"siteupdates.domain.views", "siteupdates.domain.preset", "siteupdates.domain.windows"}
_READ_COMMANDS = {
    ("list", "--as", "dana"): set(),
    ("overview", "--as", "dana"): _OVERVIEW,
    ("contact", "overview", "--as", "dana"): _OVERVIEW,
}


@pytest.mark.parametrize("command", sorted(_READ_COMMANDS))
def test_a_read_command_on_sqlite_imports_no_other_plugin(
    tmp_path: Path, command: Tuple[str, ...]
) -> None:
    db = tmp_path / "s.db"
    with Desk.open(f"sqlite:///{db}", clock=FixedClock()) as desk:
        desk.load_setup(sample_setup())
    code = textwrap.dedent(
        f"""
        import sys
        from siteupdates.cli import main
        assert main(["--db", {str(db)!r}, *{list(command)!r}]) == 0
        print(" ".join(sorted(sys.modules)))
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    loaded = set(proc.stdout.split())
    unwanted = {"psycopg", "siteupdates_postgres", "siteupdates_ical", "importlib.metadata",
                "smtplib", "siteupdates.domain.planner", "siteupdates.app.worker",
                # Issue 13: what a read needs neither parses the preset nor plans nor
                # logs nor writes; each of these once cost a read command milliseconds.
                "siteupdates.setupfile", "siteupdates.domain.preset",
                "siteupdates.domain.policies", "siteupdates.domain.windows",
                "siteupdates.domain.messages",
                "siteupdates.domain.scheduling_settings", "dateutil", "logging", "uuid",
                "shutil", "pathlib", "tomllib", "difflib", "urllib.parse",
                # The values that cross the storage port: ten attrs classes, ~5 ms.
                "siteupdates._portvalues", "siteupdates.domain.views",
                # Issue 26: operations cost nothing until asked for.
                "prometheus_client", "opentelemetry", "siteupdates.metrics",
                "siteupdates.tracing", "siteupdates.webhooks", "siteupdates.app.health",
                "hmac", "http.client", "contextvars",
                # Issue 24: the built-in notifiers, webhooks and memory store register
                # only when needed (lazy_builtins), and a refusal's value only when one
                # is made: a read command on SQLite needs none of them.
                "siteupdates.builtin.memory", "siteupdates.builtin.smtp",
                "siteupdates.builtin.lognotify", "siteupdates.builtin.webhooks",
                "siteupdates.refusal"}  # fmt: skip
    unwanted -= _READ_COMMANDS[command]
    # What the baseline loads anyway is not the library's to avoid (argparse imports
    # shutil at the top on Python 3.8, say).
    bare = subprocess.run(
        [sys.executable, "-c",
         "import sys, argparse, attrs, pluggy, sqlite3; print(' '.join(sys.modules))"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert sorted(loaded & (unwanted - set(bare))) == []
    assert "siteupdates.builtin.sqlite" in loaded


def test_built_ins_registered_on_first_need_are_asked_after_the_hosts_plugins() -> None:
    mine = Mine()
    host = PluginHost(plugins=[mine], lazy_builtins=True)
    assert host.pm.get_plugin("siteupdates.notify.log") is None  # nothing needed them yet
    desk = Desk.open("sqlite:///:memory:", host=host, clock=FixedClock())
    assert host.pm.get_plugin("siteupdates.storage.sqlite") is not None
    assert host.pm.get_plugin("siteupdates.storage.memory") is None  # another scheme
    eager = PluginHost(plugins=[Mine()]).notifiers()
    assert host.notifiers() == [host.pm.get_name(mine), *eager[1:]]
    other = Mine()
    eager_delivered = PluginHost(plugins=[other]).deliver_notice(_notice("k1"))
    assert host.deliver_notice(_notice("k1")) == eager_delivered
    assert mine.seen == other.seen == ["k1"]  # asked first, as when built-ins came first
    desk.close()


def test_a_built_in_table_registers_the_built_ins_at_once_to_check_it() -> None:
    from siteupdates.errors import ConfigurationError

    host = PluginHost(lazy_builtins=True)
    host.configure({})
    assert host.pm.get_plugin("siteupdates.notify.smtp") is None
    with pytest.raises(ConfigurationError, match="SMTP URL"):
        host.configure({"smtp": {"url": "http://nope"}})
    configured = PluginHost(lazy_builtins=True)
    configured.configure({"smtp": {"url": "smtp://127.0.0.1:1?from=ops@example.org"}})
    smtp = configured.pm.get_plugin("siteupdates.notify.smtp")
    assert smtp is not None and smtp.notifier is not None
    later = PluginHost(lazy_builtins=True)
    later.configure({"health": {"x": 1}})  # a built-in's table: they register, configured
    health = later.pm.get_plugin("siteupdates.ops.health")
    assert health is not None and health.table == {"x": 1}
    blocked = PluginHost(lazy_builtins=True, blocked=["siteupdates.notify.log"])
    assert "siteupdates.notify.log" not in blocked.notifiers()
    assert blocked.pm.get_plugin("siteupdates.notify.webhooks") is not None


def test_importing_desk_loads_the_declarations_not_the_application_layer() -> None:
    """Issue 24: ``from siteupdates import Desk`` costs about ``import attrs, pluggy``.

    Checked by what is imported, not by timing: the application layer, the
    domain model, the plugin host and the storage code load when a desk is
    made, the handles' methods when first looked up. (``sys.modules`` rather
    than ``-X importtime``, which does not list what ``importlib`` imports, as
    the package's lazy names are.)
    """
    code = "import sys; from siteupdates import Desk; print(' '.join(sorted(sys.modules)))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    loaded = set(proc.stdout.split())
    assert "siteupdates.service" in loaded and "siteupdates.usecases.catalog" in loaded
    unwanted = {"siteupdates.app", "siteupdates.app.bootstrap", "siteupdates.app.contact",
                "siteupdates.domain.model", "siteupdates.domain.lifecycle",
                "siteupdates.plugins", "siteupdates.ports", "siteupdates.sql",
                "siteupdates.builtin", "siteupdates.cli", "siteupdates.metrics",
                "siteupdates.observe", "pluggy", "zoneinfo"}  # fmt: skip
    assert sorted(loaded & unwanted) == []


def test_a_handle_method_made_on_first_lookup_is_the_declared_one() -> None:
    from siteupdates.service import ContactDesk

    method = ContactDesk.submit
    assert method is ContactDesk.submit  # made once, then an ordinary function
    assert method.__qualname__ == "ContactDesk.submit"
    assert "tenant_id" in str(method.__signature__)  # type: ignore[attr-defined]
    assert method.__doc__ and ":param tenant_id:" in method.__doc__


def test_the_names_service_reexports_still_resolve() -> None:
    from siteupdates import service
    from siteupdates.app.contact import Submission
    from siteupdates.app.reference import SetupReport

    assert service.Submission is Submission and service.SetupReport is SetupReport
    with pytest.raises(AttributeError):
        service.nothing_here  # noqa: B018
