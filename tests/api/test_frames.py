"""Frames through the API: uploaded by station agents, kept once for the network, read, followed and plotted.

The world (``tests/support/worlds.py``): kasa's station daejeon-1 has antenna ``uhf``, shared
with aem; aem's station chetumal has its own.  aem's satellite is public, kasa's and uni's
private.  Two contacts of aem's satellite on the same pass, one on each station, are two
stations hearing one pass.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from groundshare.api.routes.frames import frame_event
from groundshare.api.schemas import FramePublic
from groundshare.api.wakeups import FrameStreams
from groundshare.store import Role, session_scope
from groundshare.store.frames import MAX_FRAME_BYTES, MAX_FRAMES_PER_BATCH
from groundshare.store.models import Frame, Reception

PASS_START = datetime(2030, 5, 1, 3, 0, tzinfo=UTC)
PASS_END = PASS_START + timedelta(minutes=10)
TELEMETRY_FRAMES = json.loads((Path(__file__).parent.parent / "telemetry" / "data" / "frames.json").read_text())
PAINANI_SHORT = TELEMETRY_FRAMES["painani_short"]["hex"]
TEMPERATURE = "ax25_frame.payload.info.pld_id.short_internal_temperature"


def iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def book(client, org, antenna_id, satellite_id, start=PASS_START, end=PASS_END):
    """Book as the satellite's operator, on a window chosen for the test rather than a real pass."""
    body = {"antenna_id": antenna_id, "satellite_id": satellite_id, "start": iso(start), "end": iso(end),
            "allow_outside_pass": True}
    response = client.post("/contacts", json=body, headers=org.auth())
    assert response.status_code == 201, response.text
    return response.json()["id"]


def frames_body(payloads, at=PASS_START + timedelta(minutes=1), step_s=1.0):
    return {"frames": [{"received_at": iso(at + timedelta(seconds=i * step_s)), "payload_hex": payload.hex()}
                       for i, payload in enumerate(payloads)]}


def upload(client, contact_id, org, body, role=Role.OPERATOR):
    return client.post(f"/agent/contacts/{contact_id}/frames", json=body, headers=org.auth(role))


def payloads(n, tag=b"beacon"):
    return [tag + b" %04d " % i + bytes(range(i % 200)) for i in range(n)]


def frame_count(app):
    with session_scope(app.state.session_factory) as session:
        return session.scalar(select(func.count()).select_from(Frame)), session.scalar(
            select(func.count()).select_from(Reception))


@pytest.fixture
def contacts(client, world):
    """Contacts on the 2030-05-01 03:00 pass: aem's public satellite heard by kasa's and aem's stations; kasa's own."""
    k, a = world.kasa, world.aem
    return {
        "kasa_hears_aem": book(client, a, k.antenna_id, a.satellite_id),  # aem books kasa's shared antenna
        "aem_hears_aem": book(client, a, a.antenna_id, a.satellite_id),
        "kasa_own": book(client, k, k.unshared_antenna_id, k.satellite_id),
    }


def test_two_stations_hearing_one_pass_give_one_frame_with_two_receptions(client, world, contacts):
    sent = payloads(20)
    first = upload(client, contacts["kasa_hears_aem"], world.kasa, frames_body(sent))
    assert first.status_code == 200, first.text
    assert first.json() == {"accepted": 20, "new": 20, "duplicates": 0, "outside_window": 0}
    # aem's station stamps the same frames 0.4 s later (clocks and geometry differ), within the 5 s window.
    second = upload(client, contacts["aem_hears_aem"], world.aem,
                    frames_body(sent, at=PASS_START + timedelta(minutes=1, seconds=0.4)))
    assert second.json() == {"accepted": 20, "new": 0, "duplicates": 20, "outside_window": 0}

    listed = client.get(f"/satellites/{world.aem.satellite_id}/frames", headers=world.aem.auth()).json()
    assert [bytes.fromhex(f["payload_hex"]) for f in listed] == sent
    assert all(f["stations"] == ["chetumal", "daejeon-1"] for f in listed)  # aem sees its own and kasa's shared
    assert listed[0]["sha256"] == hashlib.sha256(sent[0]).hexdigest()
    assert listed[0]["received_at"].startswith("2030-05-01T03:01:00")  # the first reception
    assert listed[0]["decoded"] is None and listed[0]["outside_window"] is False


