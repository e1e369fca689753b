"""What the host guides install runs: the systemd units and Kubernetes Deployments of
docs/guides/supervisors.md.

``tests/test_tutorials.py`` runs every guide's code blocks like a tutorial's;
the supervisors guide's files are for a machine this suite is not, so this
module checks them as far as one machine can:

* each unit passes ``systemd-analyze verify`` (with its ``ExecStart`` program
  pointed at this environment's ``siteupdates``), when systemd's tools are here;
* each Deployment parses, selects its own pods and defines every variable its
  command uses;
* every command a unit or a container runs, and every ``SITEUPDATES_*``
  variable they set, is one the command line knows (its own parser decides);
* each command runs, in its one-pass form (``worker --until-idle``, ``deliver``
  without ``--loop``), on a SQLite store holding a due request and notices:
  the request is completed and the notices delivered.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

from siteupdates.cli.parser import build_parser
from siteupdates.domain import Status
from siteupdates.service import Desk
from siteupdates.testing import sample_setup
from tests.notifier_plugin import read_lines
from tests.test_tutorials import ROOT, read_steps

GUIDE = ROOT / "docs" / "guides" / "supervisors.md"
SITEUPDATES = str(Path(sys.executable).with_name("siteupdates"))


def guide_files() -> Dict[str, str]:
    """The files the guide has the reader save, by name."""
    return {s["name"]: s["code"] for s in read_steps(GUIDE) if s["kind"] == "file"}


def units() -> Dict[str, str]:
    return {name: text for name, text in guide_files().items() if name.endswith(".service")}


def unit_commands() -> List[Tuple[str, List[str]]]:
    """Each unit's ``ExecStart`` command, with systemd's ``%H`` and ``%i`` filled in."""
    found = []
    for name, text in units().items():
        for line in text.splitlines():
            if line.startswith("ExecStart="):
                line = line.replace("%H", "host-a").replace("%i", "1")
                found.append((name, shlex.split(line[len("ExecStart=") :])))
    return found


def deployments() -> List[Dict[str, Any]]:
    yaml = pytest.importorskip("yaml")
    manifests = [text for name, text in guide_files().items() if name.endswith(".yaml")]
    assert manifests, "the guide has no Kubernetes manifest"
    return [doc for text in manifests for doc in yaml.safe_load_all(text) if doc]


def container_commands() -> List[Tuple[str, List[str], Dict[str, Any]]]:
    """Each container's command with ``$(VAR)`` filled in, and its env entries by name."""
    found = []
    for doc in deployments():
        for container in doc["spec"]["template"]["spec"]["containers"]:
            env = {e["name"]: e for e in container.get("env", [])}
            command = [re.sub(r"\$\(([A-Z_]+)\)", lambda m: f"pod-{m.group(1).lower()}", a)
                       for a in container["command"]]  # fmt: skip
            found.append((f"{doc['metadata']['name']}/{container['name']}", command, env))
    return found


