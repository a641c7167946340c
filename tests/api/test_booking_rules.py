"""The network's booking rules over the API: physics, the clock, the length, receive-only and uplink contacts.

The world's satellites get the shipped element set of CUTE (NORAD 49263, a 97-degree LEO of
2026-03-19) where a test needs real passes; the world's clock runs from 2025-11-06, so
those passes are in its future.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from groundshare.passes import find_passes
from groundshare.passes.track import sample_window
from groundshare.store import Station, session_scope
from groundshare.timeutil import format_utc
from groundshare.units import DAY_S
from tests.support.uplink import allow_uplink, license_uplink
from tests.support.worlds import WORLD_NOW, give_elements, next_pass

CUTE = 49263


def iso(t) -> str:
    return t.isoformat().replace("+00:00", "Z")


def post(client, org, antenna_id, satellite_id, start, end, **extra):
    body = {"antenna_id": antenna_id, "satellite_id": satellite_id, "start": iso(start), "end": iso(end), **extra}
    return client.post("/contacts", json=body, headers=org.auth())


def only_error(response, status: int) -> dict:
    assert response.status_code == status, response.text
    [error] = response.json()["detail"]
    return error


@pytest.fixture
def kasa_cute(app, world):
    """kasa's satellite as CUTE, with its real element set; its first whole pass over kasa's station."""
    element_set = give_elements(app, world.kasa.satellite_id, norad_id=CUTE)
    return element_set, next_pass(app, element_set, world.kasa.station_id)


def test_a_window_with_the_satellite_far_below_the_horizon_is_422_naming_the_nearest_passes(client, app, world,
                                                                                              kasa_cute):
    element_set, first = kasa_cute
    with session_scope(app.state.session_factory, write=False) as session:
        site = session.get(Station, world.kasa.station_id).to_site()
    # Half an orbit after the pass the satellite is on the other side of the Earth.
    start = first.los + timedelta(minutes=45)
    _, tracks = sample_window(element_set, site, start, 600.0, step_s=10.0)
    assert np.all(tracks.el_deg < -45.0)  # as the audit's booking: 45 degrees and more below the horizon
    error = only_error(post(client, world.kasa, world.kasa.antenna_id, world.kasa.satellite_id, start,
                            start + timedelta(minutes=10)), 422)
    assert error["loc"] == ["body", "start"]
    assert error["msg"].startswith(f"{format_utc(start)} to {format_utc(start + timedelta(minutes=10))} is not "
                                   f"within a pass of satellite {world.kasa.satellite_id} (NORAD {CUTE}) over "
                                   f"station {world.kasa.station_id} ('daejeon-1', minimum elevation 5 deg)")
    # The nearest passes it names are the pass engine's own.
    table = find_passes([element_set], [site], start=start - timedelta(hours=12), duration_s=DAY_S + 600,
                        workers=1)
    named = [p for p in table if format_utc(p.aos) in error["msg"]]
    assert 1 <= len(named) <= 3 and any(p.aos == first.aos for p in named)
    assert client.get("/contacts", headers=world.kasa.auth()).json()["count"] == 0


def test_a_window_within_a_pass_is_booked_to_within_the_tolerance(client, world, kasa_cute):
    _, first = kasa_cute
    inside = post(client, world.kasa, world.kasa.antenna_id, world.kasa.satellite_id,
                  first.aos - timedelta(seconds=0.5), first.los + timedelta(seconds=0.5))  # rounded outwards
    assert inside.status_code == 201, inside.text
    later = post(client, world.kasa, world.kasa.antenna_id, world.kasa.satellite_id, first.los + timedelta(hours=3),
                 first.los + timedelta(hours=3, minutes=5))
    assert only_error(later, 422)["msg"].startswith(f"{format_utc(first.los + timedelta(hours=3))}")


def test_a_window_reaching_past_los_is_refused(client, world, kasa_cute):
    _, first = kasa_cute
    response = post(client, world.kasa, world.kasa.antenna_id, world.kasa.satellite_id, first.aos,
                    first.los + timedelta(seconds=30))
    assert "is not within a pass" in only_error(response, 422)["msg"]


def test_allow_outside_pass_is_the_operators_alone(client, app, world, kasa_cute):
    _, first = kasa_cute
    start = first.los + timedelta(minutes=45)
    searching = post(client, world.kasa, world.kasa.antenna_id, world.kasa.satellite_id, start,
                     start + timedelta(minutes=10), allow_outside_pass=True)
    assert searching.status_code == 201, searching.text
    # aem (a partner on kasa's shared antenna) may not search for uni's or kasa's satellites; for its public
    # satellite, not operated by uni, uni may not either.
    give_elements(app, world.aem.satellite_id)
    error = only_error(post(client, world.uni, world.uni.antenna_id, world.aem.satellite_id, start,
                            start + timedelta(minutes=10), allow_outside_pass=True), 403)
    assert error["msg"].startswith("allow_outside_pass is for the satellite's operator")


def test_without_an_element_set_the_booking_cannot_be_checked(client, world):
    start = WORLD_NOW + timedelta(days=1)
    error = only_error(post(client, world.kasa, world.kasa.antenna_id, world.kasa.satellite_id, start,
                            start + timedelta(minutes=10)), 422)
    assert error["loc"] == ["body", "satellite_id"]
    assert error["msg"].startswith(f"satellite {world.kasa.satellite_id} (NORAD {world.kasa.norad_id}) has no "
                                   "element set, so the booking cannot be checked against its passes")


def test_a_contact_cannot_start_before_the_networks_clock(client, world):
    start = WORLD_NOW - timedelta(hours=1)
    error = only_error(post(client, world.kasa, world.kasa.antenna_id, world.kasa.satellite_id, start,
                            start + timedelta(minutes=10), allow_outside_pass=True), 422)
    assert error["loc"] == ["body", "start"]
    assert error["msg"].startswith(f"start ({format_utc(start)}) is before the network's clock (")
    assert "a contact cannot start in the past" in error["msg"]


def test_a_contact_lasts_at_most_an_hour(client, world):
    start = WORLD_NOW + timedelta(days=1)
    assert post(client, world.kasa, world.kasa.antenna_id, world.kasa.satellite_id, start, start + timedelta(hours=1),
                allow_outside_pass=True).status_code == 201
    later = start + timedelta(hours=3)
    error = only_error(post(client, world.kasa, world.kasa.antenna_id, world.kasa.satellite_id, later,
                            later + timedelta(hours=1, seconds=1), allow_outside_pass=True), 422)
    assert error["loc"] == ["body", "end"]
    assert error["msg"] == ("the contact lasts 3601 s, longer than the network's limit of 3600 s; book each pass as "
                            "its own contact")


def test_nobody_blocks_another_organisations_public_satellite_for_a_year(client, app, world):
    """The audit's blocker: uni booking aem's public satellite on its own antenna for a whole year."""
    element_set = give_elements(app, world.aem.satellite_id)
    start = element_set.epoch
    error = only_error(post(client, world.uni, world.uni.antenna_id, world.aem.satellite_id, start,
                            start + timedelta(days=365)), 422)
    assert "longer than the network's limit" in error["msg"]
    # Even a real pass booked by uni is receive-only and never stops aem booking the same pass elsewhere.
    p = next_pass(app, element_set, world.uni.station_id)
    assert post(client, world.uni, world.uni.antenna_id, world.aem.satellite_id, p.aos, p.los).status_code == 201
    license_uplink(app.state.session_factory, world.aem.station_id, world.aem.satellite_id)
    mine = post(client, world.aem, world.aem.antenna_id, world.aem.satellite_id, p.aos, p.los,
                allow_outside_pass=True, uplink=True)
    assert mine.status_code == 201, mine.text


def test_receive_only_contacts_of_one_satellite_never_conflict(client, app, world):
    element_set = give_elements(app, world.aem.satellite_id)
    p = next_pass(app, element_set, world.kasa.station_id)
    # Two stations hear the same pass: kasa's dish (kasa's own antenna) and kasa's uhf, shared with aem.
    first = post(client, world.kasa, world.kasa.unshared_antenna_id, world.aem.satellite_id, p.aos, p.los)
    second = post(client, world.aem, world.kasa.antenna_id, world.aem.satellite_id, p.aos, p.los)
    assert (first.status_code, second.status_code) == (201, 201), (first.text, second.text)
    assert first.json()["uplink"] is False and second.json()["uplink"] is False


def test_only_the_operator_or_its_grantees_book_uplink_and_uplinks_never_overlap(client, app, world):
    element_set = give_elements(app, world.aem.satellite_id)
    p = next_pass(app, element_set, world.kasa.station_id)
    # kasa does not operate aem's satellite: no uplink.
    refused = post(client, world.kasa, world.kasa.unshared_antenna_id, world.aem.satellite_id, p.aos, p.los,
                   uplink=True)
    assert only_error(refused, 403)["msg"].startswith(
        f"satellite {world.aem.satellite_id} is operated by organisation {world.aem.id}; only its operator")
    # aem commands it through kasa's shared antenna, under a licence for each station and kasa's uplink terms.
    for station_id in (world.kasa.station_id, world.aem.station_id, world.uni.station_id):
        license_uplink(app.state.session_factory, station_id, world.aem.satellite_id)
    allow_uplink(app.state.session_factory, world.kasa.antenna_id, world.aem.id)
    commanding = post(client, world.aem, world.kasa.antenna_id, world.aem.satellite_id, p.aos, p.los, uplink=True)
    assert commanding.status_code == 201, commanding.text
    assert commanding.json()["uplink"] is True
    # A second uplink overlapping it, on aem's own antenna: 409 naming aem's own contact to aem.
    again = post(client, world.aem, world.aem.antenna_id, world.aem.satellite_id, p.aos, p.los, uplink=True,
                 allow_outside_pass=True)
    error = only_error(again, 409)
    assert error["ctx"] == {"contact_id": commanding.json()["id"]}
    assert error["msg"].startswith(f"satellite {world.aem.satellite_id} (NORAD {CUTE}) already has uplink contact "
                                   f"{commanding.json()['id']}")
    # aem grants uni the uplink; uni's uplink from its own antenna clashes with a contact uni cannot see.
    assert client.patch(f"/satellites/{world.aem.satellite_id}", json={"uplink_org_ids": [world.uni.id]},
                        headers=world.aem.auth()).status_code == 200
    hidden = post(client, world.uni, world.uni.antenna_id, world.aem.satellite_id, p.aos, p.los, uplink=True,
                  allow_outside_pass=True)
    error = only_error(hidden, 409)
    assert "ctx" not in error and f"contact {commanding.json()['id']}" not in error["msg"]
    assert error["msg"].startswith(f"satellite {world.aem.satellite_id} (NORAD {CUTE}) is commanded by another "
                                   f"uplink contact from {format_utc(p.aos)} to {format_utc(p.los)}")
    # Receive-only stays possible for everyone.
    assert post(client, world.uni, world.uni.antenna_id, world.aem.satellite_id, p.aos, p.los,
                allow_outside_pass=True).status_code == 201


@pytest.mark.parametrize("uplink_org_ids", [["self"], [999_999], ["aem", "aem"]])
def test_uplink_grants_name_real_partners(client, world, uplink_org_ids):
    ids = [world.kasa.id if i == "self" else world.aem.id if i == "aem" else i for i in uplink_org_ids]
    response = client.patch(f"/satellites/{world.kasa.satellite_id}", json={"uplink_org_ids": ids},
                            headers=world.kasa.auth())
    assert only_error(response, 422)["loc"] == ["body", "uplink_org_ids"]