def test_a_replayed_batch_changes_nothing(client, app, world, contacts):
    body = frames_body(payloads(30))
    assert upload(client, contacts["kasa_own"], world.kasa, body).json()["new"] == 30
    stored = frame_count(app)
    replay = upload(client, contacts["kasa_own"], world.kasa, body)
    assert replay.status_code == 200
    assert replay.json() == {"accepted": 30, "new": 0, "duplicates": 30, "outside_window": 0}
    assert frame_count(app) == stored == (30, 30)


def test_the_same_payload_outside_the_window_is_another_frame(client, world, contacts):
    beacon = b"identical beacon"
    body = {"frames": [{"received_at": iso(PASS_START + timedelta(seconds=s)), "payload_hex": beacon.hex()}
                       for s in (60, 62, 90)]}  # 62: same frame as 60 (2 s apart); 90: the beacon repeated
    answer = upload(client, contacts["kasa_own"], world.kasa, body).json()
    assert answer == {"accepted": 3, "new": 2, "duplicates": 1, "outside_window": 0}


def test_frames_stamped_outside_the_contact_are_kept_and_flagged(client, world, contacts):
    early = PASS_START - timedelta(minutes=30)
    body = {"frames": [{"received_at": iso(early), "payload_hex": "c0ffee"},
                       {"received_at": iso(PASS_START + timedelta(minutes=2)), "payload_hex": "beef"}]}
    answer = upload(client, contacts["kasa_own"], world.kasa, body).json()
    assert answer == {"accepted": 2, "new": 2, "duplicates": 0, "outside_window": 1}
    listed = client.get(f"/contacts/{contacts['kasa_own']}/frames", headers=world.kasa.auth()).json()
    assert [(f["payload_hex"], f["outside_window"]) for f in listed] == [("c0ffee", True), ("beef", False)]


def test_a_batch_over_the_bound_is_413_in_the_error_shape_and_stores_nothing(client, app, world, contacts):
    body = frames_body([b"\x01"] * (MAX_FRAMES_PER_BATCH + 1))
    response = upload(client, contacts["kasa_own"], world.kasa, body)
    assert response.status_code == 413, response.text
    detail = response.json()["detail"]
    assert detail[0]["type"] == "too_large" and detail[0]["loc"] == ["body"]
    assert f"at most {MAX_FRAMES_PER_BATCH}" in detail[0]["msg"]
    assert frame_count(app) == (0, 0)
    # The bound itself is accepted.
    full = upload(client, contacts["kasa_own"], world.kasa, frames_body(payloads(MAX_FRAMES_PER_BATCH), step_s=0.01))
    assert full.status_code == 200 and full.json()["new"] == MAX_FRAMES_PER_BATCH


@pytest.mark.parametrize(("frame", "where", "what"), [
    ({"received_at": "2030-05-01T03:01:00Z", "payload_hex": "abc"}, "payload_hex", "pattern"),
    ({"received_at": "2030-05-01T03:01:00Z", "payload_hex": "zz"}, "payload_hex", "pattern"),
    ({"received_at": "2030-05-01T03:01:00Z", "payload_hex": ""}, "payload_hex", "too_short"),
    ({"received_at": "2030-05-01T03:01:00Z", "payload_hex": "00" * (MAX_FRAME_BYTES + 1)}, "payload_hex", "too_long"),
    ({"received_at": "2030-05-01T03:01:00", "payload_hex": "00"}, "received_at", "timezone"),
    ({"received_at": "yesterday", "payload_hex": "00"}, "received_at", ""),
    ({"received_at": 1e300, "payload_hex": "00"}, "received_at", ""),
    ({"payload_hex": "00"}, "received_at", "missing"),
    ({"received_at": "2030-05-01T03:01:00Z", "payload_hex": "00", "rssi": -90}, "rssi", "extra"),
])
def test_a_bad_frame_is_a_422_naming_it_and_the_batch_stores_nothing(client, app, world, contacts, frame, where,
                                                                      what):
    good = {"received_at": "2030-05-01T03:01:00Z", "payload_hex": "0102"}
    response = upload(client, contacts["kasa_own"], world.kasa, {"frames": [good, frame]})
    assert response.status_code == 422, response.text
    error = response.json()["detail"][0]
    assert error["loc"][:4] == ["body", "frames", 1, where]
    assert what in error["type"] or what in error["msg"]
    assert frame_count(app) == (0, 0)


@pytest.mark.parametrize("body", [{}, {"frames": "many"}, {"frames": None}, [], {"frames": [None]}])
def test_a_malformed_batch_is_a_422(client, world, contacts, body):
    assert upload(client, contacts["kasa_own"], world.kasa, body).status_code == 422


