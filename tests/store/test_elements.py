"""Sources and the orbit in force (``store.elements``), on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from groundshare.errors import InvalidInputError
from groundshare.orbits import parse_elements
from groundshare.orbits.age import element_age_state
from groundshare.store import (
    ElementSetRecord,
    ElementSource,
    Event,
    Satellite,
    SourceKind,
    SourceSpec,
    ensure_default_sources,
    newest_element_set,
    newest_element_sets,
    orbit_in_force,
    orbits_in_force,
    session_scope,
    set_sources,
    store_element_sets,
    upload_source,
)
from groundshare.store.elements import element_text
from groundshare.timeutil import utc_now
from groundshare.units import DAY_S
from tests.support.shipped import NEXUS_TLE

NEXUS = parse_elements(NEXUS_TLE).elements[0]  # NORAD 49263, epoch 2026-03-19T04:38Z
NOW = datetime(2026, 3, 20, tzinfo=UTC)


def nexus(days_earlier: float, *, tle: bool = False) -> object:
    """NEXUS's set with its epoch moved back (as OMM, unless ``tle``, which keeps the epoch)."""
    if tle:
        return NEXUS
    return dataclasses.replace(NEXUS, epoch=NEXUS.epoch - timedelta(days=days_earlier), line1=None, line2=None)


def fetched_source(session, satellite: Satellite, kind: SourceKind = SourceKind.CELESTRAK) -> ElementSource:
    return next(s for s in set_sources(session, satellite, [SourceSpec(kind=SourceKind.UPLOAD), SourceSpec(kind=kind)])
                if s.kind == kind)


def test_the_highest_priority_live_source_wins_over_a_newer_epoch(factory, network):
    with session_scope(factory) as session:
        satellite = session.get(Satellite, network.satellite_id)
        celestrak = fetched_source(session, satellite)
        upload = upload_source(session, satellite)
        fetched = store_element_sets(session, satellite, [nexus(0)], source=celestrak, fetched_at=NOW, now=NOW)
        assert fetched.in_force_changed and fetched.in_force.source.id == celestrak.id
        uploaded = store_element_sets(session, satellite, [nexus(3)], source=upload, fetched_at=NOW, now=NOW)
        # The upload (priority 100) beats CelesTrak (50) though its epoch is three days older.
        assert uploaded.in_force_changed and uploaded.older_than_in_force == 0
        in_force = orbit_in_force(session, satellite.id, now=NOW)
        assert in_force.record.id == uploaded.records[0].id and in_force.source_kind == "upload"
        assert in_force.age_s == pytest.approx((NOW - NEXUS.epoch).total_seconds() + 3 * DAY_S)
        assert in_force.state == "stale"
        # Disabled, or expired: the next source is in force; its stored sets stay.
        upload.enabled = False
        assert orbit_in_force(session, satellite.id, now=NOW).source.id == celestrak.id
        upload.enabled, upload.expires_at = True, NOW - timedelta(hours=1)
        assert orbit_in_force(session, satellite.id, now=NOW).source.id == celestrak.id
        assert orbit_in_force(session, satellite.id, now=NOW - timedelta(hours=2)).source.id == upload.id
        assert session.scalar(select(func.count()).select_from(ElementSetRecord)) == 2
        kinds = [e.kind for e in session.scalars(select(Event).order_by(Event.id))]
        assert kinds == ["elements.updated", "elements.updated"]


def test_uploads_only_keep_the_newest_epoch_in_force_as_before(factory, network):
    with session_scope(factory) as session:
        satellite = session.get(Satellite, network.satellite_id)
        # Stored the old way (no source), as tests and older databases do, then one through the upload source.
        session.add(ElementSetRecord(satellite_id=satellite.id, epoch=NEXUS.epoch - timedelta(days=5),
                                     format="json", text=element_text(nexus(5))[0], source="old"))
        session.flush()
        assert newest_element_set(session, satellite.id).source == "old"
        report = store_element_sets(session, satellite, [nexus(1)], source=upload_source(session, satellite),
                                    fetched_at=NOW, now=NOW)
        assert newest_element_set(session, satellite.id).id == report.records[0].id
        assert newest_element_sets(session, [satellite.id, 999])[satellite.id].id == report.records[0].id
        # The stored OMM gives back the same elements.
        assert report.records[0].to_element_set() == nexus(1)


def test_duplicates_older_sets_and_refusals(factory, network):
    with session_scope(factory) as session:
        satellite = session.get(Satellite, network.satellite_id)
        source = fetched_source(session, satellite)
        first = store_element_sets(session, satellite, [nexus(0, tle=True)], source=source, fetched_at=NOW, now=NOW)
        other = dataclasses.replace(nexus(0), norad_id=100123)
        future = dataclasses.replace(nexus(0), epoch=utc_now() + timedelta(days=3))  # the wall clock's future
        report = store_element_sets(session, satellite, [nexus(0, tle=True), nexus(3), nexus(3), other, future],
                                    source=source, fetched_at=NOW, now=NOW)
        assert report.added == 1 and report.older_than_in_force == 1  # kept, not used
        assert report.duplicate_ids == [first.records[0].id, report.records[0].id]
        assert [index for index, _ in report.refused] == [3, 4]
        assert "NORAD 100123" in report.refused[0][1] and "more than a day after now" in report.refused[1][1]
        assert not report.in_force_changed and report.in_force.record.id == first.records[0].id
        assert first.records[0].format.value == "tle" and first.records[0].fetched_at == NOW
        assert session.get(ElementSource, source.id).last_fetched_at == NOW


