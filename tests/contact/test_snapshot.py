"""A contact's booking snapshot: what the store writes reads back as written, and every older form still reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from groundshare.contact import (
    AntennaSnapshot,
    BookingSnapshot,
    ElementSetSnapshot,
    SatelliteSnapshot,
    SnapshotError,
    StationSnapshot,
)

TLE = ("NEXUS\n1 49263U 21088D   25310.50000000  .00010000  00000-0  50000-3 0  9990\n"
       "2 49263  97.6000 100.0000 0010000 100.0000 260.0000 15.10000000100000\n")


def written(**changes: Any) -> dict[str, Any]:
    """A snapshot as the store writes it (key for key, in its order), with ``changes``."""
    body = {
        "station": {"id": 3, "name": "daejeon", "lat_deg": 36.372, "lon_deg": 127.36, "alt_m": 70.0,
                    "min_elevation_deg": 5.0, "horizon_mask": [[0.0, 4.0], [110, 18.5]]},
        "antenna": {"id": 5, "name": "uhf-yagi", "band": "uhf", "setup_s": 30.0, "turnaround_s": 60.0,
                    "g_over_t_dbk": -12.5, "eirp_dbw": None, "az_slew_deg_s": 6.0, "el_slew_deg_s": None},
        "satellite": {"id": 9, "norad_id": 49263, "name": "NEXUS"},
        "element_set": {"id": 1, "epoch": "2025-11-06T12:00:00.250000+00:00", "format": "tle", "text": TLE},
    }
    return {**body, **changes}


def test_a_snapshot_reads_back_as_the_store_wrote_it() -> None:
    snapshot = BookingSnapshot.from_json(written(), contact_id=7)
    assert snapshot.station == StationSnapshot(id=3, name="daejeon", lat_deg=36.372, lon_deg=127.36, alt_m=70.0,
                                               min_elevation_deg=5.0, horizon_mask=((0.0, 4.0), (110, 18.5)))
    assert snapshot.antenna is not None and snapshot.antenna.g_over_t_dbk == -12.5
    assert snapshot.satellite == SatelliteSnapshot(id=9, norad_id=49263, name="NEXUS")
    assert snapshot.element_set == ElementSetSnapshot(
        id=1, epoch=datetime(2025, 11, 6, 12, 0, 0, 250_000, tzinfo=UTC), format="tle", text=TLE)
    # The same document, byte for byte: keys, their order and the numbers as written.
    assert json.dumps(snapshot.to_json()) == json.dumps(written())
    site = snapshot.station.to_site()
    assert (site.name, site.min_elevation_deg, site.has_mask) == ("daejeon", 5.0, True)


def test_older_snapshots_still_read() -> None:
    # Before revision 0002 an antenna had no radio or slew parameters; before 0005 G/T was spelled g_over_t_db_k.
    before_0002 = {"id": 5, "name": "uhf-yagi", "band": "uhf", "setup_s": 30.0, "turnaround_s": 60.0}
    assert AntennaSnapshot.from_json(before_0002) == AntennaSnapshot(id=5, name="uhf-yagi", band="uhf", setup_s=30.0,
                                                                     turnaround_s=60.0)
    before_0005 = {**before_0002, "g_over_t_db_k": -11.9, "eirp_dbw": 10.0, "az_slew_deg_s": 6.0,
                   "el_slew_deg_s": 2.7}
    read = BookingSnapshot.from_json(written(antenna=before_0005)).antenna
    assert read is not None and (read.g_over_t_dbk, read.eirp_dbw) == (-11.9, 10.0)
    assert read.to_json()["g_over_t_dbk"] == -11.9 and "g_over_t_db_k" not in read.to_json()
    # A satellite without element sets, and a contact written without any snapshot.
    assert BookingSnapshot.from_json(written(element_set=None)).element_set is None
    assert BookingSnapshot.from_json({}) == BookingSnapshot(station=None, antenna=None, satellite=None,
                                                            element_set=None)


@pytest.mark.parametrize(("body", "loc", "message"), [
    ("{}", ("snapshot",), "contact 7's booking snapshot must be a JSON object, got '{}'"),
    (written(station={"id": 3, "name": "daejeon", "lat_deg": 91.0, "lon_deg": 0.0, "alt_m": 0.0}),
     ("snapshot", "station", "lat_deg"),
     "contact 7's booking snapshot: station.lat_deg must be a number from -90 to 90, got 91.0"),
    (written(station={**written()["station"], "horizon_mask": [[0.0, 4.0, 1.0]]}),
     ("snapshot", "station", "horizon_mask"),
     "contact 7's booking snapshot: station.horizon_mask must be a list of [az_deg, min_el_deg] pairs of numbers "
     "or null, got a list [[0.0, 4.0, 1.0]]"),
    (written(antenna={"id": 5, "name": "uhf-yagi", "band": "uhf", "turnaround_s": 60.0}),
     ("snapshot", "antenna", "setup_s"),
     "contact 7's booking snapshot: antenna.setup_s must be a number of at least 0, got None"),
    (written(element_set={"id": 1, "epoch": "yesterday", "format": "tle", "text": TLE}),
     ("snapshot", "element_set", "epoch"),
     "contact 7's booking snapshot: element_set.epoch must be an ISO 8601 UTC time such as 2025-11-07T03:12:00Z, "
     "got 'yesterday'"),
])
def test_a_malformed_snapshot_names_the_contact_and_the_field(body: Any, loc: tuple[str, ...], message: str) -> None:
    with pytest.raises(SnapshotError) as caught:
        BookingSnapshot.from_json(body, contact_id=7)
    assert str(caught.value) == message and caught.value.loc == loc
