"""Booked contacts follow the orbit in force: kept, updated in place, moved, dropped or cancelled, each an event."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import select

from groundshare.contact import BookingSnapshot
from groundshare.orbits import ElementSet
from groundshare.passes import find_passes
from groundshare.passes.window import covering_pass
from groundshare.store import (
    UNCHECKED,
    Contact,
    ContactRequest,
    ContactStatus,
    Satellite,
    Station,
    book_contact,
    session_scope,
)
from groundshare.store.booking import BookingRules
from groundshare.store.elements import ensure_default_sources, orbit_in_force, store_element_sets, upload_source
from groundshare.store.models import ElementSource, Event
from groundshare.store.replan import replan_satellites
from tests.support.shipped import CUBESATS, shipped_catalogue

NOW = datetime(2025, 11, 7, tzinfo=UTC)


def nexus() -> ElementSet:
    """The network's satellite's old orbit: CUTE-1's of 2025-11-06 (the satellite takes its NORAD number)."""
    return shipped_catalogue(CUBESATS).by_norad_id(27844)


def moved(elements: ElementSet, mean_anomaly_deg: float) -> ElementSet:
    """The same orbit with the satellite further along (a LEO pass moves about 15 s per degree)."""
    return dataclasses.replace(elements, line1=None, line2=None,
                               mean_anomaly_deg=(elements.mean_anomaly_deg + mean_anomaly_deg) % 360.0)


def store(session, satellite_id: int, elements: ElementSet, *, upload: bool) -> None:
    satellite = session.get(Satellite, satellite_id)
    satellite.norad_id = elements.norad_id
    ensure_default_sources(session, satellite)
    source = upload_source(session, satellite) if upload else session.scalars(
        select(ElementSource).where(ElementSource.satellite_id == satellite_id)).first()
    report = store_element_sets(session, satellite, [elements], source=source, fetched_at=NOW, now=NOW)
    assert not report.refused


def passes(factory, network, elements: ElementSet, hours: float = 24.0):
    with session_scope(factory) as session:
        site = session.get(Station, network.station_id).to_site()
    table = find_passes([elements], [site], start=NOW, duration_s=hours * 3600, workers=1)
    return [p for p in table if not p.clipped and p.duration_s > 240]


def book(session, network, start, end, *, antenna_id=None, request_id=None, satellite_id=None, rules=None):
    return book_contact(session, antenna_id=antenna_id or network.antenna_id,
                        satellite_id=satellite_id or network.satellite_id, org_id=network.org_id, start=start,
                        end=end, rules=rules or BookingRules(now=NOW), request_id=request_id)


@pytest.fixture
def booked(factory, network):
    """Three contacts of NEXUS on the old orbit: one too soon to move, two later, each for its own request."""
    with session_scope(factory) as session:
        store(session, network.satellite_id, nexus(), upload=False)
    found = passes(factory, network, nexus())
    assert len(found) >= 3
    now = found[0].aos - timedelta(minutes=10)  # the first starts inside the 30 min frozen window
    ids = []
    with session_scope(factory) as session:
        for p in found[:3]:
            margin = timedelta(minutes=20)
            request = ContactRequest(org_id=network.org_id, satellite_id=network.satellite_id,
                                     window_start=p.aos - margin, window_end=p.los + margin, min_duration_s=60.0)
            session.add(request)
            session.flush()
            ids.append(book(session, network, p.aos, p.los, request_id=request.id).id)
    return now, ids, found[:3]


def contacts(factory) -> dict[int, Contact]:
    with session_scope(factory) as session:
        rows = list(session.scalars(select(Contact).order_by(Contact.id)))
        session.expunge_all()
    return {c.id: c for c in rows}


def events(factory) -> list[tuple[str, int | None, str]]:
    with session_scope(factory) as session:
        return [(e.kind, e.contact_id, e.message) for e in session.scalars(select(Event).order_by(Event.id))]


def test_nothing_changed_keeps_every_contact(factory, network, booked):
    now, _, _ = booked
    with session_scope(factory) as session:
        report = replan_satellites(session, [network.satellite_id], now=now, time_limit_s=2, workers=2)
    assert (report.planned, report.kept, report.drifted) == (3, 3, 0)
    assert {c.status for c in contacts(factory).values()} == {ContactStatus.SCHEDULED}
    assert [k for k, *_ in events(factory) if k.startswith("contact.")] == []  # the element set did not change