def test_orbits_in_force_of_many_satellites_in_two_queries(factory, network):
    with session_scope(factory) as session:
        satellite = session.get(Satellite, network.satellite_id)
        twin = Satellite(org_id=satellite.org_id + 0, norad_id=100123, name="SIX-DIGIT")
        twin.org_id = network.org_id
        session.add(twin)
        session.flush()
        ensure_default_sources(session, twin)
        ensure_default_sources(session, twin)  # once only
        [default] = session.scalars(select(ElementSource).where(ElementSource.satellite_id == twin.id)).all()
        assert (default.kind, default.query_kind.value, default.query_value, default.priority) == (
            SourceKind.CELESTRAK, "catnr", "100123", 50)
        six = dataclasses.replace(nexus(0), norad_id=100123)
        store_element_sets(session, twin, [six], source=default, fetched_at=NOW, now=NOW)
        store_element_sets(session, satellite, [nexus(1)], source=upload_source(session, satellite),
                           fetched_at=NOW, now=NOW)
        session.flush()
        statements: list[str] = []
        from sqlalchemy import event

        def count(*args) -> None:
            statements.append(args[2])

        event.listen(session.get_bind(), "before_cursor_execute", count)
        try:
            found = orbits_in_force(session, [satellite.id, twin.id, 12345], now=NOW)
        finally:
            event.remove(session.get_bind(), "before_cursor_execute", count)
        assert len(statements) == 2
        assert set(found) == {satellite.id, twin.id}
        assert found[twin.id].record.to_element_set().norad_id == 100123  # six digits, stored as OMM
        assert found[twin.id].record.format.value == "json"


def test_set_sources_replaces_the_list_and_keeps_the_sets(factory, network):
    with session_scope(factory) as session:
        satellite = session.get(Satellite, network.satellite_id)
        celestrak = fetched_source(session, satellite)
        store_element_sets(session, satellite, [nexus(0)], source=celestrak, fetched_at=NOW, now=NOW)
        kept = set_sources(session, satellite, [
            SourceSpec(kind="celestrak", priority=90),
            SourceSpec(kind="supgp", query_kind="file", query_value="planet", expires_at=NOW + timedelta(days=7)),
            SourceSpec(kind="spacetrack", query_kind="intdes", query_value="2021-088d")])
        assert [(s.kind.value, s.priority) for s in kept] == [("celestrak", 90), ("supgp", 80), ("spacetrack", 60)]
        assert kept[0].id == celestrak.id  # same kind and query: updated in place, its sets still its own
        assert kept[2].query_value == "2021-088D"
        assert orbit_in_force(session, satellite.id, now=NOW).source.id == celestrak.id
        set_sources(session, satellite, [SourceSpec(kind="upload")])
        # CelesTrak removed: its set is kept without a source, in force while no source has one.
        record = session.scalars(select(ElementSetRecord)).one()
        assert record.source_id is None
        assert orbit_in_force(session, satellite.id, now=NOW).record.id == record.id


@pytest.mark.parametrize(("specs", "message"), [
    ([SourceSpec(kind="celestrak"), SourceSpec(kind="celestrak", query_kind="catnr", query_value="49263")],
     "sources[1] repeats sources[0]"),
    ([SourceSpec(kind="nasa")], "sources[0].kind: 'nasa' is not a source kind"),
    ([SourceSpec(kind="upload", query_kind="catnr", query_value="1")], "an upload source takes no query"),
    ([SourceSpec(kind="spacetrack", query_kind="group", query_value="active")],
     "a spacetrack source asks by catnr or intdes, not 'group'"),
    ([SourceSpec(kind="celestrak", query_kind="catnr", query_value="25544; DROP")], "is not a catalog number"),
    ([SourceSpec(kind="celestrak", priority=5000)], "sources[0].priority: 5000 is not a whole number from 0"),
])
def test_set_sources_refuses_bad_lists_and_changes_nothing(factory, network, specs, message):
    with session_scope(factory) as session:
        satellite = session.get(Satellite, network.satellite_id)
        ensure_default_sources(session, satellite)
        with pytest.raises(InvalidInputError, match=message.replace("[", r"\[").replace("(", r"\(")):
            set_sources(session, satellite, specs)
        assert [s.kind for s in session.scalars(select(ElementSource))] == [SourceKind.CELESTRAK]


def test_age_states():
    assert [element_age_state(age_s) for age_s in (-60.0, 0.0, 3 * DAY_S - 1, 3 * DAY_S, 14 * DAY_S - 1,
                                                  14 * DAY_S)] == ["fresh", "fresh", "fresh", "stale", "stale",
                                                                   "expired"]
    assert element_age_state(3600.0, warning_s=600.0, error_s=1800.0) == "expired"
    with pytest.raises(InvalidInputError, match="0 < warning_s <= error_s"):
        element_age_state(1.0, warning_s=10.0, error_s=5.0)