def test_an_empty_batch_is_accepted_and_stores_nothing(client, app, world, contacts):
    response = upload(client, contacts["kasa_own"], world.kasa, {"frames": []})
    assert response.json() == {"accepted": 0, "new": 0, "duplicates": 0, "outside_window": 0}


def test_uploads_are_the_antenna_owners_agents(client, app, world, contacts):
    body = frames_body(payloads(2))
    # Another organisation's contact: 404, as if it did not exist.
    foreign = upload(client, contacts["kasa_own"], world.uni, body)
    assert foreign.status_code == 404 and "contact" in foreign.json()["detail"][0]["msg"]
    assert upload(client, 999_999, world.kasa, body).status_code == 404
    # aem booked the contact on kasa's shared antenna, but only kasa's station agent received it: 403.
    partner = upload(client, contacts["kasa_hears_aem"], world.aem, body)
    assert partner.status_code == 403 and "antenna owner" in partner.json()["detail"][0]["msg"]
    # A viewer token of the owner reads but does not upload.
    assert upload(client, contacts["kasa_own"], world.kasa, body, role=Role.VIEWER).status_code == 403
    assert client.post(f"/agent/contacts/{contacts['kasa_own']}/frames", json=body).status_code == 401
    assert frame_count(app) == (0, 0)


def test_who_sees_which_frames(client, world, contacts):
    k, a, u = world.kasa, world.aem, world.uni
    upload(client, contacts["kasa_hears_aem"], k, frames_body(payloads(3, b"public")))
    upload(client, contacts["aem_hears_aem"], a, frames_body(payloads(3, b"public")))
    upload(client, contacts["kasa_own"], k, frames_body(payloads(2, b"private")))

    def stations(org, satellite_id):
        response = client.get(f"/satellites/{satellite_id}/frames", headers=org.auth(Role.VIEWER))
        return response.status_code, [f["stations"] for f in response.json()] if response.status_code == 200 else None

    # A public satellite's frames are everyone's; each sees the stations it may see.
    assert stations(a, a.satellite_id) == (200, [["chetumal", "daejeon-1"]] * 3)
    assert stations(k, a.satellite_id) == (200, [["daejeon-1"]] * 3)
    assert stations(u, a.satellite_id) == (200, [[]] * 3)
    # A private satellite's frames: its operator's; foreign organisations get 404.
    assert stations(k, k.satellite_id) == (200, [["daejeon-1"]] * 2)
    assert stations(u, k.satellite_id)[0] == 404
    assert stations(a, k.satellite_id)[0] == 404
    assert stations(u, 999_999)[0] == 404
    # A contact's frames: its antenna's owner, its satellite's operator; foreign: 404.
    assert client.get(f"/contacts/{contacts['kasa_own']}/frames", headers=u.auth()).status_code == 404
    assert client.get(f"/contacts/{contacts['kasa_own']}/frames", headers=a.auth()).status_code == 404
    assert len(client.get(f"/contacts/{contacts['kasa_hears_aem']}/frames", headers=k.auth()).json()) == 3


def test_a_station_owner_reads_what_it_heard_of_a_partners_private_satellite(client, app, world, contacts):
    k, a = world.kasa, world.aem
    assert client.patch(f"/satellites/{a.satellite_id}", json={"is_public": False}, headers=a.auth()).status_code == 200
    upload(client, contacts["kasa_hears_aem"], k, frames_body(payloads(2)))
    listed = client.get(f"/satellites/{a.satellite_id}/frames", headers=k.auth())
    assert listed.status_code == 200 and len(listed.json()) == 2
    assert client.get(f"/satellites/{a.satellite_id}/frames", headers=world.uni.auth()).status_code == 404


def test_pages_follow_the_after_id_cursor(client, world, contacts):
    upload(client, contacts["kasa_own"], world.kasa, frames_body(payloads(25)))
    seen, after_id = [], None
    while True:
        params = {"limit": 10} | ({"after_id": after_id} if after_id is not None else {})
        page = client.get(f"/satellites/{world.kasa.satellite_id}/frames", params=params,
                          headers=world.kasa.auth()).json()
        if not page:
            break
        seen += page
        after_id = page[-1]["id"]
    assert len(seen) == 25 and [f["id"] for f in seen] == sorted(f["id"] for f in seen)
    window = {"start": iso(PASS_START + timedelta(minutes=1, seconds=5)),
              "end": iso(PASS_START + timedelta(minutes=1, seconds=10))}
    assert len(client.get(f"/satellites/{world.kasa.satellite_id}/frames", params=window,
                          headers=world.kasa.auth()).json()) == 5


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 1001}, {"after_id": -1}, {"after_id": 2**40},
                                    {"start": "2030-05-01T00:00:00"}, {"start": "2030-05-02T00:00:00Z",
                                                                       "end": "2030-05-01T00:00:00Z"}])
