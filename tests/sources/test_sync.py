"""``store.sync.sync_elements`` against the fake sites, on SQLite and PostgreSQL: requests, rules, bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from groundshare.data import data_path
from groundshare.orbits import ElementSet, load_elements
from groundshare.roles import OrgKind
from groundshare.sources import SpaceTrackCredentials
from groundshare.store import session_scope
from groundshare.store.elements import DEFAULT_PRIORITY, ensure_default_sources, orbit_in_force
from groundshare.store.models import (
    ElementSetRecord,
    ElementSource,
    Event,
    Organisation,
    Satellite,
    SourceFetch,
    SourceKind,
    SourceQueryKind,
)
from groundshare.store.sync import SyncReport, sync_elements
from groundshare.timeutil import utc_now
from tests.support.orbit_sites import IDENTITY, PASSWORD, OrbitSites, epoch_text, six_digit_record

CUBESATS = load_elements(data_path("celestrak_cubesat_2025-11-06.tle")).elements
#: The sync's clock: the day after the snapshot's newest epoch.
NOW = datetime(2025, 11, 7, tzinfo=UTC)
CREDENTIALS = SpaceTrackCredentials(IDENTITY, PASSWORD)


def _satellites(factory: sessionmaker[Session], sets: list[ElementSet] | list[int], *,
                defaults: bool = True) -> dict[int, int]:
    """Register one satellite per NORAD id with the default source (CelesTrak GP by catalog number); NORAD -> id."""
    norad_ids = [s if isinstance(s, int) else s.norad_id for s in sets]
    with session_scope(factory) as session:
        org = Organisation(name="Agencia Espacial Mexicana", kind=OrgKind.AGENCY)
        session.add(org)
        session.flush()
        satellites = [Satellite(org_id=org.id, norad_id=n, name=f"SAT {n}", is_public=True) for n in norad_ids]
        session.add_all(satellites)
        session.flush()
        for satellite in satellites if defaults else ():
            ensure_default_sources(session, satellite)
        return {s.norad_id: s.id for s in satellites}


def _add_source(factory: sessionmaker[Session], satellite_id: int, kind: SourceKind, query_kind: SourceQueryKind,
                value: str) -> int:
    with session_scope(factory) as session:
        source = ElementSource(satellite_id=satellite_id, kind=kind, query_kind=query_kind, query_value=value,
                               priority=DEFAULT_PRIORITY[kind], enabled=True)
        session.add(source)
        session.flush()
        return source.id


def _sync(factory: sessionmaker[Session], sites: OrbitSites, lines: list[str] | None = None, *,
          now: datetime = NOW, **options) -> SyncReport:
    log = lines.append if lines is not None else (lambda line: None)
    base = {"base_urls": {k: sites.base_url for k in ("celestrak", "supgp", "spacetrack")}}
    return sync_elements(factory, now=now, log=log, credentials=options.pop("credentials", None), **base, **options)


def _count(factory: sessionmaker[Session], model, *where) -> int:
    with session_scope(factory, write=False) as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def test_a_group_serves_the_whole_network_in_one_request(factory, sites: OrbitSites) -> None:
    sites.add_elements(CUBESATS[:25], group="cubesat")  # a group of 25, to stay fast
    ids = _satellites(factory, CUBESATS[:25])
    _add_source(factory, ids[27844], SourceKind.CELESTRAK, SourceQueryKind.GROUP, "cubesat")
    lines: list[str] = []
    report = _sync(factory, sites, lines, kinds=["celestrak"])
    assert sites.requests == ["GET /NORAD/elements/gp.php?GROUP=cubesat&FORMAT=json"]
    celestrak = report.kinds["celestrak"]
    # 27844 has both sources: each keeps the set (one row per source), the others have their catalog-number one.
    assert (celestrak.sources, celestrak.requests, celestrak.covered, celestrak.stored) == (26, 1, 25, 26)
    assert report.changed_satellite_ids == sorted(ids.values())
    assert lines[-1] == ("celestrak: 26 sources, 1 requests, 25 answered by an earlier request; 26 element sets "
                         "stored (0 older than the one in force), 0 already held, 0 refused, 0 records skipped; orbit "
                         "in force changed for 25 satellites")
    with session_scope(factory, write=False) as session:
        in_force = orbit_in_force(session, ids[CUBESATS[7].norad_id], now=NOW)
        assert in_force is not None and in_force.source is not None
        assert (in_force.source.kind, in_force.record.fetched_at) == (SourceKind.CELESTRAK, NOW)
        assert in_force.record.to_element_set() == next(e for e in CUBESATS if e.norad_id == CUBESATS[7].norad_id)
        assert session.scalar(select(func.count()).select_from(Event).where(Event.kind == "elements.updated")) == 26


def test_catalog_numbers_cost_one_request_each_without_a_group(factory, sites: OrbitSites) -> None:
    sites.add_elements(CUBESATS)
    _satellites(factory, CUBESATS[:3])
    report = _sync(factory, sites)
    assert sorted(sites.requests) == sorted(f"GET /NORAD/elements/gp.php?CATNR={e.norad_id}&FORMAT=json"
                                            for e in CUBESATS[:3])
    assert (report.kinds["celestrak"].requests, report.stored) == (3, 3)
    assert report.kinds["spacetrack"].sources == 0 and report.requests == 3


def test_the_same_query_waits_two_hours_across_runs(factory, sites: OrbitSites) -> None:
    sites.not_updated_on_repeat = True
    sites.add_elements(CUBESATS, group="cubesat")
    ids = _satellites(factory, CUBESATS[:2])
    _add_source(factory, ids[CUBESATS[0].norad_id], SourceKind.CELESTRAK, SourceQueryKind.GROUP, "cubesat")
    _sync(factory, sites)
    lines: list[str] = []
    soon = _sync(factory, sites, lines, now=NOW + timedelta(minutes=119))
    assert len(sites.requests) == 1 and soon.requests == 0
    # The group waits, and so do the catalog numbers it answered last time (not asked one by one).
    assert soon.kinds["celestrak"].skipped == 1 and soon.kinds["celestrak"].covered == 2
    assert "celestrak GROUP=cubesat&FORMAT=json: held back until 2025-11-07T02:00:00.000Z" in lines[0]
    # Two hours on, it is asked again; CelesTrak has nothing new: a normal answer, nothing stored, nothing failed.
    later = _sync(factory, sites, now=NOW + timedelta(hours=2))
    assert len(sites.requests) == 2 and later.kinds["celestrak"].not_updated == 1
    assert later.kinds["celestrak"].covered == 2
    assert (later.stored, later.failed, later.changed_satellite_ids) == (0, False, [])
    assert _count(factory, ElementSetRecord) == 3  # the group's set of 27844, and the catalog-number ones


def test_a_server_error_stops_celestrak_until_the_next_cycle(factory, sites: OrbitSites) -> None:
    sites.add_elements(CUBESATS)
    ids = _satellites(factory, CUBESATS[:4])
    _add_source(factory, ids[CUBESATS[0].norad_id], SourceKind.SUPGP, SourceQueryKind.CATNR,
                str(CUBESATS[0].norad_id))
    sites.fault("gp.php", 500, "Internal Server Error")
    lines: list[str] = []
    report = _sync(factory, sites, lines)
    assert len(sites.requests) == 1  # no other CelesTrak request, SupGP included (one site)
    celestrak, supgp = report.kinds["celestrak"], report.kinds["supgp"]
    assert (celestrak.requests, celestrak.failed, celestrak.skipped, supgp.skipped) == (1, 1, 3, 1)
    assert report.failed and report.stored == 0
    assert any("HTTP 500 from celestrak (Internal Server Error)" in line for line in lines)
    with session_scope(factory, write=False) as session:
        [event] = session.scalars(select(Event).where(Event.kind == "source.failed")).all()
        assert "HTTP 500" in event.message and event.satellite_id in ids.values()
        stop = session.scalars(select(SourceFetch).where(SourceFetch.query == "*")).one()
        assert (stop.outcome, stop.http_status, stop.next_allowed_at) == ("stopped", 500, NOW + timedelta(hours=2))
    # A run a minute later (another process) still leaves CelesTrak alone; two hours on, it asks again.
    assert _sync(factory, sites, now=NOW + timedelta(minutes=1)).requests == 0 and len(sites.requests) == 1
    later = _sync(factory, sites, now=NOW + timedelta(hours=2))
    assert (later.stored, later.kinds["supgp"].no_data) == (4, 1)


def test_a_301_is_followed(factory, sites: OrbitSites) -> None:
    sites.add_elements(CUBESATS[:1])
    _satellites(factory, CUBESATS[:1])
    sites.fault("gp.php", 301, location="/moved")
    lines: list[str] = []
    report = _sync(factory, sites, lines)
    assert report.stored == 1 and report.kinds["celestrak"].requests == 1
    assert any("moved permanently to" in line for line in lines)


def test_bad_input_is_skipped_refused_or_kept_and_nothing_stored_is_lost(factory, sites: OrbitSites) -> None:
    fresh, older, bad, future = CUBESATS[0], CUBESATS[1], CUBESATS[2], CUBESATS[3]
    ids = _satellites(factory, [fresh, older, bad, future, 100123], defaults=False)
    for satellite_norad in ids:
        _add_source(factory, ids[satellite_norad], SourceKind.CELESTRAK, SourceQueryKind.GROUP, "mixed")
    # The newer set of ``older`` is already stored from this source: the group's older one is kept, not used.
    with session_scope(factory) as session:
        from groundshare.store.elements import store_element_sets

        source = session.scalars(select(ElementSource).where(ElementSource.satellite_id == ids[older.norad_id],
                                                             ElementSource.query_kind == SourceQueryKind.GROUP)).one()
        newer = ElementSet(**{**_fields(older), "epoch": older.epoch + timedelta(hours=6)})
        store_element_sets(session, session.get(Satellite, ids[older.norad_id]), [newer], source=source,
                           fetched_at=NOW, now=NOW)
    sites.add_elements([fresh, older], group="mixed")
    sites.add_record({**six_digit_record(bad, norad_id=bad.norad_id), "ECCENTRICITY": 1.5}, group="mixed")
    in_three_days = epoch_text(utc_now() + timedelta(days=3))  # the store refuses epochs over a day ahead
    sites.add_record({**six_digit_record(future, norad_id=future.norad_id), "EPOCH": in_three_days}, group="mixed")
    sites.add_record(six_digit_record(fresh), group="mixed")  # NORAD 100123: six digits, end to end
    lines: list[str] = []
    report = _sync(factory, sites, lines, kinds=["celestrak"])
    celestrak = report.kinds["celestrak"]
    assert (celestrak.stored, celestrak.older, celestrak.refused, celestrak.skipped_records) == (3, 1, 1, 1)
    assert report.changed_satellite_ids == sorted([ids[fresh.norad_id], ids[100123]])
    assert any(line.startswith(f"  skipped: celestrak GROUP=mixed&FORMAT=json, line 1: record 3, NORAD "
                               f"{bad.norad_id}: ECCENTRICITY cannot be used") for line in lines)
    assert any("is more than a day after now" in line for line in lines)
    with session_scope(factory, write=False) as session:
        assert orbit_in_force(session, ids[older.norad_id], now=NOW).record.epoch == newer.epoch
        assert orbit_in_force(session, ids[100123], now=NOW).record.to_element_set().norad_id == 100123
        assert orbit_in_force(session, ids[future.norad_id], now=NOW) is None


def _fields(element_set: ElementSet) -> dict:
    return {name: getattr(element_set, name) for name in ElementSet.__dataclass_fields__
            if name not in ("line1", "line2", "source")}


def test_garbage_fails_the_request_but_keeps_what_was_stored(factory, sites: OrbitSites) -> None:
    sites.add_elements(CUBESATS[:1])
    [satellite_id] = _satellites(factory, CUBESATS[:1]).values()
    _sync(factory, sites)
    sites.fault("gp.php", 200, "<html>Service temporarily unavailable</html>")
    report = _sync(factory, sites, now=NOW + timedelta(hours=2))
    assert report.kinds["celestrak"].bad_body == 1 and report.failed and report.stored == 0
    assert _count(factory, ElementSetRecord) == 1
    assert _count(factory, Event, Event.kind == "source.failed", Event.satellite_id == satellite_id) == 1
    with session_scope(factory, write=False) as session:
        source = session.scalars(select(ElementSource).where(ElementSource.satellite_id == satellite_id)).one()
        assert source.last_status.startswith("bad_body at 2025-11-07T02:00:00.000Z: CATNR=")


def test_spacetrack_batches_and_waits_an_hour(factory, sites: OrbitSites, tmp_path) -> None:
    sites.add_elements(CUBESATS)
    ids = _satellites(factory, CUBESATS[:3])
    for norad_id, satellite_id in ids.items():
        _add_source(factory, satellite_id, SourceKind.SPACETRACK, SourceQueryKind.CATNR, str(norad_id))
    report = _sync(factory, sites, kinds=["spacetrack"], credentials=CREDENTIALS, spacetrack_cache_dir=tmp_path)
    assert sites.count("/basicspacedata/query/class/gp/norad_cat_id/") == 1
    assert (report.kinds["spacetrack"].requests, report.stored) == (1, 3)
    again = _sync(factory, sites, kinds=["spacetrack"], credentials=CREDENTIALS, spacetrack_cache_dir=tmp_path,
                  now=NOW + timedelta(minutes=59))
    assert again.requests == 0 and again.kinds["spacetrack"].skipped == 1
    assert sites.count("/basicspacedata/query") == 1


def test_refused_credentials_disable_spacetrack_and_the_others_go_on(factory, sites: OrbitSites, tmp_path) -> None:
    sites.add_elements(CUBESATS)
    ids = _satellites(factory, CUBESATS[:2])
    for norad_id, satellite_id in ids.items():
        _add_source(factory, satellite_id, SourceKind.SPACETRACK, SourceQueryKind.CATNR, str(norad_id))
    lines: list[str] = []
    report = _sync(factory, sites, lines, credentials=SpaceTrackCredentials(IDENTITY, "hunter2-wrong"),
                   spacetrack_cache_dir=tmp_path)
    assert report.kinds["celestrak"].stored == 2  # CelesTrak went on
    assert len(report.kinds["spacetrack"].disabled_source_ids) == 2 and report.failed
    assert not any("hunter2" in line for line in lines)
    with session_scope(factory, write=False) as session:
        events = session.scalars(select(Event).where(Event.kind == "source.disabled")).all()
        assert sorted(e.satellite_id for e in events) == sorted(ids.values())
        assert all("Space-Track refused the login" in e.message and "hunter2" not in e.message for e in events)
        assert not session.scalar(select(func.count()).select_from(ElementSource).where(
            ElementSource.kind == SourceKind.SPACETRACK, ElementSource.enabled))


def test_without_credentials_spacetrack_is_left_out_and_said_so(factory, sites: OrbitSites) -> None:
    ids = _satellites(factory, CUBESATS[:1])
    _add_source(factory, ids[CUBESATS[0].norad_id], SourceKind.SPACETRACK, SourceQueryKind.CATNR,
                str(CUBESATS[0].norad_id))
    lines: list[str] = []
    report = _sync(factory, sites, lines, kinds=["spacetrack"])
    assert report.kinds["spacetrack"].skipped == 1 and sites.requests == []
    assert lines[0] == ("spacetrack: 1 sources not fetched: no Space-Track credentials (set "
                        "GROUNDSHARE_SPACETRACK_IDENTITY and GROUNDSHARE_SPACETRACK_PASSWORD)")


def test_disabled_and_expired_sources_are_not_fetched(factory, sites: OrbitSites) -> None:
    sites.add_elements(CUBESATS[:2])
    ids = _satellites(factory, CUBESATS[:2])
    with session_scope(factory) as session:
        first, second = (session.scalars(select(ElementSource).where(ElementSource.satellite_id == ids[e.norad_id]))
                         .one() for e in CUBESATS[:2])
        first.enabled = False
        second.expires_at = NOW - timedelta(seconds=1)
    report = _sync(factory, sites)
    assert report.requests == 0 and sites.requests == []