def test_a_new_orbit_shifts_drifted_contacts_and_cuts_the_frozen_one(factory, network, booked):
    now, ids, old = booked
    new = moved(nexus(), -1.0)  # about 15 s later
    with session_scope(factory) as session:
        store(session, network.satellite_id, new, upload=True)
        in_force = orbit_in_force(session, network.satellite_id, now=now).record.id
        report = replan_satellites(session, [network.satellite_id], now=now, time_limit_s=2, workers=2)
    assert report.planned == 3 and report.drifted == 3 and report.by_kind == {"drifted": 3}
    assert report.updated_in_place == 3 and report.moved == report.dropped == report.cancelled == 0
    rows = contacts(factory)
    with session_scope(factory) as session:
        site = session.get(Station, network.station_id).to_site()
    for contact_id, p in zip(ids, old, strict=True):
        c = rows[contact_id]
        assert c.status is ContactStatus.SCHEDULED
        assert c.start_time > p.aos  # the pass starts later: so does the contact
        assert covering_pass(new, site, c.start_time, c.end_time, tolerance_s=0.01).covering is not None
        assert BookingSnapshot.from_json(c.snapshot).element_set.id == in_force
        assert c.busy_until == c.end_time  # the quick antenna has no turnaround
    frozen = rows[ids[0]]
    assert frozen.end_time == old[0].los  # cut, not moved: its end stays
    later = rows[ids[1]]
    assert abs((later.end_time - later.start_time) - (old[1].los - old[1].aos)) < timedelta(seconds=1)  # shifted
    kinds = [(k, c) for k, c, _ in events(factory) if k.startswith("contact.")]
    assert kinds.count(("contact.drifted", ids[1])) == 1 and ("contact.updated", ids[1]) in kinds
    assert all(report.outcomes[i][0] == "updated" for i in ids)


def test_a_window_inside_the_new_pass_is_kept_with_the_new_element_set(factory, network):
    with session_scope(factory) as session:
        store(session, network.satellite_id, nexus(), upload=False)
    p = max(passes(factory, network, nexus()), key=lambda p: p.duration_s)
    middle = p.aos + (p.los - p.aos) / 2
    with session_scope(factory) as session:
        contact_id = book(session, network, middle - timedelta(seconds=60), middle + timedelta(seconds=60)).id
    with session_scope(factory) as session:
        store(session, network.satellite_id, moved(nexus(), -1.0), upload=True)
        report = replan_satellites(session, [network.satellite_id], now=NOW, time_limit_s=2, workers=2)
        in_force = orbit_in_force(session, network.satellite_id, now=NOW).record.id
    assert (report.kept, report.drifted) == (1, 0)
    c = contacts(factory)[contact_id]
    assert c.start_time == middle - timedelta(seconds=60)
    assert BookingSnapshot.from_json(c.snapshot).element_set.id == in_force
    assert ("contact.kept", contact_id) in [(k, i) for k, i, _ in events(factory)]


def test_a_contact_whose_antenna_is_taken_moves_to_another(factory, network, booked):
    now, ids, old = booked
    # Another satellite's contact takes the quick antenna right after the third contact's old end.
    with session_scope(factory) as session:
        other = Satellite(org_id=network.org_id, norad_id=99999, name="OTHER")
        session.add(other)
        session.flush()
        blocker = book(session, network, old[2].los, old[2].los + timedelta(minutes=2), satellite_id=other.id,
                       rules=UNCHECKED).id
        store(session, network.satellite_id, moved(nexus(), -1.0), upload=True)
        report = replan_satellites(session, [network.satellite_id], now=now, time_limit_s=3, workers=2)
    assert report.moved == 1, report.outcomes
    rows = contacts(factory)
    assert rows[ids[2]].status is ContactStatus.CANCELLED
    new = rows[report.moves[ids[2]]]
    assert new.antenna_id == network.slow_antenna_id and new.status is ContactStatus.SCHEDULED
    assert new.request_id == rows[ids[2]].request_id
    assert rows[blocker].status is ContactStatus.SCHEDULED
    assert f"moved to contact {new.id}" in rows[ids[2]].notes
    kinds = [(k, i) for k, i, _ in events(factory)]
    assert ("contact.moved", ids[2]) in kinds and ("contact.added", new.id) in kinds
    assert report.planned == report.kept + report.updated_in_place + report.moved + report.dropped + \
        report.cancelled + report.skipped


