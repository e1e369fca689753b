"""One test per class of defect the hostile-input issue found, named after it."""

from __future__ import annotations

import copy
import sqlite3
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, Tuple

import pytest

from siteupdates import checks
from siteupdates.cli import EXIT
from siteupdates.domain.timeutil import parse_ts, to_instant, ts
from siteupdates.errors import (
    AccessDenied,
    ConfigurationError,
    InvalidInput,
    NonexistentLocalTime,
    SiteUpdatesError,
    StorageError,
    WrongType,
)
from siteupdates.plugins import PluginHost
from siteupdates.service import Desk
from siteupdates.setupfile import setup_from_dict
from tests.hostile import census

UTC = timezone.utc
NOW = datetime(2015, 2, 2, 10, 39, tzinfo=UTC)


def cli(db: Path, *args: str) -> census.Outcome:
    return census.run_cli(["--db", str(db), "--now", census.NOW, *args])


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "d.db"
    assert cli(path, "apply", str(census.SETUP)).code == 0
    return path


@pytest.fixture
def desk(tmp_path: Path) -> Desk:
    d = Desk.open(f"sqlite:///{tmp_path / 'api.db'}", host=PluginHost(entry_points=False),
                  clock=lambda: NOW)  # fmt: skip
    d.apply_setup(census._load_example(), by="setup")
    return d


def one_line(o: census.Outcome, code: int) -> str:
    assert o.tb is None and o.code == code, (o.code, o.err, o.tb)
    assert len(o.err.strip().splitlines()) == 1
    return o.err


# -- the command line -------------------------------------------------------------------


def test_bad_utf8_in_an_argument_is_one_line_and_status_2(db: Path) -> None:
    err = one_line(cli(db, "list", "--as", census.BAD_UTF8), EXIT["usage"])
    assert "not valid UTF-8" in err


@pytest.mark.parametrize("at", ["0001-01-01 00:00", "9999-12-31 23:59", "0999-01-01 00:00"])
def test_dates_at_the_edges_of_the_calendar_are_refused_not_overflowed(db: Path, at: str) -> None:
    err = one_line(cli(db, "submit", "--as", "dana", "--target", "staging", "--version",
                       "E.1505.2", "--at", at), EXIT["usage"])  # fmt: skip
    assert "1900-01-01 to 2999-12-31" in err
    one_line(cli(db, "cloud-week", "--week-of", at[:10]), EXIT["usage"])


