"""GET /events: each organisation sees the events about its satellites, stations and contacts, after an id."""

from __future__ import annotations

from groundshare.store import Satellite, Station, record_event, session_scope


def test_events_are_filtered_per_organisation_and_paged_by_id(client, app, world):
    with session_scope(app.state.session_factory) as session:
        ids = [record_event(session, "elements.updated", message=f"orbit {i}",
                            satellite=session.get(Satellite, world.aem.satellite_id), payload={"i": i}).id
               for i in range(3)]
        station_event = record_event(session, "source.failed", message="station",
                                     station=session.get(Station, world.kasa.station_id)).id
    mine = client.get("/events", headers=world.aem.auth()).json()
    assert [e["id"] for e in mine["data"]] == ids and mine["next_after_id"] == ids[-1]
    assert mine["data"][1]["payload"] == {"i": 1} and mine["data"][1]["message"] == "orbit 1"
    assert mine["data"][0]["satellite_id"] == world.aem.satellite_id and mine["data"][0]["at"].endswith("Z")
    page = client.get("/events", params={"after_id": ids[0], "limit": 1}, headers=world.aem.auth()).json()
    assert [e["id"] for e in page["data"]] == [ids[1]] and page["next_after_id"] == ids[1]
    empty = client.get("/events", params={"after_id": ids[-1]}, headers=world.aem.auth()).json()
    assert empty == {"data": [], "count": 0, "next_after_id": ids[-1]}
    # aem's satellite is public, but its events are aem's: kasa sees only its station's.
    assert [e["id"] for e in client.get("/events", headers=world.kasa.auth()).json()["data"]] == [station_event]
    assert client.get("/events", headers=world.uni.auth()).json()["data"] == []
    assert client.get("/events", params={"limit": 0}, headers=world.aem.auth()).status_code == 422
