"""GET /stations/{id}/gnss: DOPs over a visible station from the shipped GPS and Galileo elements."""

from __future__ import annotations

import math

from groundshare.units import HOUR_S


def test_gnss_for_own_and_shared_station(client, world) -> None:
    r = client.get(f"/stations/{world.kasa.station_id}/gnss", params={"hours": 2, "step_s": 600},
                   headers=world.kasa.auth())
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["station_id"] == world.kasa.station_id
    assert body["start"].startswith("2026-03-09T00:00:00")
    assert body["mask_deg"] == 5.0 and body["pdop_max"] == 6.0 and body["step_s"] == 600
    assert body["elements"] == ["celestrak_gps-ops_2026-03-09.tle", "celestrak_galileo_2026-03-09.tle"]
    assert body["n_satellites"] > 40
    n = int(2 * HOUR_S / 600) + 1
    for key in ("times", "n_visible", "gdop", "pdop", "hdop", "vdop", "tdop"):
        assert len(body[key]) == n, key
    assert all(v >= 8 for v in body["n_visible"])  # GPS + Galileo at 5 deg: always plenty
    assert all(v is not None and 0 < v < 6 for v in body["pdop"])
    assert all(math.isclose(g * g, p * p + t * t, rel_tol=1e-6)
               for g, p, t in zip(body["gdop"], body["pdop"], body["tdop"], strict=True))
    assert body["share_pdop_below"] == 1.0
    assert body["svg"].startswith("<svg") and "<polyline" in body["svg"]
    # The partner sees the owner's shared station (it holds an antenna shared with it).
    shared = client.get(f"/stations/{world.kasa.station_id}/gnss", params={"hours": 1, "step_s": 1800},
                        headers=world.aem.auth())
    assert shared.status_code == 200, shared.text


def test_gnss_null_where_undefined_and_mask(client, world) -> None:
    r = client.get(f"/stations/{world.kasa.station_id}/gnss",
                   params={"hours": 0.5, "step_s": 900, "mask_deg": 60, "pdop_max": 2.5}, headers=world.kasa.auth())
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["mask_deg"] == 60 and len(body["times"]) == 3
    for i, n in enumerate(body["n_visible"]):
        assert (body["pdop"][i] is None) == (n < 4)


def test_gnss_refuses_foreign_station_and_bad_hours(client, world) -> None:
    foreign = client.get(f"/stations/{world.uni.station_id}/gnss", headers=world.kasa.auth())
    assert foreign.status_code == 404, foreign.text
    for hours in (0, -1, 49):
        bad = client.get(f"/stations/{world.kasa.station_id}/gnss", params={"hours": hours},
                         headers=world.kasa.auth())
        assert bad.status_code == 422, (hours, bad.text)
    bad_step = client.get(f"/stations/{world.kasa.station_id}/gnss", params={"step_s": 10},
                          headers=world.kasa.auth())
    assert bad_step.status_code == 422
