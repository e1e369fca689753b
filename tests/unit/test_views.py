"""R11, R19, R21: the overview and the request list."""

from __future__ import annotations

from datetime import datetime, timedelta

from siteupdates.domain import Site, Status, overview, request_list
from siteupdates.presets import CAMPUS_HOSTING
from tests.factories import NOW, UTC, district, request


def test_r21_the_overview_of_the_source_document() -> None:
    scheduled = request(
        "r1", status="scheduled", scheduled_for=datetime(2015, 2, 14, 10, tzinfo=UTC)
    )
    made = datetime(2015, 2, 2, 10, 39, tzinfo=UTC)
    ov = overview(district(plan="asp"), [scheduled], viewer_zone="America/Chicago", now=made)
    texts = [(r.site.value, r.text, r.label) for r in ov.rows]
    assert texts == [
        ("production", "E.1450.4 - Jan. 10, 2015", "CURRENT"),
        ("production", "E.1505.2 - Feb. 14, 2015", "SCHEDULED"),
        ("staging", "E.1418.2 - May. 2, 2014", "CURRENT"),
        ("sandbox", "Refresh - Aug. 23, 2014", "CURRENT"),
    ]
    # The source document's order even when the tenant lists its sites otherwise,
    # and the scheduled row knows its request's status (shown with its meaning).
    assert [r.status for r in ov.rows] == [None, Status.SCHEDULED, None, None]
    assert [s.kind.value for s in district(plan="asp").sites] != [
        r.site.value for i, r in enumerate(ov.rows) if i != 1
    ]
    assert ov.updated_line == "Updated 4:39 AM CST"
    assert "E.1505.2 - Feb. 14, 2015" in ov.render()


def test_r21_dates_are_shown_in_the_viewers_zone() -> None:
    late = request("r1", status="scheduled", scheduled_for=datetime(2015, 2, 14, 3, tzinfo=UTC))
    chicago = overview(district(), [late], viewer_zone="America/Chicago", now=NOW)
    berlin = overview(district(), [late], viewer_zone="Europe/Berlin", now=NOW)
    assert "Feb. 13, 2015" in chicago.rows[1].text
    assert "Feb. 14, 2015" in berlin.rows[1].text
    assert berlin.updated_line.endswith("CET")


def test_r21_a_scheduled_sandbox_refresh_shows_as_refresh() -> None:
    refresh = request(
        "r2",
        version=None,
        db_refresh=True,
        status="scheduled",
        scheduled_for=datetime(2015, 3, 1, 12, tzinfo=UTC),
    )
    ov = overview(district(), [refresh], viewer_zone="America/Chicago", now=NOW)
    assert ("sandbox", "Refresh - Mar. 1, 2015", "SCHEDULED") in [
        (r.site.value, r.text, r.label) for r in ov.rows
    ]


def test_r13_a_moved_date_is_what_the_overview_shows() -> None:
    moved = request("r1", status="scheduled", scheduled_for=datetime(2015, 2, 21, 12, tzinfo=UTC))
    ov = overview(district(), [moved], viewer_zone="America/Chicago", now=NOW)
    assert ov.rows[1].text == "E.1505.2 - Feb. 21, 2015"


def test_r11_cloud_choice_marks_the_most_recent_automatic_update() -> None:
    auto = district(sites=(Site("production", "E.1505.2", NOW, automatic=True),))
    shown = overview(auto, [], viewer_zone="America/Chicago", now=NOW, preset=CAMPUS_HOSTING)
    assert shown.rows[0].automatic and shown.rows[0].text.endswith("(auto)")
    asp = overview(
        district(plan="asp", sites=auto.sites),
        [],
        viewer_zone="UTC",
        now=NOW,
        preset=CAMPUS_HOSTING,
    )
    assert not asp.rows[0].automatic


def test_r19_hide_complete_and_never_cancelled_or_deleted() -> None:
    rs = [
        request("open", requested_at=NOW),
        request("done", status="completed", requested_at=NOW + timedelta(1)),
        request("gone", status="cancelled"),
        request("del", status="deleted"),
        request("fail", status=Status.UNABLE_TO_COMPLETE),
    ]
    assert [r.id for r in request_list(rs)] == ["done", "open", "fail"]
    assert [r.id for r in request_list(rs, hide_complete=True)] == ["open", "fail"]