def test_the_guide_has_units_and_deployments() -> None:
    assert set(units()) >= {"siteupdates-worker@.service", "siteupdates-deliver.service"}
    assert {name for name, _, _ in container_commands()} >= {
        "siteupdates-worker/worker", "siteupdates-deliver/deliver",
    }  # fmt: skip


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_each_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    for name, text in units().items():
        # The program must exist for verify; the guide's path is the reader's machine's.
        local = text.replace("/opt/siteupdates/bin/siteupdates", SITEUPDATES)
        (tmp_path / name).write_text(local, encoding="utf-8")
        proc = subprocess.run(
            ["systemd-analyze", "verify", str(tmp_path / name)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        said = proc.stdout + proc.stderr
        # An unknown key is only a warning to systemd; here it is a mistake in the guide.
        assert proc.returncode == 0 and "Unknown" not in said, f"{name}: {said}"


def test_each_deployment_selects_its_pods_and_defines_what_its_command_uses() -> None:
    for doc in deployments():
        assert doc["apiVersion"] == "apps/v1" and doc["kind"] == "Deployment", doc
        spec = doc["spec"]
        labels = spec["template"]["metadata"]["labels"]
        assert spec["selector"]["matchLabels"].items() <= labels.items(), doc["metadata"]
        assert spec["template"]["spec"]["terminationGracePeriodSeconds"] >= 60
        for container in spec["template"]["spec"]["containers"]:
            env = {e["name"] for e in container.get("env", [])}
            used = {v for arg in container["command"] for v in re.findall(r"\$\(([A-Z_]+)\)", arg)}
            assert used <= env, f"{container['name']} uses {used - env} without defining it"


def _commands() -> List[Tuple[str, List[str]]]:
    return unit_commands() + [(name, command) for name, command, _ in container_commands()]


def test_every_command_and_option_is_one_the_command_line_knows(
    capsys: pytest.CaptureFixture[str],
) -> None:
    parser = build_parser()
    for where, argv in _commands():
        assert Path(argv[0]).name == "siteupdates", (where, argv)
        try:
            parsed = parser.parse_args(argv[1:])
        except SystemExit:
            pytest.fail(f"{where}: the command line refuses {argv}: {capsys.readouterr().err}")
        assert parsed.command == "ops", (where, argv)


def test_every_siteupdates_variable_the_guide_sets_is_read_by_the_library() -> None:
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "src").rglob("*.py"))
    named = set(re.findall(r"\b(SITEUPDATES_[A-Z_]+)=", guide_files()["env"]))
    for _, _, env in container_commands():
        named |= {n for n in env if n.startswith("SITEUPDATES_")}
    assert named >= {"SITEUPDATES_URL", "SITEUPDATES_SMTP_URL"}
    assert not [n for n in named if f'"{n}"' not in source], named


def _one_pass(argv: List[str]) -> List[str]:
    """The command as a test runs it: this environment's program, and one pass."""
    command = [SITEUPDATES, *argv[1:]]
    if "worker" in command:
        command.append("--until-idle")
    return [a for a in command if a != "--loop"]


@pytest.mark.slow
def test_r20_each_command_the_units_and_pods_run_completes_a_due_update_and_tells(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    desk = Desk.open(url)
    desk.provider.load_setup(sample_setup())
    at = datetime.now() + timedelta(days=7)
    rid = (
        desk.contact("dana")
        .submit("d1", target="staging", version=None, db_refresh=True, at=at.replace(hour=22))
        .request.id
    )
    desk.provider.schedule(rid, datetime.now(timezone.utc) - timedelta(minutes=1),
                           allow_past=True)  # fmt: skip
    desk.close()
    env = {
        **os.environ,
        "SITEUPDATES_URL": url,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "SU_TEST_PERFORMED": str(tmp_path / "performed.jsonl"),
        "SU_TEST_SENT": str(tmp_path / "sent.jsonl"),
        "SU_TEST_UPDATE_SECONDS": "0",
    }
    env.pop("SITEUPDATES_NOW", None)
    plugins = ["--plugin", "tests.notifier_plugin:FencedUpdater",
               "--plugin", "tests.notifier_plugin:FileNotifier"]  # fmt: skip
    # Workers first, so that the deliverers have the completion's notice to send too.
    ordered = sorted(_commands(), key=lambda c: "deliver" in c[1])
    for where, argv in ordered:
        command = _one_pass(argv)
        proc = subprocess.run(
            [command[0], *plugins, *command[1:]], env=env, cwd=tmp_path,
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert proc.returncode == 0, f"{where}: {command}: {proc.stdout}{proc.stderr}"
    performed = read_lines(str(tmp_path / "performed.jsonl"))
    assert [p["request"] for p in performed] == [rid]  # once, by the first worker
    sent = read_lines(str(tmp_path / "sent.jsonl"))
    assert len(sent) >= 2 and len({s["key"] for s in sent}) == len(sent)  # each notice once
    desk = Desk.open(url)
    assert desk.provider.find(rid).status is Status.COMPLETED
    assert not [o for o in desk.provider.outbox() if o.state.value != "delivered"]
    desk.close()