def test_bad_page_parameters_are_422(client, world, contacts, params):
    response = client.get(f"/satellites/{world.kasa.satellite_id}/frames", params=params, headers=world.kasa.auth())
    assert response.status_code == 422, response.text


def test_frames_are_decoded_with_the_satellites_decoder_and_served_as_telemetry(client, world, contacts):
    k = world.kasa
    named = client.patch(f"/satellites/{k.satellite_id}", json={"decoder": " PAINANI"}, headers=k.auth())
    assert named.status_code == 200 and named.json()["decoder"] == "painani"
    frame = bytes.fromhex(PAINANI_SHORT)
    body = {"frames": [{"received_at": iso(PASS_START + timedelta(seconds=60)), "payload_hex": frame.hex()},
                       {"received_at": iso(PASS_START + timedelta(seconds=70)), "payload_hex": "00ff"}]}
    assert upload(client, contacts["kasa_own"], k, body).json()["new"] == 2
    good, bad = client.get(f"/contacts/{contacts['kasa_own']}/frames", headers=k.auth()).json()
    assert good["decoder"] == "painani" and good["decode_error"] is None
    assert good["decoded"][TEMPERATURE] == 25
    assert bad["decoded"] is None and bad["decode_error"]  # kept, with the reason

    series = client.get(f"/satellites/{k.satellite_id}/telemetry", params={"field": TEMPERATURE},
                        headers=k.auth())
    assert series.status_code == 200, series.text
    assert series.json() == {"field": TEMPERATURE, "points": [{"t": "2030-05-01T03:01:00Z", "value": 25}]}
    assert client.get(f"/satellites/{k.satellite_id}/telemetry", params={"field": "no.such.field"},
                      headers=k.auth()).json()["points"] == []
    assert client.get(f"/satellites/{k.satellite_id}/telemetry", params={"field": TEMPERATURE},
                      headers=world.uni.auth()).status_code == 404
    assert client.get(f"/satellites/{k.satellite_id}/telemetry", headers=k.auth()).status_code == 422


def test_a_decoder_name_is_checked(client, world):
    k = world.kasa
    typo = client.patch(f"/satellites/{k.satellite_id}", json={"decoder": "painanni"}, headers=k.auth())
    assert typo.status_code == 422
    assert typo.json()["detail"][0]["loc"] == ["body", "decoder"] and "painani" in typo.json()["detail"][0]["msg"]
    created = client.post("/satellites", json={"norad_id": 47000, "name": "SNUGLITE", "decoder": "snuglite"},
                          headers=k.auth())
    assert created.status_code == 201 and created.json()["decoder"] == "snuglite"
    cleared = client.patch(f"/satellites/{created.json()['id']}", json={"decoder": None}, headers=k.auth())
    assert cleared.json()["decoder"] is None
    assert client.post("/satellites", json={"norad_id": 47001, "name": "X", "decoder": "nope-nope"},
                       headers=k.auth()).status_code == 422


WITHOUT_DECODERS = textwrap.dedent("""
    import json, sys
    sys.modules['satnogsdecoders'] = None  # the decoders extra absent: find_spec and import both fail
    from fastapi.testclient import TestClient
    from groundshare.api import Settings, create_app
    from tests.support.worlds import make_world
    app = create_app(Settings(database_url=sys.argv[1]))
    world = make_world(app.state.session_factory)
    client = TestClient(app)
    response = client.post('/satellites', json={'norad_id': 47002, 'name': 'PAINANI', 'decoder': 'painani'},
                           headers=world.kasa.auth())
    print(json.dumps({'status': response.status_code, 'body': response.json()}))
""")


@pytest.mark.slow  # a fresh interpreter: the only way to have the extra absent
def test_without_the_decoders_extra_naming_a_decoder_says_what_to_install(tmp_path):
    done = subprocess.run([sys.executable, "-c", WITHOUT_DECODERS, f"sqlite:///{tmp_path / 'api.db'}"],
                          capture_output=True, text=True, timeout=120, cwd=Path(__file__).parent.parent.parent)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["status"] == 503
    assert "pip install 'groundshare[decoders]'" in out["body"]["detail"][0]["msg"]