@pytest.mark.parametrize("now", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"])
def test_an_extreme_now_is_refused_not_overflowed(db: Path, now: str) -> None:
    o = census.run_cli(["--db", str(db), "--now", now, "queue"])
    assert "1900-01-01" in one_line(o, EXIT["usage"])


@pytest.mark.parametrize("value", ["100000000000000000000000000", "-1", "0"])
def test_limit_and_horizon_days_far_out_of_range_are_refused(db: Path, value: str) -> None:
    one_line(cli(db, "queue", "--limit", value), EXIT["usage"])
    one_line(cli(db, "list", "--as", "dana", "--limit", value), EXIT["usage"])
    one_line(cli(db, "schedule", "--horizon-days", value, "--dry-run"), EXIT["usage"])
    one_line(cli(db, "queue", "--limit", "1e26"), EXIT["usage"])  # argparse's own refusal


@pytest.mark.parametrize("spec", [":", "", "a:b:c", "json:nope", "nonexistent_module_xyz"])
def test_plugin_specs_that_name_nothing_are_configuration_errors(db: Path, spec: str) -> None:
    one_line(cli(db, "--plugin", spec, "queue"), EXIT["setup"])


@pytest.mark.parametrize("url", ["smtp://[::1", "smtp://host:99999", "smtps://h:port"])
def test_a_malformed_smtp_url_is_a_configuration_error(db: Path, url: str) -> None:
    assert "SMTP URL" in one_line(cli(db, "--smtp", url, "queue"), EXIT["setup"])


def test_a_malformed_postgresql_url_is_a_configuration_error(tmp_path: Path) -> None:
    o = census.run_cli(["--url", "postgresql://[::1", "queue"])
    assert "malformed PostgreSQL URL" in one_line(o, EXIT["setup"])


def test_a_db_that_is_not_sqlite_is_refused_and_left_alone(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("notes\n" * 100)
    one_line(census.run_cli(["--db", str(text), "queue"]), EXIT["setup"])
    assert text.read_text() == "notes\n" * 100
    other = tmp_path / "other.db"
    con = sqlite3.connect(str(other))
    con.execute("CREATE TABLE things (x)")
    con.commit()
    con.close()
    before = other.read_bytes()
    err = one_line(census.run_cli(["--db", str(other), "apply", str(census.SETUP)]),
                   EXIT["setup"])  # fmt: skip
    assert "another program" in err and other.read_bytes() == before


WORKER_OPTIONS = [("--lease", "nan"), ("--lease", "inf"), ("--batch", "-1"), ("--poll", "-5"),
                  ("--max-attempts", "0")]  # fmt: skip


@pytest.mark.parametrize(("option", "value"), WORKER_OPTIONS)
def test_worker_options_out_of_range_are_refused(db: Path, option: str, value: str) -> None:
    one_line(cli(db, "worker", "--id", "w", option, value, "--until-idle"), EXIT["usage"])


def test_an_unforeseen_error_is_still_one_line_with_its_own_status(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*_: Any, **__: Any) -> None:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(Desk, "call", boom)  # the one way every command runs a use case
    err = one_line(cli(db, "queue"), EXIT["internal"])
    assert "internal error ZeroDivisionError: boom" in err and "SITEUPDATES_DEBUG" in err


# -- setup files --------------------------------------------------------------------------


def _tree(change: Any) -> Dict[str, Any]:
    tree = copy.deepcopy(census._load_example())
    change(tree)
    return tree


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["provider"].__setitem__("capcity", 4),
         "provider.capcity: unknown key (did you mean 'capacity'?)"),
        (lambda d: d["tenants"][0].__setitem__("grup", "state-mn"),
         "tenants[0].grup: unknown key (did you mean 'group'?)"),
        (lambda d: d.__setitem__("blackouts", {"from": "2015-12-24"}),
         "blackouts: unknown key; accepted keys here: catalog, provider"),
        (lambda d: d["contacts"][0].__setitem__("tenants", 5),
         "contacts[0].tenants: expected a list, not a number"),
        (lambda d: d["tenants"][0].__setitem__("group", ["g"]),
         "tenants[0].group: expected a string, not a list"),
        (lambda d: d["provider"].__setitem__("windows", 5), "provider.windows: expected a list"),
        (lambda d: d["provider"].__setitem__("plans", 5), "provider.plans: expected a table"),
        (lambda d: d["tenants"].append(dict(d["tenants"][1])),
         "tenants[4].id: 'birch' is also the ID of tenants[1]"),
        (lambda d: d["tenants"][0]["sites"][0].__setitem__("since", "0001-01-01 00:00"),
         "tenants[0].sites[0].since: date-time 0001-01-01T00:00:00 is out of range"),
        (lambda d: d["tenants"][0]["sites"][0].__setitem__("since", "9999-12-31 23:00"),
         "tenants[0].sites[0].since"),
        (lambda d: d["provider"].__setitem__("update_duration_minutes", 10**18),
         "provider.update_duration_minutes: update_duration_minutes 1000000000"),
        (lambda d: d["provider"].__setitem__("capacity", "4"),
         "provider.capacity: expected a whole number, not a string '4'"),
        (lambda d: d["contacts"][0].__setitem__("email", "dana@maple.example, eve@x.example"),
         "contacts[0].email: email 'dana@maple.example, eve@x.example' is not one email"),
        (lambda d: d["contacts"][0].__setitem__("email", ["dana@maple.example"]),
         "contacts[0].email: expected a string, not a list"),
        (lambda d: d["contacts"][0].__setitem__("email", "d@m.example\r\nBcc: eve@x.example"),
         "contacts[0].email: email holds a carriage return"),
        (lambda d: d["contacts"][0].__setitem__("id", "da\x00na"),
         "contacts[0].id: id holds a NUL character"),
        (lambda d: d["tenants"][0].__setitem__("name", "Maple\nGrove"),
         "tenants[0].name: name holds a line break"),
    ],
)  # fmt: skip
def test_a_malformed_setup_names_the_place_and_what_is_accepted(
    change: Any, expected: str
) -> None:
    with pytest.raises(ConfigurationError) as err:
        setup_from_dict(_tree(change))
    assert expected in str(err.value)


