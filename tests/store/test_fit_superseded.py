"""A fitted orbit stays in force until a published set agrees with it (``store.elements``, ``AGREE_KM``).

Real shipped elements (an object of launch 2026-052, active catalogue of 2026-03-19): the
fit is that set; the "published" sets are the same set with the mean anomaly moved, by
0.01 deg (~1.2 km along track: agrees) or 0.5 deg (~60 km: a neighbour, disagrees).
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from groundshare.leop.fit import with_along_track
from groundshare.orbits import ElementSet
from groundshare.roles import OrgKind
from groundshare.store import session_scope
from groundshare.store.elements import (
    AGREE_KM,
    DEFAULT_PRIORITY,
    fit_disagreement_km,
    local_source,
    orbit_in_force,
    store_element_sets,
)
from groundshare.store.models import ElementSource, Event, Organisation, Satellite, SourceKind, SourceQueryKind
from tests.support.shipped import ACTIVE, shipped_catalogue

TRUTH = "2026-052B"


@pytest.fixture(scope="module")
def truth() -> ElementSet:
    return next(e for e in shipped_catalogue(ACTIVE) if e.object_id == TRUTH)


def _published(truth: ElementSet, delta_mean_anomaly_deg: float) -> ElementSet:
    """Return ``truth`` moved along track, as a catalogue would publish it (an OMM set, not TLE lines)."""
    return dataclasses.replace(with_along_track(truth, delta_mean_anomaly_deg, 0.0), source="celestrak")


def _with_fit(factory: sessionmaker[Session], truth: ElementSet) -> tuple[int, int, int]:
    """Register the satellite with its fit in force and a CelesTrak source; return (satellite, fit, celestrak) ids."""
    now = truth.epoch + timedelta(hours=1)
    with session_scope(factory) as session:
        org = Organisation(name="Agencia Espacial Mexicana", kind=OrgKind.AGENCY)
        session.add(org)
        session.flush()
        satellite = Satellite(org_id=org.id, norad_id=truth.norad_id, name="AZTECHSAT-2", is_public=False)
        session.add(satellite)
        session.flush()
        fit = local_source(session, satellite, SourceKind.FIT)
        store_element_sets(session, satellite, [with_along_track(truth, 0.0, 0.0)], source=fit, fetched_at=now,
                           now=now, label="fit")
        fit.last_status = "fitted at 2026-03-19T13:00:00Z: before: 3 of 41 receptions explained; after: 41 of 41"
        celestrak = ElementSource(satellite_id=satellite.id, kind=SourceKind.CELESTRAK,
                                  query_kind=SourceQueryKind.CATNR, query_value=str(truth.norad_id),
                                  priority=DEFAULT_PRIORITY[SourceKind.CELESTRAK], enabled=True)
        session.add(celestrak)
        session.flush()
        assert orbit_in_force(session, satellite.id, now=now).source_kind == "fit"
        return satellite.id, fit.id, celestrak.id


def _publish(factory: sessionmaker[Session], satellite_id: int, source_id: int, element_set: ElementSet,
             now) -> str | None:
    with session_scope(factory) as session:
        satellite = session.get(Satellite, satellite_id)
        source = session.get(ElementSource, source_id)
        report = store_element_sets(session, satellite, [element_set], source=source, fetched_at=now, now=now)
        assert report.added == 1
        return report.in_force.source_kind


def test_the_comparison_measures_the_along_track_shift(truth):
    now = truth.epoch + timedelta(hours=1)
    along_km, total_km = fit_disagreement_km(truth, _published(truth, 0.01), now=now)
    assert 0.8 < along_km < 2.0 and total_km < AGREE_KM  # 0.01 deg of a ~6,900 km orbit: ~1.2 km
    along_km, total_km = fit_disagreement_km(truth, _published(truth, 0.5), now=now)
    assert 40.0 < along_km < 80.0 and total_km > 4 * AGREE_KM


def test_a_published_set_that_agrees_ends_the_fit(factory, truth):
    satellite_id, fit_id, celestrak_id = _with_fit(factory, truth)
    now = truth.epoch + timedelta(hours=2)
    assert _publish(factory, satellite_id, celestrak_id, _published(truth, 0.01), now) == "celestrak"
    with session_scope(factory, write=False) as session:
        fit = session.get(ElementSource, fit_id)
        assert fit.expires_at == now
        assert fit.last_status.startswith("superseded: celestrak catnr=")
        assert " agrees within " in fit.last_status and "fitted at 2026-03-19T13:00:00Z" in fit.last_status
        kinds = [e.kind for e in session.scalars(select(Event).where(Event.satellite_id == satellite_id)
                                                 .order_by(Event.id))]
        assert "elements.fit_superseded" in kinds and kinds[-1] == "elements.updated"
        event = session.scalars(select(Event).where(Event.kind == "elements.fit_superseded")).one()
        assert event.payload["max_km"] < AGREE_KM and event.payload["agree_km"] == AGREE_KM
        assert orbit_in_force(session, satellite_id, now=now + timedelta(minutes=1)).source_kind == "celestrak"


def test_a_published_set_that_disagrees_leaves_the_fit_in_force(factory, truth):
    satellite_id, fit_id, celestrak_id = _with_fit(factory, truth)
    now = truth.epoch + timedelta(hours=2)
    assert _publish(factory, satellite_id, celestrak_id, _published(truth, 0.5), now) == "fit"
    with session_scope(factory, write=False) as session:
        fit = session.get(ElementSource, fit_id)
        assert fit.expires_at is None and fit.enabled
        assert fit.last_status.startswith("kept at ") and "differs by up to" in fit.last_status
        assert f"more than {AGREE_KM:g} km" in fit.last_status and "fitted at 2026-03-19T13:00:00Z" in fit.last_status
        assert not session.scalars(select(Event).where(Event.kind == "elements.fit_superseded")).all()
        assert orbit_in_force(session, satellite_id, now=now).source_kind == "fit"
    # A later set that agrees still ends it, and the note does not pile up.
    later = truth.epoch + timedelta(hours=3)
    assert _publish(factory, satellite_id, celestrak_id, dataclasses.replace(
        _published(truth, 0.005), epoch=truth.epoch + timedelta(microseconds=1)), later) == "celestrak"
    with session_scope(factory, write=False) as session:
        status = session.get(ElementSource, fit_id).last_status
        assert status.startswith("superseded: ") and "kept at" not in status


def test_an_upload_is_not_judged_against_the_fit(factory, truth):
    satellite_id, fit_id, _ = _with_fit(factory, truth)
    now = truth.epoch + timedelta(hours=2)
    with session_scope(factory) as session:
        satellite = session.get(Satellite, satellite_id)
        upload = local_source(session, satellite, SourceKind.UPLOAD)
        store_element_sets(session, satellite, [_published(truth, 0.01)], source=upload, fetched_at=now, now=now)
        fit = session.get(ElementSource, fit_id)
        assert fit.expires_at is None and fit.last_status.startswith("fitted at")
