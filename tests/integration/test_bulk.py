"""Desk.submit_many: every rule per draft, one transaction, the same answers as one by one."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import List, Optional, Tuple

import pytest

from siteupdates.cli import main
from siteupdates.domain import RequestDraft, Status
from siteupdates.errors import AccessDenied, InvalidInput, RequestRefused
from siteupdates.plugins import PluginHost
from siteupdates.service import Desk
from siteupdates.testing import FixedClock, sample_setup

AT = datetime(2026, 3, 7, 22)


def _draft(tenant: str, target: str, version: Optional[str], refresh: bool = False,
           at: Optional[datetime] = AT) -> RequestDraft:  # fmt: skip
    return RequestDraft(tenant, target, version, refresh, at)


MIX = [
    _draft("d1", "staging", "E.1450.4"),  # accepted
    _draft("d1", "staging", None, True),  # accepted: a refresh beside an open update
    _draft("d1", "preview", None, True),  # R3: no preview site
    _draft("d2", "staging", None, True),  # R22: not dana's tenant
    _draft("d1", "production/sandbox", "E.1505.1"),  # R5: not the latest pack
    _draft("d1", "staging", "E.1450.4"),  # R17: the first one stands
    _draft("d1", "production/sandbox", "E.1505.2", at=None),  # R12: no date
    _draft("d1", "production/sandbox", "E.1505.2"),  # accepted, with R14/R8 warnings maybe
]


def _one_by_one(desk: Desk, drafts: List[RequestDraft]) -> List[Tuple[str, ...]]:
    out: List[Tuple[str, ...]] = []
    for d in drafts:
        try:
            sub = desk.submit(
                "dana", d.tenant_id, d.target.value, None if d.version is None else str(d.version),
                db_refresh=d.db_refresh, at=d.local_start,  # type: ignore[arg-type]
            )  # fmt: skip
            out.append(("accepted", *map(str, sub.warnings)))
        except RequestRefused as exc:
            out.append(("refused", *exc.rules))
        except (AccessDenied, InvalidInput):
            out.append(("refused", "R22"))
    return out


def test_a_batch_gets_the_answers_of_one_submit_after_another(desk: Desk, tmp_path: Path) -> None:
    other = Desk.open(f"sqlite:///{tmp_path / 'other.db'}", clock=FixedClock(),
                      host=PluginHost(entry_points=False))  # fmt: skip
    other.load_setup(sample_setup())
    results = desk.submit_many("dana", MIX)
    got = [
        ("accepted", *map(str, r.submission.warnings))
        if r.submission
        else ("refused", *(x.rule for x in r.refusals))
        for r in results
    ]
    # One submit at a time raises R12 for a missing date at the call: compare the rest.
    expected = _one_by_one(other, [d for d in MIX if d.local_start is not None])
    assert [g for g, d in zip(got, MIX) if d.local_start is not None] == expected
    assert got[6] == ("refused", "R12")
    assert [r.index for r in results] == list(range(len(MIX)))
    accepted = [r.request for r in results if r.request is not None]
    assert len(accepted) == 3
    for r in accepted:
        stored = desk.find(r.id)
        assert stored == r and stored.status is Status.TO_BE_SCHEDULED
        assert [h.event.value for h in desk.history(r.id)] == ["submit"]
        assert desk.storage.outbox(request_id=r.id), "the notice is written with the request"
    other.close()


def test_r17_within_a_batch_a_newer_version_supersedes_the_older_of_the_same_batch(
    desk: Desk,
) -> None:
    results = desk.submit_many("dana", [
        _draft("d1", "staging", "E.1450.4"),
        _draft("d1", "staging", "E.1505.2"),
        _draft("d1", "staging", "E.1505.2"),
    ])  # fmt: skip
    first, second, third = results
    assert first.accepted and second.accepted and not third.accepted
    assert [x.rule for x in third.refusals] == ["R17"]
    assert second.submission is not None and first.request is not None
    assert second.submission.superseded == (first.request.id,)
    old = desk.find(first.request.id)
    assert old.status is Status.NEW_VERSION_REQUESTED
    assert old.superseded_by == second.request.id  # type: ignore[union-attr]
    assert [h.event.value for h in desk.history(old.id)] == ["submit", "supersede"]


def test_idempotency_keys_replay_a_batch_and_repeat_within_one(desk: Desk) -> None:
    drafts = [_draft("d1", "staging", None, True), _draft("d1", "preview", None, True)]
    keys = ["a", "b"]
    first = desk.submit_many("dana", drafts, idempotency_keys=keys)
    again = desk.submit_many("dana", drafts, idempotency_keys=keys)
    assert first[0].request == again[0].request and again[0].submission.replayed  # type: ignore[union-attr]
    assert not again[1].accepted  # refused drafts have nothing to replay
    twice = desk.submit_many("dana", [drafts[0], drafts[0]], idempotency_keys=["c", "c"])
    assert twice[0].request == twice[1].request and twice[1].submission.replayed  # type: ignore[union-attr]
    page = desk.requests("dana", "d1")
    assert page.total == 2


def test_bad_batches_are_refused_whole(desk: Desk) -> None:
    with pytest.raises(AccessDenied):
        desk.submit_many("nobody", [_draft("d1", "staging", None, True)])
    with pytest.raises(InvalidInput, match="one per draft"):
        desk.submit_many("dana", [_draft("d1", "staging", None, True)], idempotency_keys=[])
    with pytest.raises(InvalidInput, match="RequestDraft"):
        desk.submit_many("dana", ["d1"])  # type: ignore[list-item]


def test_the_command_line_submits_csv_and_json_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "cli.db"
    with Desk.open(f"sqlite:///{db}", clock=FixedClock()) as d:
        d.load_setup(sample_setup())
    csv_file = tmp_path / "drafts.csv"
    csv_file.write_text(
        "tenant,target,version,refresh,at,key\n"
        "d1,staging,,yes,2026-03-07 22:00,k1\n"
        "d1,preview,,yes,2026-03-07 22:00,k2\n"
    )
    base = ["--db", str(db), "--now", "2026-03-01T12:00:00Z", "--json"]
    assert main([*base, "submit-many", "--as", "dana", str(csv_file)]) == 1
    data = json.loads(capsys.readouterr().out)
    assert [x["accepted"] for x in data] == [True, False]
    assert data[1]["refusals"][0]["rule"] == "R3"
    jsonl = tmp_path / "drafts.jsonl"
    jsonl.write_text(
        json.dumps({"tenant": "d1", "target": "staging", "refresh": True,
                    "at": "2026-03-08 22:00", "key": "k1"}) + "\n"
        + json.dumps({"tenant": "d1", "target": "production/sandbox", "version": "E.1505.2",
                      "at": "2026-03-08 22:00"}) + "\n"
    )  # fmt: skip
    assert main([*base, "submit-many", "--as", "dana", str(jsonl)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data[0]["replayed"] and data[1]["accepted"]
    bad = tmp_path / "bad.csv"
    bad.write_text("tenant,target,refresh\nd1,staging,maybe\n")
    assert main([*base, "submit-many", "--as", "dana", str(bad)]) == 2
    assert "line 2" in capsys.readouterr().err