def test_a_setup_file_of_bad_utf8_or_nested_5000_deep_is_one_line(tmp_path: Path) -> None:
    f = tmp_path / "s.toml"
    f.write_bytes(census.SETUP.read_bytes() + b"\n# caf\xe9\n")
    err = one_line(census.run_cli(["--db", str(tmp_path / "a.db"), "apply", str(f)]),
                   EXIT["setup"])  # fmt: skip
    assert "not valid UTF-8 (line" in err
    f.write_text(census._deep(5000))
    err = one_line(census.run_cli(["--db", str(tmp_path / "b.db"), "apply", str(f)]),
                   EXIT["setup"])  # fmt: skip
    assert "nests too deeply" in err


def test_a_refused_setup_writes_nothing(db: Path, tmp_path: Path) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(census.SETUP.read_text() + "\n[plugins.x]\nwhen = 1979-05-27\n")
    before = census.dump(db)
    one_line(cli(db, "apply", str(f)), EXIT["setup"])
    assert census.dump(db) == before


# -- the Python API ---------------------------------------------------------------------


def test_defer_with_bytes_is_wrong_type_and_nothing_is_stored(desk: Desk) -> None:
    rid = desk.submit("dana", "maple", "staging", "E.1505.2",
                      at=datetime(2015, 2, 14, 1)).request.id  # fmt: skip
    before = desk.find(rid)
    with pytest.raises(WrongType):
        desk.defer(rid, b"bytes")  # type: ignore[arg-type]
    assert desk.find(rid) == before and len(desk.history(rid)) == 1


def test_a_nul_character_is_refused_before_it_reaches_the_store(desk: Desk) -> None:
    rid = desk.submit("dana", "maple", "staging", "E.1505.2",
                      at=datetime(2015, 2, 14, 1)).request.id  # fmt: skip
    with pytest.raises(InvalidInput, match="NUL"):
        desk.defer(rid, "on hold\x00")
    with pytest.raises(InvalidInput, match="NUL"):
        desk.submit("dana", "maple", "staging", "E.1505.2", at=datetime(2015, 2, 14, 1),
                    idempotency_key="k\x00")  # fmt: skip


@pytest.mark.parametrize("text", ["line one\r\nBcc: eve@x.example", "a\nb", "\x1b[2J", "\u202e"])
def test_contact_visible_text_cannot_hold_line_breaks_or_control_characters(
    desk: Desk, text: str
) -> None:
    rid = desk.submit("dana", "maple", "staging", "E.1505.2",
                      at=datetime(2015, 2, 14, 1)).request.id  # fmt: skip
    with pytest.raises(InvalidInput):
        desk.ask_input(rid, text)
    with pytest.raises(InvalidInput):
        desk.fail(rid, text)
    with pytest.raises(InvalidInput):
        desk.reschedule(rid, NOW + timedelta(days=9), text)
    assert len(desk.history(rid)) == 1


def test_provider_dates_in_the_past_are_refused_unless_allowed(desk: Desk, db: Path) -> None:
    rid = desk.submit("dana", "maple", "staging", "E.1505.2",
                      at=datetime(2015, 2, 14, 1)).request.id  # fmt: skip
    with pytest.raises(InvalidInput, match="in the past"):
        desk.schedule(rid, NOW - timedelta(days=1))
    assert desk.schedule(rid, NOW - timedelta(days=1), allow_past=True).scheduled_for
    made = cli(db, "--json", "submit", "--as", "dana", "--target", "staging", "--version",
               "E.1505.2", "--at", "2015-02-14 01:00")  # fmt: skip
    rid2 = made.out.split('"id": "')[1][:32]
    one_line(cli(db, "schedule", rid2, "--at", "2015-01-01 10:00"), EXIT["usage"])
    assert cli(db, "schedule", rid2, "--at", "2015-01-01 10:00", "--allow-past").code == 0


# -- storage ----------------------------------------------------------------------------