def test_a_vanished_pass_with_nowhere_to_go_is_dropped_with_the_reason(factory, network, booked):
    now, ids, _ = booked
    with session_scope(factory) as session:
        store(session, network.satellite_id, moved(nexus(), 180.0), upload=True)  # half an orbit away
        report = replan_satellites(session, [network.satellite_id], now=now, time_limit_s=2, workers=2)
    assert report.by_kind.get("vanished", 0) >= 2
    rows = contacts(factory)
    for contact_id in ids:
        outcome, why = report.outcomes[contact_id]
        if outcome in ("dropped", "cancelled"):
            assert rows[contact_id].status is ContactStatus.CANCELLED
            assert "no pass over the station" in why or "usable" in why
            assert "cancelled by re-planning" in rows[contact_id].notes
    assert any(k == "contact.cancelled" for k, _, _ in events(factory))


def test_a_decaying_orbit_cancels_every_contact(factory, network, booked):
    now, ids, _ = booked
    falling = dataclasses.replace(nexus(), line1=None, line2=None, mean_motion_rev_day=16.3, bstar=0.05)
    with session_scope(factory) as session:
        store(session, network.satellite_id, falling, upload=True)
        report = replan_satellites(session, [network.satellite_id], now=now, time_limit_s=2, workers=2)
    assert (report.cancelled, report.by_kind) == (3, {"decayed": 3})
    rows = contacts(factory)
    assert all(rows[i].status is ContactStatus.CANCELLED and "decayed" in rows[i].notes for i in ids)
    messages = [m for k, _, m in events(factory) if k == "contact.cancelled"]
    assert len(messages) == 3 and all("SGP4 error 6" in m for m in messages)


def test_started_and_other_satellites_contacts_are_left_alone(factory, network, booked):
    now, ids, old = booked
    with session_scope(factory) as session:
        store(session, network.satellite_id, moved(nexus(), -1.0), upload=True)
        report = replan_satellites(session, [], now=now)
        assert report.planned == 0
        report = replan_satellites(session, [network.satellite_id], now=old[1].aos, time_limit_s=2, workers=2)
    assert report.planned == 1  # the first two have started by then
    assert set(report.outcomes) == {ids[2]}


def test_the_agent_follows_the_refreshed_orbit(tmp_path):
    """A pending contact's body is refreshed at the agent's next sync, and its pointing comes from the new set."""
    from groundshare.agent.journal import Journal
    from groundshare.agent.tables import pointing_table
    from groundshare.contact import ElementSetSnapshot, ScheduledContact
    from groundshare.store.elements import element_text

    old, new = nexus(), moved(nexus(), -1.0)
    site = shipped_site()
    p = find_passes([old], [site], start=NOW, duration_s=86_400, workers=1)[0]

    def scheduled(elements: ElementSet, record_id: int) -> ScheduledContact:
        text, fmt = element_text(elements)
        return ScheduledContact(contact_id=7, start=p.aos, end=p.los, status="scheduled",
                                element_set=ElementSetSnapshot(text=text, id=record_id, epoch=elements.epoch,
                                                               format=fmt.value))

    journal = Journal.open(tmp_path / "agent.sqlite")
    try:
        journal.merge_schedule([scheduled(old, 1)], NOW, NOW + timedelta(days=1))
        journal.merge_schedule([scheduled(new, 2)], NOW, NOW + timedelta(days=1))
        [pending] = journal.pending(after=NOW)
    finally:
        journal.close()
    assert pending.element_set.id == 2
    from groundshare.orbits import parse_elements

    followed = parse_elements(pending.element_set.text, on_error="raise").elements[0]
    table = pointing_table(followed, site, p.aos, p.los, step_s=10.0)
    expected = pointing_table(new, site, p.aos, p.los, step_s=10.0)
    stale = pointing_table(old, site, p.aos, p.los, step_s=10.0)
    assert np.array_equal(table.el_deg, expected.el_deg) and np.array_equal(table.az_deg, expected.az_deg)
    assert np.abs(table.el_deg - stale.el_deg).max() > 0.5  # a degree of anomaly moves the antenna visibly


def shipped_site():
    from groundshare.passes import Site

    return Site("daejeon-1", lat_deg=36.3725, lon_deg=127.359, alt_m=80.0, min_elevation_deg=5.0)
