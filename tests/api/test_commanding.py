"""The operator's live session and the station agent's relay (``api.routes.commanding``).

Every test runs on SQLite and PostgreSQL (``client``) with the world of ``tests.support.worlds``:
aem operates the satellite, kasa owns the station and its shared UHF antenna, uni is foreign
to both.  ``uplink_contact`` books aem's uplink contact on kasa's antenna and gives a token
allowed to command; the network's clock is moved (``move_clock``), never waited for.
Messages are read with ``receive`` (a limit, so a missing message fails instead of hanging).
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select
from starlette.websockets import WebSocketDisconnect

from groundshare.api.routes.commanding import MAX_QUEUED_PER_CONTACT
from groundshare.store import Role, UplinkLicence, session_scope
from groundshare.store.uplink import MAX_UPLINK_FRAME_BYTES
from groundshare.timeutil import format_utc
from tests.support.commanding import (
    audit,
    command_token,
    move_clock,
    receive,
    receive_until,
    session_path,
    uplink_contact,
)
from tests.support.uplink import allow_uplink


def relay_path(station_id: int) -> str:
    return f"/agent/stations/{station_id}/uplink"


def uplink(ref: str, payload_hex: str = "c0ffee") -> dict[str, str]:
    return {"type": "uplink", "ref": ref, "payload_hex": payload_hex}


def test_a_frame_sent_in_the_pass_reaches_the_station_and_is_reported_on_air(client, app, world):
    live = uplink_contact(client, app, world)
    move_clock(app, live.during())
    relay = relay_path(world.kasa.station_id)
    with client.websocket_connect(session_path(live.contact_id), headers=live.commander) as ws:
        state = receive(ws)
        assert (state["type"], state["state"], state["inhibit"]) == ("state", "tracking", None)
        assert (state["aos"], state["los"]) == (format_utc(live.aos), format_utc(live.los))
        ws.send_json(uplink("c-1"))
        accepted = receive(ws)
        assert (accepted["type"], accepted["ref"], accepted["status"], accepted["duplicate"]) == (
            "accepted", "c-1", "queued", False)
        given = client.get(relay, headers=world.kasa.auth()).json()
        [frame] = given["frames"]
        assert (frame["id"], frame["payload_hex"], frame["contact_id"]) == (
            accepted["frame_id"], "c0ffee", live.contact_id)
        on_air = given["now"]
        reported = client.post(f"{relay}/outcomes", json={"outcomes": [{"frame_id": frame["id"], "on_air_at": on_air}]},
                               headers=world.kasa.auth(Role.OPERATOR))
        assert reported.json() == {"settled": 1}, reported.text
        told = receive(ws)
        assert (told["type"], told["frame_id"], told["ref"]) == ("on_air", frame["id"], "c-1")
        ws.send_json(uplink("c-1"))
        again = receive(ws)
        assert (again["type"], again["duplicate"], again["status"], again["frame_id"]) == (
            "accepted", True, "on_air", frame["id"])
    assert client.get(relay, headers=world.kasa.auth()).json()["frames"] == []
    [entry] = audit(client, live)
    assert (entry["payload_hex"], entry["ref"], entry["on_air_at"] is not None) == ("c0ffee", "c-1", True)


# -- 1. Refusals when opening a session: an error message, then the close code 4000 + the HTTP status ------------


def refused_on_opening(client, contact_id: int, headers: dict[str, str] | None) -> tuple[dict, int]:
    """Open the session; return the error message it sends and the code it closes with."""
    with client.websocket_connect(session_path(contact_id), headers=headers or {}) as ws:
        error = receive(ws)
        with pytest.raises(WebSocketDisconnect) as closed:
            receive(ws)
    assert error["type"] == "error"
    assert closed.value.code == 4000 + error["status"]
    return error, closed.value.code


@pytest.mark.parametrize(("header", "says"), [
    (None, "missing Authorization header"),
    ({"Authorization": "Bearer gs_not-a-token"}, "unknown or revoked"),
    ({"Authorization": "Basic dXNlcjpwdw=="}, "must be 'Bearer <token>'"),
])
def test_a_session_without_a_valid_token_is_closed_4401(client, app, world, header, says):
    live = uplink_contact(client, app, world)
    move_clock(app, live.during())
    error, code = refused_on_opening(client, live.contact_id, header)
    assert code == 4401
    assert says in error["detail"]


def test_a_contact_the_caller_cannot_see_is_closed_4404(client, app, world):
    live = uplink_contact(client, app, world)
    move_clock(app, live.during())
    uni = command_token(client, world, "uni")  # allowed to command uni's satellites, which this is not
    for headers in (uni, world.uni.auth(Role.ADMIN)):
        error, code = refused_on_opening(client, live.contact_id, headers)
        assert code == 4404
        assert f"contact {live.contact_id}" in error["detail"]
    error, code = refused_on_opening(client, 999_999, live.commander)
    assert code == 4404


def test_the_station_owner_is_not_the_satellites_operator_4403(client, app, world):
    live = uplink_contact(client, app, world)
    move_clock(app, live.during())
    for headers in (world.kasa.auth(Role.ADMIN), command_token(client, world, "kasa")):
        error, code = refused_on_opening(client, live.contact_id, headers)
        assert code == 4403
        assert f"satellite {world.aem.satellite_id}" in error["detail"]
        assert f"commanded only by its operator, organisation {world.aem.id}" in error["detail"]


def test_a_viewer_token_cannot_command_4403(client, app, world):
    live = uplink_contact(client, app, world)
    move_clock(app, live.during())
    error, code = refused_on_opening(client, live.contact_id, world.aem.auth(Role.VIEWER))
    assert code == 4403
    assert "a viewer token cannot command" in error["detail"]


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.ADMIN])
def test_a_token_not_made_to_command_is_closed_4403(client, app, world, role):
    live = uplink_contact(client, app, world)
    move_clock(app, live.during())
    error, code = refused_on_opening(client, live.contact_id, world.aem.auth(role))
    assert code == 4403
    assert "can_command false" in error["detail"]
    assert "POST /tokens" in error["detail"]


def test_a_token_for_other_satellites_is_closed_4403(client, app, world):
    live = uplink_contact(client, app, world)
    move_clock(app, live.during())
    other = client.post("/satellites", json={"norad_id": 12345, "name": "AEM-2"}, headers=world.aem.auth())
    assert other.status_code == 201, other.text
    narrow = command_token(client, world, command_satellite_ids=[other.json()["id"]])
    error, code = refused_on_opening(client, live.contact_id, narrow)
    assert code == 4403
    assert f"commands only satellites [{other.json()['id']}] (command_satellite_ids)" in error["detail"]
    assert f"not satellite {world.aem.satellite_id}" in error["detail"]
    # Naming the contact's satellite among others is enough.
    wide = command_token(client, world, command_satellite_ids=[other.json()["id"], world.aem.satellite_id])
    with client.websocket_connect(session_path(live.contact_id), headers=wide) as ws:
        assert receive(ws)["type"] == "state"


def test_a_receive_only_contact_is_closed_4403(client, app, world):
    start = "2030-05-01T03:00:00Z"
    booked = client.post("/contacts", json={"antenna_id": world.aem.antenna_id, "satellite_id": world.aem.satellite_id,
                                            "start": start, "end": "2030-05-01T03:10:00Z",
                                            "allow_outside_pass": True}, headers=world.aem.auth())
    assert booked.status_code == 201, booked.text
    assert booked.json()["uplink"] is False
    error, code = refused_on_opening(client, booked.json()["id"], command_token(client, world))
    assert code == 4403
    assert "receive-only (uplink false)" in error["detail"]
    assert "Book an uplink contact" in error["detail"]


# -- 2. Refusals per frame: answered refused with the reason, nothing stored, the session open ------------------


def refused_frame(ws, message: dict) -> dict:
    """Send ``message``; return the refusal it is answered with."""
    ws.send_json(message)
    answer = receive(ws)
    assert answer["type"] == "refused", answer
    return answer


def test_before_aos_the_state_is_waiting_and_frames_are_refused_until_tracking(client, app, world):
    live = uplink_contact(client, app, world)
    move_clock(app, live.aos - timedelta(minutes=5))
    with client.websocket_connect(session_path(live.contact_id), headers=live.commander) as ws:
        assert receive(ws)["state"] == "waiting"
        early = refused_frame(ws, uplink("early"))
        assert (early["ref"], early["code"]) == ("early", 403)
        assert early["reason"].startswith(f"before AOS: contact {live.contact_id} starts at {format_utc(live.aos)}")
        assert audit(client, live) == []
        move_clock(app, live.during())
        assert receive(ws)["state"] == "tracking"
        ws.send_json(uplink("early"))  # the same ref, refused before, is a new frame now
        assert (accepted := receive(ws))["type"] == "accepted" and accepted["duplicate"] is False
    assert [e["ref"] for e in audit(client, live)] == ["early"]


def test_after_los_the_state_is_los_and_frames_are_refused(client, app, world):
    live = uplink_contact(client, app, world)
    move_clock(app, live.los + timedelta(seconds=1))
    with client.websocket_connect(session_path(live.contact_id), headers=live.commander) as ws:
        assert receive(ws)["state"] == "los"
        late = refused_frame(ws, uplink("late"))
        assert late["reason"].startswith(f"after LOS: contact {live.contact_id} ended at {format_utc(live.los)}")
        assert late["code"] == 403
    assert audit(client, live) == []


def test_without_the_owners_uplink_terms_frames_are_refused(client, app, world):
    live = uplink_contact(client, app, world, allow=False)
    move_clock(app, live.during())
    with client.websocket_connect(session_path(live.contact_id), headers=live.commander) as ws:
        receive(ws)
        answer = refused_frame(ws, uplink("c-1"))
        assert f"transmit from antenna {world.kasa.antenna_id}" in answer["reason"]
        assert "(uplink_allowed is false)" in answer["reason"]
    assert audit(client, live) == []


def test_a_band_the_owner_does_not_allow_for_uplink_is_refused(client, app, world):
    live = uplink_contact(client, app, world)
    allow_uplink(app.state.session_factory, world.kasa.antenna_id, world.aem.id, bands=["s"])
    move_clock(app, live.during())
    with client.websocket_connect(session_path(live.contact_id), headers=live.commander) as ws:
        receive(ws)
        answer = refused_frame(ws, uplink("c-1"))
        assert "allows uplink only on the s band(s) (uplink_bands)" in answer["reason"]
        assert f"antenna {world.kasa.antenna_id} ('uhf') is uhf" in answer["reason"]
    assert audit(client, live) == []


def test_a_licence_that_expires_before_los_refuses_frames(client, app, world):
    live = uplink_contact(client, app, world)
    with session_scope(app.state.session_factory) as session:
        licence = session.scalars(select(UplinkLicence).where(UplinkLicence.station_id == world.kasa.station_id)).one()
        licence.valid_until = live.los - timedelta(seconds=30)  # still valid now, not for the whole contact
    move_clock(app, live.during())
    with client.websocket_connect(session_path(live.contact_id), headers=live.commander) as ws:
        receive(ws)
        answer = refused_frame(ws, uplink("c-1"))
        assert answer["reason"].startswith(f"no uplink licence lets satellite {world.aem.satellite_id} be commanded "
                                           f"from station {world.kasa.station_id}")
        assert "for the whole of" in answer["reason"]
    assert audit(client, live) == []


def test_a_transmit_inhibit_shows_in_the_state_and_refuses_frames_until_lifted(client, app, world):
    live = uplink_contact(client, app, world)
    move_clock(app, live.during())
    inhibit_path = f"/stations/{world.kasa.station_id}/transmit-inhibit"
    with client.websocket_connect(session_path(live.contact_id), headers=live.commander) as ws:
        assert receive(ws)["inhibit"] is None
        raised = client.post(inhibit_path, json={"reason": "RF safety check"}, headers=world.kasa.auth())
        assert raised.status_code == 201, raised.text
        state = receive(ws)
        assert (state["type"], state["state"]) == ("state", "tracking")
        assert (state["inhibit"]["id"], state["inhibit"]["reason"]) == (raised.json()["id"], "RF safety check")
        answer = refused_frame(ws, uplink("c-1"))
        assert "has a transmit inhibit raised at" in answer["reason"]
        assert f"(inhibit {raised.json()['id']}: RF safety check)" in answer["reason"]
        assert audit(client, live) == []
        assert client.delete(inhibit_path, headers=world.kasa.auth()).status_code == 200
        assert receive(ws)["inhibit"] is None
        ws.send_json(uplink("c-1"))
        assert receive(ws)["type"] == "accepted"
    assert len(audit(client, live)) == 1


@pytest.mark.parametrize(("message", "ref", "says"), [
    ("not json", None, "a message is one JSON object"),
    (b'{"type":"uplink","ref":"b","payload_hex":"00"}', None, "a message is one JSON object sent as text, not binary"),
    ([1, 2], None, 'the only message an operator sends is {"type": "uplink", ...}'),
    ({"type": "downlink", "ref": "d"}, None, 'the only message an operator sends is {"type": "uplink", ...}'),
    ({"ref": "d", "payload_hex": "00"}, None, '{"type": "uplink", ...}'),
    ({"type": "uplink", "payload_hex": "00"}, None, "an uplink message needs 'ref'"),
    ({"type": "uplink", "ref": 7, "payload_hex": "00"}, None, "an uplink message needs 'ref'"),
    ({"type": "uplink", "ref": "h"}, "h", "an uplink message needs 'payload_hex'"),
    ({"type": "uplink", "ref": "h", "payload_hex": "zz"}, "h", "payload_hex is not hexadecimal"),
    ({"type": "uplink", "ref": "h", "payload_hex": "c0f"}, "h", "payload_hex is not hexadecimal"),
    ({"type": "uplink", "ref": "h", "payload_hex": ""}, "h", "payload is empty; an uplink frame holds at least one"),
    ({"type": "uplink", "ref": "h", "payload_hex": "00" * (MAX_UPLINK_FRAME_BYTES + 1)}, "h",
     f"payload is {MAX_UPLINK_FRAME_BYTES + 1} bytes; an uplink frame holds at most {MAX_UPLINK_FRAME_BYTES}"),
    ({"type": "uplink", "ref": "h", "payload_hex": "00" * 9000}, None, "a message holds at most 16384 characters"),
    ({"type": "uplink", "ref": "r" * 65, "payload_hex": "00"}, "r" * 65, "ref must be 1 to 64 printable characters"),
    ({"type": "uplink", "ref": "", "payload_hex": "00"}, "", "ref must be 1 to 64 printable characters"),
])
def test_a_malformed_message_is_refused_naming_the_field_and_the_session_goes_on(client, app, world, message, ref,
                                                                                    says):
    live = uplink_contact(client, app, world)
    move_clock(app, live.during())
    with client.websocket_connect(session_path(live.contact_id), headers=live.commander) as ws:
        receive(ws)
        if isinstance(message, bytes):
            ws.send_bytes(message)
        elif isinstance(message, str):
            ws.send_text(message)
        else:
            ws.send_json(message)
        answer = receive(ws)
        assert (answer["type"], answer["ref"], answer["code"]) == ("refused", ref, 422)
        assert says in answer["reason"]
        assert audit(client, live) == []
        ws.send_json(uplink("after"))
        assert receive(ws)["type"] == "accepted"
    assert [e["ref"] for e in audit(client, live)] == ["after"]


# -- 3. A transmit inhibit mid-pass, on the relay ------------------------------------------------------------------


def test_an_inhibit_before_the_agent_takes_a_frame_settles_it_not_sent(client, app, world):
    live = uplink_contact(client, app, world)
    move_clock(app, live.during())
    relay = relay_path(world.kasa.station_id)
    with client.websocket_connect(session_path(live.contact_id), headers=live.commander) as ws:
        receive(ws)
        ws.send_json(uplink("c-1"))
        accepted = receive(ws)
        assert accepted["status"] == "queued"
        raised = client.post(f"/stations/{world.kasa.station_id}/transmit-inhibit", json={"reason": "antenna stow"},
                             headers=world.kasa.auth())
        assert raised.status_code == 201
        given = client.get(relay, headers=world.kasa.auth())
        assert given.status_code == 200, given.text
        assert given.json()["frames"] == []
        assert (given.json()["inhibit"]["id"], given.json()["inhibit"]["reason"]) == (raised.json()["id"],
                                                                                      "antenna stow")
        messages = receive_until(ws, "not_sent")
        assert messages[0]["type"] == "state" and messages[0]["inhibit"]["reason"] == "antenna stow"
        not_sent = messages[-1]
        assert (not_sent["frame_id"], not_sent["ref"]) == (accepted["frame_id"], "c-1")
        assert "transmit inhibit" in not_sent["reason"] and "antenna stow" in not_sent["reason"]
        assert "\n" not in not_sent["reason"]
        # Settled for good: lifting the inhibit does not bring it back, and sending it again says so.
        assert client.delete(f"/stations/{world.kasa.station_id}/transmit-inhibit",
                             headers=world.kasa.auth()).status_code == 200
        assert client.get(relay, headers=world.kasa.auth()).json()["frames"] == []
        ws.send_json(uplink("c-1"))
        again = receive_until(ws, "accepted")[-1]
        assert (again["duplicate"], again["status"], again["frame_id"], again["reason"]) == (
            True, "not_sent", accepted["frame_id"], not_sent["reason"])
    [entry] = audit(client, live)
    assert (entry["on_air_at"], entry["not_sent_reason"]) == (None, not_sent["reason"])


def test_the_relays_long_poll_returns_once_an_inhibit_is_raised(client, app, world):
    station = world.kasa.station_id
    answers: list = []
    poll = threading.Thread(target=lambda: answers.append(client.get(
        f"{relay_path(station)}?wait_s=10&inhibited=false", headers=world.kasa.auth())))
    poll.start()
    try:
        # Raise it once the poll is waiting (its wake-up subscribed), so it is the wake-up that answers it.
        for _ in range(2000):
            if app.state.uplink_wakeups.waiters(("station", station)) or not poll.is_alive():
                break
            threading.Event().wait(0.005)
        assert app.state.uplink_wakeups.waiters(("station", station)) == 1  # waiting: nothing to answer yet
        raised = client.post(f"/stations/{station}/transmit-inhibit", json={"reason": "storm"},
                             headers=world.kasa.auth())
        assert raised.status_code == 201
    finally:
        poll.join(30)
    assert not poll.is_alive()
    [answer] = answers
    assert answer.status_code == 200, answer.text
    assert answer.json()["frames"] == []
    assert (answer.json()["inhibit"]["id"], answer.json()["inhibit"]["reason"]) == (raised.json()["id"], "storm")
    assert answer.headers["cache-control"] == "no-store"
    # The agent that knows of the inhibit is answered at once (wait_s 0) with it, and nothing to send.
    known = client.get(f"{relay_path(station)}?inhibited=true", headers=world.kasa.auth()).json()
    assert (known["frames"], known["inhibit"]["id"]) == ([], raised.json()["id"])


# -- 4. Reconnecting: frames sent again are not doubled; downlink from where the operator left off -----------------


def test_frames_sent_again_after_a_reconnection_are_not_queued_twice(client, app, world):
    live = uplink_contact(client, app, world)
    move_clock(app, live.during())
    frames = {"c-1": "c0ffee", "c-2": "0badf00d", "c-3": "01"}
    with client.websocket_connect(session_path(live.contact_id), headers=live.commander) as ws:
        receive(ws)
        first = {}
        for ref, payload in frames.items():
            ws.send_json(uplink(ref, payload))
            answer = receive(ws)
            assert (answer["type"], answer["ref"], answer["duplicate"]) == ("accepted", ref, False)
            first[ref] = answer["frame_id"]
    # While the operator is away, the station puts c-1 on air.
    relay = relay_path(world.kasa.station_id)
    given = client.get(relay, headers=world.kasa.auth()).json()
    assert [f["id"] for f in given["frames"]] == list(first.values())
    assert client.post(f"{relay}/outcomes", json={"outcomes": [{"frame_id": first["c-1"], "on_air_at": given["now"]}]},
                       headers=world.kasa.auth()).json() == {"settled": 1}
    with client.websocket_connect(session_path(live.contact_id), headers=live.commander) as ws:
        assert receive(ws)["type"] == "state"
        # The new session follows the frames queued before it opened: c-2 going on air is told, unasked.
        assert client.post(f"{relay}/outcomes", json={"outcomes": [
            {"frame_id": first["c-2"], "on_air_at": given["now"]}]}, headers=world.kasa.auth()).json() == {
            "settled": 1}
        told = receive_until(ws, "on_air")[-1]
        assert (told["frame_id"], told["ref"]) == (first["c-2"], "c-2")
        for ref, payload in frames.items():
            ws.send_json(uplink(ref, payload))
            answer = receive(ws)
            assert (answer["type"], answer["ref"], answer["duplicate"], answer["frame_id"]) == (
                "accepted", ref, True, first[ref])
            assert answer["status"] == ("queued" if ref == "c-3" else "on_air")
        conflict = refused_frame(ws, uplink("c-2", "ffff"))
        assert (conflict["ref"], conflict["code"]) == ("c-2", 409)
        assert f"ref 'c-2' already names frame {first['c-2']} of contact {live.contact_id}, with other bytes" in (
            conflict["reason"])
    entries = audit(client, live)
    assert sorted((e["ref"], e["id"], e["payload_hex"]) for e in entries) == sorted(
        (ref, first[ref], payload) for ref, payload in frames.items())


@pytest.mark.slow
def test_a_contact_holds_at_most_so_many_frames_not_yet_on_air(client, app, world):
    """Past ``MAX_QUEUED_PER_CONTACT`` queued frames a new one is refused (409); one sent again is still answered."""
    live = uplink_contact(client, app, world)
    move_clock(app, live.during())
    with client.websocket_connect(session_path(live.contact_id), headers=live.commander) as ws:
        receive(ws)
        ids = []
        for index in range(MAX_QUEUED_PER_CONTACT):
            ws.send_json(uplink(f"q-{index}", f"{index:04x}"))
            answer = receive(ws)
            assert answer["type"] == "accepted", answer
            ids.append(answer["frame_id"])
        full = refused_frame(ws, uplink("one-more"))
        assert (full["ref"], full["code"]) == ("one-more", 409)
        assert f"{MAX_QUEUED_PER_CONTACT} frames of contact {live.contact_id} are queued" in full["reason"]
        ws.send_json(uplink("q-0", "0000"))
        assert (again := receive(ws))["duplicate"] is True and again["frame_id"] == ids[0]
        relay = relay_path(world.kasa.station_id)
        now = client.get(relay, headers=world.kasa.auth()).json()["now"]
        assert client.post(f"{relay}/outcomes", json={"outcomes": [{"frame_id": ids[0], "on_air_at": now}]},
                           headers=world.kasa.auth()).json() == {"settled": 1}
        assert receive_until(ws, "on_air")[-1]["frame_id"] == ids[0]
        ws.send_json(uplink("one-more"))
        assert receive(ws)["type"] == "accepted"
    assert len(audit(client, live)) == MAX_QUEUED_PER_CONTACT + 1


def test_a_reconnected_session_gets_only_the_downlink_after_the_last_frame_it_had(client, app, world):
    live = uplink_contact(client, app, world)
    move_clock(app, live.during())
    received = [live.during(10 + i) for i in range(3)]

    def upload(index: int) -> None:
        body = {"frames": [{"received_at": format_utc(received[index]), "payload_hex": f"beac0{index}"}]}
        answer = client.post(f"/agent/contacts/{live.contact_id}/frames", json=body, headers=world.kasa.auth())
        assert answer.status_code == 200, answer.text
        assert answer.json()["new"] == 1

    upload(0)
    with client.websocket_connect(session_path(live.contact_id), headers=live.commander) as ws:
        assert receive(ws)["type"] == "state"
        first = receive(ws)
        assert (first["type"], first["frame"]["payload_hex"]) == ("downlink", "beac00")
        upload(1)  # received while the session is open: delivered live
        second = receive(ws)
        assert (second["type"], second["frame"]["payload_hex"]) == ("downlink", "beac01")
        assert second["frame"]["id"] > first["frame"]["id"]
    upload(2)
    with client.websocket_connect(session_path(live.contact_id, after_frame_id=second["frame"]["id"]),
                                  headers=live.commander) as ws:
        assert receive(ws)["type"] == "state"
        third = receive(ws)
        assert (third["type"], third["frame"]["payload_hex"]) == ("downlink", "beac02")
        ws.send_json(uplink("c-1"))
        assert receive(ws)["type"] == "accepted"  # nothing else was pending: the earlier frames are not sent again
    with client.websocket_connect(session_path(live.contact_id), headers=live.commander) as ws:
        assert receive(ws)["type"] == "state"
        assert [receive(ws)["frame"]["payload_hex"] for _ in range(3)] == ["beac00", "beac01", "beac02"]


def test_revoking_the_token_ends_the_session_4401(client, app, world):
    live = uplink_contact(client, app, world)
    move_clock(app, live.during())
    tokens = client.get("/tokens", headers=world.aem.auth(Role.ADMIN)).json()["data"]
    [commander] = [t for t in tokens if t["can_command"]]
    with client.websocket_connect(session_path(live.contact_id), headers=live.commander) as ws:
        receive(ws)
        revoked = client.post(f"/tokens/{commander['id']}/revoke", headers=world.aem.auth(Role.ADMIN))
        assert revoked.status_code == 200
        error = receive_until(ws, "error")[-1]
        assert error["status"] == 401 and "revoked" in error["detail"]
        with pytest.raises(WebSocketDisconnect) as closed:
            receive(ws)
        assert closed.value.code == 4401


# -- 5. The relay and its outcomes: the station's owner only, each frame settled once ------------------------------


def test_only_the_station_owners_writers_use_its_relay(client, app, world):
    station = world.kasa.station_id
    outcomes = {"outcomes": [{"frame_id": 1, "on_air_at": "2030-01-01T00:00:00Z"}]}
    for method, path, body in (("GET", relay_path(station), None),
                               ("POST", f"{relay_path(station)}/outcomes", outcomes)):
        partner = client.request(method, path, json=body, headers=command_token(client, world))
        assert partner.status_code == 403, partner.text
        assert f"station {station}" in partner.json()["detail"][0]["msg"]
        assert client.request(method, path, json=body, headers=world.uni.auth()).status_code == 404
        viewer = client.request(method, path, json=body, headers=world.kasa.auth(Role.VIEWER))
        assert viewer.status_code == 403
        assert "the token's role is 'viewer'" in viewer.json()["detail"][0]["msg"]
    assert client.get(relay_path(999_999), headers=world.kasa.auth()).status_code == 404
    assert client.get(relay_path(station), headers=world.kasa.auth()).json()["frames"] == []


def test_outcomes_are_for_the_stations_own_frames_and_are_recorded_once(client, app, world):
    live = uplink_contact(client, app, world)
    move_clock(app, live.during())
    with client.websocket_connect(session_path(live.contact_id), headers=live.commander) as ws:
        receive(ws)
        ws.send_json(uplink("c-1"))
        frame_id = receive(ws)["frame_id"]
    relay = relay_path(world.kasa.station_id)
    now = client.get(relay, headers=world.kasa.auth()).json()["now"]
    # aem's own station was not given the frame, whoever asks.
    elsewhere = client.post(f"{relay_path(world.aem.station_id)}/outcomes",
                            json={"outcomes": [{"frame_id": frame_id, "on_air_at": now}]}, headers=world.aem.auth())
    assert elsewhere.status_code == 404
    assert (f"outcomes[0].frame_id: uplink frame {frame_id} was not given to station {world.aem.station_id}"
            in elsewhere.json()["detail"][0]["msg"])
    unknown = client.post(f"{relay}/outcomes", json={"outcomes": [{"frame_id": frame_id + 100, "on_air_at": now}]},
                          headers=world.kasa.auth())
    assert unknown.status_code == 404
    on_air = {"outcomes": [{"frame_id": frame_id, "on_air_at": now}]}
    assert client.post(f"{relay}/outcomes", json=on_air, headers=world.kasa.auth()).json() == {"settled": 1}
    assert client.post(f"{relay}/outcomes", json=on_air, headers=world.kasa.auth()).json() == {"settled": 0}
    for other in ({"frame_id": frame_id, "not_sent_reason": "TNC offline"},
                  {"frame_id": frame_id, "on_air_at": format_utc(live.during(120))}):
        conflict = client.post(f"{relay}/outcomes", json={"outcomes": [other]}, headers=world.kasa.auth())
        assert conflict.status_code == 409, conflict.text
        assert f"uplink frame {frame_id} is already settled (on_air)" in conflict.json()["detail"][0]["msg"]
    both = client.post(f"{relay}/outcomes", json={"outcomes": [{"frame_id": frame_id, "on_air_at": now,
                                                                "not_sent_reason": "x"}]}, headers=world.kasa.auth())
    assert both.status_code == 422
    [entry] = audit(client, live)
    assert (entry["on_air_at"], entry["not_sent_reason"]) == (now, None)


# -- 6. Tokens made to command ------------------------------------------------------------------------------------


def test_a_token_made_to_command_shows_it(client, world):
    created = client.post("/tokens", json={"role": "operator", "can_command": True,
                                           "command_satellite_ids": [world.aem.satellite_id]},
                          headers=world.aem.auth(Role.ADMIN))
    assert created.status_code == 201, created.text
    assert (created.json()["can_command"], created.json()["command_satellite_ids"]) == (
        True, [world.aem.satellite_id])
    plain = client.post("/tokens", json={"role": "operator"}, headers=world.aem.auth(Role.ADMIN)).json()
    assert (plain["can_command"], plain["command_satellite_ids"]) == (False, [])
    listed = {t["id"]: t for t in client.get("/tokens", headers=world.aem.auth(Role.ADMIN)).json()["data"]}
    assert listed[created.json()["id"]]["can_command"] is True
    assert listed[created.json()["id"]]["command_satellite_ids"] == [world.aem.satellite_id]
    assert listed[plain["id"]]["can_command"] is False
    assert "token" not in listed[created.json()["id"]]


@pytest.mark.parametrize(("body", "loc", "says"), [
    ({"role": "viewer", "can_command": True}, "can_command", "a viewer token cannot command"),
    ({"role": "operator", "command_satellite_ids": ["own"]}, "can_command", "can_command is false"),
    ({"role": "operator", "can_command": True, "command_satellite_ids": ["kasa"]}, "command_satellite_ids",
     "which your organisation does not operate"),
    ({"role": "operator", "can_command": True, "command_satellite_ids": ["own", "uni"]}, "command_satellite_ids",
     "which your organisation does not operate"),
])
def test_a_command_permission_the_token_cannot_have_is_422(client, world, body, loc, says):
    satellites = {"own": world.aem.satellite_id, "kasa": world.kasa.satellite_id, "uni": world.uni.satellite_id}
    if "command_satellite_ids" in body:
        body = {**body, "command_satellite_ids": [satellites[s] for s in body["command_satellite_ids"]]}
    before = client.get("/tokens", headers=world.aem.auth(Role.ADMIN)).json()["count"]
    answer = client.post("/tokens", json=body, headers=world.aem.auth(Role.ADMIN))
    assert answer.status_code == 422, answer.text
    [error] = answer.json()["detail"]
    assert error["loc"][-1] == loc
    assert says in error["msg"]
    if loc == "command_satellite_ids":
        assert str(world.aem.satellite_id) not in error["msg"].split("names satellites")[1].split("]")[0]
    assert client.get("/tokens", headers=world.aem.auth(Role.ADMIN)).json()["count"] == before


def test_a_station_scoped_token_cannot_command(client, world):
    answer = client.post("/tokens", json={"role": "operator", "can_command": True,
                                          "station_id": world.aem.station_id}, headers=world.aem.auth(Role.ADMIN))
    assert answer.status_code == 422
    assert "a station-scoped token cannot command" in answer.json()["detail"][0]["msg"]