def test_dates_before_year_1000_are_written_zero_padded_and_read_back() -> None:
    for value in (datetime(999, 1, 1, tzinfo=UTC), datetime(1, 1, 1, tzinfo=UTC),
                  datetime(9999, 12, 31, 23, 59, tzinfo=UTC)):  # fmt: skip
        text = ts(value)
        assert text is not None and text[:4] == f"{value.year:04d}" and parse_ts(text) == value
    with pytest.raises(ValueError, match="is not YYYY"):
        parse_ts("999-01-01T00:00:00+00:00")


def test_a_row_that_cannot_be_decoded_is_reported_with_its_id_and_other_tenants_still_work(
    tmp_path: Path,
) -> None:
    path = tmp_path / "p.db"
    desk = Desk.open(f"sqlite:///{path}", host=PluginHost(entry_points=False), clock=lambda: NOW)
    desk.apply_setup(census._load_example())
    bad = desk.submit("dana", "maple", "staging", "E.1505.2", at=datetime(2015, 2, 14, 1))
    desk.submit("sam", "cedar", "production/sandbox", None, db_refresh=True,
                at=datetime(2015, 2, 14, 1))  # fmt: skip
    desk.close()
    con = sqlite3.connect(str(path))
    con.execute("UPDATE requests SET preferred_start = '999-01-01T00:00:00+00:00' WHERE id = ?",
                (bad.request.id,))  # fmt: skip
    con.commit()
    con.close()
    desk = Desk.open(f"sqlite:///{path}", host=PluginHost(entry_points=False), clock=lambda: NOW)
    with pytest.raises(StorageError, match=f"stored request {bad.request.id} cannot be read"):
        desk.requests("dana", "maple")
    assert desk.requests("sam", "cedar").total == 1
    assert desk.overview("sam", "birch").rows
    desk.close()


# -- reference data follows the file -----------------------------------------------------


def _file(tmp_path: Path, change: Any) -> Path:
    tree = census._load_example()
    change(tree)
    f = tmp_path / "changed.toml"
    f.write_text(census._toml(tree))
    return f


def test_a_contact_removed_from_the_file_loses_access_at_once(db: Path, tmp_path: Path) -> None:
    assert cli(db, "list", "--as", "sam", "--tenant", "birch").code == 0
    f = _file(tmp_path, lambda t: t["contacts"].pop(1))
    assert cli(db, "apply", str(f)).code == 0
    one_line(cli(db, "list", "--as", "sam", "--tenant", "birch"), EXIT["access"])


def test_a_withdrawn_version_is_no_longer_offered_and_requests_keep_theirs(
    desk: Desk, tmp_path: Path
) -> None:
    kept = desk.submit("dana", "maple", "staging", "E.1505.2", at=datetime(2015, 2, 14, 1))
    assert not desk.evaluate("dana", _draft("E.1505.2")).refusals
    tree = census._load_example()
    tree["catalog"] = ["E.1418.2", "E.1450.3", "E.1450.4", "E.1505.1"]
    report = desk.apply_setup(tree, by="ops")
    assert [c.describe() for c in report.changes] == ["removed catalog E.1505.2"]
    assert str(desk.find(kept.request.id).version) == "E.1505.2"
    assert desk.evaluate("dana", _draft("E.1505.2")).refusals


def _draft(version: str) -> Any:
    from siteupdates.domain import RequestDraft

    return RequestDraft("maple", "production/sandbox", version, False, datetime(2015, 2, 14, 1))


def test_removing_a_tenant_with_open_requests_is_refused_with_their_ids(desk: Desk) -> None:
    open_ = desk.submit("sam", "cedar", "production/sandbox", None, db_refresh=True,
                        at=datetime(2015, 2, 14, 1)).request  # fmt: skip
    tree = census._load_example()
    tree["tenants"] = [t for t in tree["tenants"] if t["id"] != "cedar"]
    tree["contacts"][1]["tenants"] = ["aspen", "birch"]
    before = (desk.storage.tenants(), desk.storage.contacts(), desk.audit())
    with pytest.raises(ConfigurationError, match=open_.id[:12]):
        desk.apply_setup(tree)
    assert (desk.storage.tenants(), desk.storage.contacts(), desk.audit()) == before