def test_outcomes_carry_the_frames_received(client, world, contacts):
    body = {"status": "completed", "bytes_received": 2048, "frames_received": 17}
    response = client.post(f"/agent/contacts/{contacts['kasa_own']}/outcome", json=body, headers=world.kasa.auth())
    assert response.status_code == 200, response.text
    assert response.json()["frames_received"] == 17
    repeat = client.post(f"/agent/contacts/{contacts['kasa_own']}/outcome", json=body, headers=world.kasa.auth())
    assert repeat.status_code == 200
    assert client.post(f"/agent/contacts/{contacts['kasa_own']}/outcome", json={**body, "frames_received": -1},
                       headers=world.kasa.auth()).status_code == 422


# -- the live stream ---------------------------------------------------------------------------------------------


def read_events(response, count):
    """Return the first ``count`` frame events of an open event stream, as (id, event, data) tuples."""
    events, fields = [], {}
    for line in response.iter_lines():
        if line == "":
            if "event" in fields:
                events.append((int(fields["id"]), fields["event"], json.loads(fields["data"])))
                if len(events) == count:
                    return events
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(": ")
            fields[name] = value
    raise AssertionError(f"the stream ended after {len(events)} events")


def test_the_stream_sends_frames_after_the_cursor_and_resumes_from_last_event_id(client, world, contacts):
    k = world.kasa
    upload(client, contacts["kasa_own"], k, frames_body(payloads(3)))
    url = f"/satellites/{k.satellite_id}/frames/stream"
    with client.stream("GET", url, params={"after_id": 0}, headers=k.auth()) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = read_events(response, 3)
    assert [event for _, event, _ in events] == ["frame"] * 3
    assert [data["id"] for _, _, data in events] == [event_id for event_id, _, _ in events]
    assert [bytes.fromhex(data["payload_hex"]) for _, _, data in events] == payloads(3)
    # A reconnecting EventSource sends Last-Event-ID: the stream goes on after it.
    with client.stream("GET", url, headers={**k.auth(), "Last-Event-ID": str(events[0][0])}) as response:
        assert [event_id for event_id, _, _ in read_events(response, 2)] == [e[0] for e in events[1:]]


def test_a_stream_wakes_when_this_server_stores_a_frame(client, world, contacts):
    k = world.kasa
    with client.stream("GET", f"/satellites/{k.satellite_id}/frames/stream", headers=k.auth()) as response:
        assert response.status_code == 200
        upload(client, contacts["kasa_own"], k, frames_body([b"live frame"]))
        (_, _, data), = read_events(response, 1)
    assert bytes.fromhex(data["payload_hex"]) == b"live frame"


def test_streams_are_bounded_per_organisation_and_refused_for_foreign_satellites(client, app, world, contacts):
    k = world.kasa
    url = f"/satellites/{k.satellite_id}/frames/stream"
    assert client.get(url, headers=world.uni.auth()).status_code == 404
    assert client.get(url, headers={**k.auth(), "Last-Event-ID": "not-an-id"}).status_code == 422
    streams: FrameStreams = app.state.frame_streams
    held = [client.stream("GET", url, headers=k.auth()) for _ in range(streams.max_per_org)]
    try:
        opened = [stream.__enter__() for stream in held]
        assert all(response.status_code == 200 for response in opened)
        assert streams.open_count(k.id) == streams.max_per_org
        refused = client.get(url, headers=k.auth())
        assert refused.status_code == 429 and refused.headers["Retry-After"]
        assert refused.json()["detail"][0]["type"] == "too_many_streams"
        # Another organisation has streams of its own.
        with client.stream("GET", f"/satellites/{world.aem.satellite_id}/frames/stream",
                           headers=world.uni.auth()) as other:
            assert other.status_code == 200
    finally:
        for stream in held:
            stream.__exit__(None, None, None)
    assert streams.open_count(k.id) == 0


def test_a_frame_event_is_one_sse_event_with_the_frames_json():
    frame = FramePublic(id=7, received_at=datetime(2030, 5, 1, tzinfo=UTC), payload_hex="c0ffee", sha256="0" * 64,
                        stations=["daejeon-1"], decoded={"a.b": 1}, decoder="x", decode_error=None,
                        outside_window=False)
    text = frame_event(frame).decode()
    assert text.endswith("\n\n") and text.count("\n") == 4
    lines = text.splitlines()
    assert lines[:2] == ["id: 7", "event: frame"]
    assert json.loads(lines[2].removeprefix("data: "))["payload_hex"] == "c0ffee"