def test_a_changed_email_is_audited_with_who_when_before_and_after(
    db: Path, tmp_path: Path
) -> None:
    f = _file(tmp_path, lambda t: t["contacts"][0].__setitem__("email", "dana@new.example"))
    o = cli(db, "apply", str(f), "--by", "ops-lee")
    assert (
        o.code == 0
        and "changed contact dana: email dana@maple.example -> dana@new.example" in o.out
    )
    audit = cli(db, "--json", "audit", "--kind", "contact")
    import json

    entries = json.loads(audit.out)
    # JSON instants are in the zone beside them (the provider's default zone).
    at = datetime.fromisoformat(entries[0]["at"])
    assert entries[0]["by"] == "ops-lee" and entries[0]["zone"] == "America/Chicago"
    assert at.replace(second=0, microsecond=0) == datetime(2015, 2, 2, 10, 39, tzinfo=timezone.utc)
    assert entries[0]["before"]["email"] == "dana@maple.example"
    assert entries[0]["after"]["email"] == "dana@new.example"
    assert any(e["action"] == "added" for e in json.loads(cli(db, "--json", "audit").out))


def test_dry_run_prints_the_difference_and_stores_nothing(db: Path, tmp_path: Path) -> None:
    f = _file(tmp_path, lambda t: t["contacts"].pop(1))
    before = census.dump(db)
    o = cli(db, "apply", str(f), "--dry-run")
    assert o.code == 0 and "would have removed contact sam" in o.out
    assert census.dump(db) == before
    assert "no changes" in cli(db, "apply", str(census.SETUP)).out


def test_re_applying_an_older_file_does_not_undo_a_completed_update(desk: Desk) -> None:
    rid = desk.submit("dana", "maple", "staging", "E.1505.2", at=datetime(2015, 2, 14, 1))
    desk.schedule(rid.request.id, NOW + timedelta(days=1))
    for act in (desk.pull, desk.start, desk.complete):
        act(rid.request.id)
    desk.apply_setup(census._load_example())
    staging = desk.tenant("maple").site(_kind("staging"))
    assert staging is not None and str(staging.version) == "E.1505.2"


def _kind(name: str) -> Any:
    from siteupdates.domain import SiteKind

    return SiteKind(name)


# -- R22 --------------------------------------------------------------------------------


def test_idempotent_replay_checks_access_first_and_keys_are_scoped_to_the_tenant(
    desk: Desk,
) -> None:
    first = desk.submit("sam", "cedar", "production/sandbox", None, db_refresh=True,
                        at=datetime(2015, 2, 14, 1), idempotency_key="k1")  # fmt: skip
    tree = census._load_example()
    tree["contacts"][1]["tenants"] = ["aspen", "birch"]  # sam moves off cedar
    desk.apply_setup(tree)
    with pytest.raises(AccessDenied) as replay:
        desk.submit("sam", "cedar", "production/sandbox", None, db_refresh=True,
                    at=datetime(2015, 2, 14, 1), idempotency_key="k1")  # fmt: skip
    with pytest.raises(AccessDenied) as never:
        desk.submit("sam", "no-such-tenant", "staging", "E.1505.2", at=datetime(2015, 2, 14, 1))
    assert str(replay.value) == str(never.value)
    with pytest.raises(InvalidInput, match="choose a new key") as other:
        desk.submit("sam", "birch", "staging", None, db_refresh=True,
                    at=datetime(2015, 2, 14, 1), idempotency_key="k1")  # fmt: skip
    assert first.request.id not in str(other.value)


# -- time -------------------------------------------------------------------------------


def test_apias_skipped_day_names_both_dates() -> None:
    with pytest.raises(NonexistentLocalTime) as err:
        to_instant(datetime(2011, 12, 30, 12), "Pacific/Apia")
    assert "clocks jump from 2011-12-30 00:00 to 2011-12-31 00:00" in str(err.value)


def test_every_check_raises_a_siteupdates_error() -> None:
    cases: Tuple[Any, ...] = (
        lambda: checks.text("t", b"x"), lambda: checks.ident("i", " x"),
        lambda: checks.email("e", "a@b, c@d"), lambda: checks.count("c", True, 0, 1),
        lambda: checks.number("n", float("nan"), 0, 1), lambda: checks.day("d", date(1, 1, 1)),
        lambda: checks.instant("i", datetime(2015, 1, 1)),
    )  # fmt: skip
    for case in cases:
        with pytest.raises(SiteUpdatesError):
            case()
