"""What the agent takes from the API, checked field by field: contacts, the schedule, the clock, the URL, its id."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from groundshare.agent.client import (
    MAX_RESPONSE_BYTES,
    ApiResponseError,
    ServerClock,
    check_api_url,
    is_loopback_host,
    plain_http_warning,
)
from groundshare.agent.clock import NetworkClock
from groundshare.agent.identity import default_agent_id
from groundshare.agent.schedule import MAX_SCHEDULE_CONTACTS, AgentSchedule, ScheduleError
from groundshare.contact import MAX_CONTACT_S, ContactError, ScheduledContact
from groundshare.errors import InvalidInputError
from groundshare.store.lease import MAX_AGENT_ID_LENGTH
from groundshare.units import DAY_S

STATION = {"id": 3, "name": "daejeon", "lat_deg": 36.372, "lon_deg": 127.36, "alt_m": 70.0,
           "min_elevation_deg": 5.0, "horizon_mask": None}
TLE = ("NEXUS\n1 49263U 21088D   25310.50000000  .00010000  00000-0  50000-3 0  9990\n"
       "2 49263  97.6000 100.0000 0010000 100.0000 260.0000 15.10000000100000\n")


def contact(**changes: Any) -> dict[str, Any]:
    """A well-formed schedule entry as ``GET /agent/schedule`` lists it, with ``changes``."""
    body = {"contact_id": 41, "status": "scheduled", "org_id": 2, "start": "2025-11-07T03:00:00Z",
            "end": "2025-11-07T03:08:00Z", "busy_until": "2025-11-07T03:09:00Z",
            "antenna": {"id": 5, "name": "uhf-yagi", "band": "uhf", "setup_s": 30.0, "turnaround_s": 60.0,
                        "az_slew_deg_s": 6.0, "el_slew_deg_s": None},
            "satellite": {"id": 9, "norad_id": 49263, "name": "NEXUS", "downlink_frequency_hz": 437.5e6,
                          "uplink_frequency_hz": None},
            "element_set": {"id": 1, "epoch": "2025-11-06T12:00:00Z", "format": "tle", "text": TLE}}
    for key, value in changes.items():
        owner, _, name = key.partition("__")
        if name:
            body[owner] = {**body[owner], name: value}
        else:
            body[owner] = value
    return body


def test_a_well_formed_contact_is_typed_and_keeps_every_field() -> None:
    taken = ScheduledContact.from_json(contact(start="2025-11-07T12:00:00+09:00"))
    assert taken.contact_id == 41 and taken.duration_s == 480.0
    assert taken.start == datetime(2025, 11, 7, 3, tzinfo=UTC)
    assert (taken.az_slew_deg_s, taken.el_slew_deg_s) == (6.0, None)
    assert (taken.norad_id, taken.satellite_name, taken.downlink_frequency_hz) == (49263, "NEXUS", 437.5e6)
    assert taken.element_text == TLE
    body = taken.to_json()
    assert body["start"] == "2025-11-07T03:00:00.000Z" and body["end"] == "2025-11-07T03:08:00.000Z"
    assert body["busy_until"] == "2025-11-07T03:09:00Z" and body["antenna"]["band"] == "uhf"


def test_nulls_the_agent_can_do_without_are_taken() -> None:
    taken = ScheduledContact.from_json(contact(antenna=None, satellite=None, element_set=None))
    assert taken.az_slew_deg_s is None and taken.satellite_name is None and taken.element_text is None


@pytest.mark.parametrize(("changes", "loc", "message"), [
    ({"start": "yesterday"}, ("start",),
     "contact 41: start must be an ISO 8601 UTC time such as 2025-11-07T03:12:00Z, got 'yesterday'"),
    ({"start": "now"}, ("start",),
     "contact 41: start must be an ISO 8601 UTC time such as 2025-11-07T03:12:00Z, got 'now'"),
    ({"end": "2025-11-07T03:08:00"}, ("end",),
     "contact 41: end must be an ISO 8601 UTC time such as 2025-11-07T03:12:00Z, got '2025-11-07T03:08:00'"),
    ({"end": 1762484880}, ("end",),
     "contact 41: end must be an ISO 8601 UTC time such as 2025-11-07T03:12:00Z, got 1762484880"),
    ({"start": None}, ("start",),
     "contact 41: start must be an ISO 8601 UTC time such as 2025-11-07T03:12:00Z, got None"),
    ({"end": "2025-11-07T02:59:00Z"}, ("end",),
     "contact 41: end (2025-11-07T02:59:00.000Z) must be after start (2025-11-07T03:00:00.000Z)"),
    ({"end": "2025-11-08T03:00:00Z"}, ("end",),
     "contact 41: the contact lasts 86400 s, more than the 43200 s the agent executes (start "
     "2025-11-07T03:00:00.000Z, end 2025-11-08T03:00:00.000Z)"),
    ({"antenna": "uhf"}, ("antenna",), "contact 41: antenna must be a JSON object or null, got 'uhf'"),
    ({"antenna__az_slew_deg_s": -6.0}, ("antenna", "az_slew_deg_s"),
     "contact 41: antenna.az_slew_deg_s must be a positive number or null, got -6.0"),
    ({"antenna__el_slew_deg_s": "fast"}, ("antenna", "el_slew_deg_s"),
     "contact 41: antenna.el_slew_deg_s must be a positive number or null, got 'fast'"),
    ({"satellite": [1, 2]}, ("satellite",), "contact 41: satellite must be a JSON object or null, got a list [1, 2]"),
    ({"satellite__norad_id": "49263"}, ("satellite", "norad_id"),
     "contact 41: satellite.norad_id must be a whole number of at least 1 or null, got '49263'"),
    ({"satellite__name": ""}, ("satellite", "name"),
     "contact 41: satellite.name must be text of 1 to 200 characters or null, got ''"),
    ({"satellite__downlink_frequency_hz": math.inf}, ("satellite", "downlink_frequency_hz"),
     "contact 41: satellite.downlink_frequency_hz must be a positive number or null, got inf"),
    ({"satellite__uplink_frequency_hz": True}, ("satellite", "uplink_frequency_hz"),
     "contact 41: satellite.uplink_frequency_hz must be a positive number or null, got True"),
    ({"element_set__text": 7}, ("element_set", "text"),
     "contact 41: element_set.text must be text of 1 to 100000 characters or null, got 7"),
])
def test_a_malformed_contact_names_its_id_and_field(changes: dict[str, Any], loc: tuple[str, ...],
                                                    message: str) -> None:
    with pytest.raises(ContactError) as caught:
        ScheduledContact.from_json(contact(**changes))
    assert str(caught.value) == message
    assert caught.value.loc == loc and caught.value.contact_id == 41


@pytest.mark.parametrize(("body", "message"), [
    ("a contact", "schedule entry 3 must be a JSON object, got 'a contact'"),
    (contact(contact_id=None), "schedule entry 3: contact_id must be a whole number of at least 1, got None"),
    (contact(contact_id="41"), "schedule entry 3: contact_id must be a whole number of at least 1, got '41'"),
    (contact(contact_id=0), "schedule entry 3: contact_id must be a whole number of at least 1, got 0"),
    (contact(contact_id=True), "schedule entry 3: contact_id must be a whole number of at least 1, got True"),
])
def test_an_entry_without_a_usable_id_is_named_by_its_position(body: Any, message: str) -> None:
    with pytest.raises(ContactError) as caught:
        ScheduledContact.from_json(body, index=3)
    assert str(caught.value) == message and caught.value.contact_id is None


def test_the_bounds_are_documented() -> None:
    assert MAX_CONTACT_S == 12 * 3600.0
    import groundshare.agent.runner as runner
    import groundshare.agent.schedule as schedule
    from groundshare.cli import agent

    for doc in (schedule.__doc__, runner.__doc__, agent.__doc__):  # the module, the agent, ``agent --help``
        assert f"{MAX_SCHEDULE_CONTACTS:,}" in doc and "MAX_SCHEDULE_CONTACTS" in doc


def schedule_body(data: list[Any], **changes: Any) -> dict[str, Any]:
    return {"station": STATION, "start": "2025-11-07T00:00:00Z", "end": "2025-11-09T00:00:00Z", "data": data,
            "count": len(data), **changes}


def test_a_schedule_takes_the_good_contacts_and_sets_the_malformed_ones_aside() -> None:
    data = [contact(), contact(contact_id=42, start="later"), "junk", contact(contact_id=43), contact()]
    schedule = AgentSchedule.from_json(schedule_body(data))
    assert [c.contact_id for c in schedule.contacts] == [41, 43]
    assert [(e.contact_id, str(e)) for e in schedule.rejected] == [
        (42, "contact 42: start must be an ISO 8601 UTC time such as 2025-11-07T03:12:00Z, got 'later'"),
        (None, "schedule entry 2 must be a JSON object, got 'junk'"),
        (None, "schedule entry 4: contact 41 is listed twice; the first entry is kept"),
    ]
    assert schedule.rejected[0].body == data[1]  # kept, for the journal
    assert schedule.station.to_json() == STATION and schedule.start == datetime(2025, 11, 7, tzinfo=UTC)


def test_a_schedule_of_exactly_the_bound_is_taken_and_one_more_is_refused_whole() -> None:
    at_bound = [contact(contact_id=i + 1) for i in range(MAX_SCHEDULE_CONTACTS)]
    assert len(AgentSchedule.from_json(schedule_body(at_bound)).contacts) == MAX_SCHEDULE_CONTACTS
    with pytest.raises(ScheduleError) as caught:
        AgentSchedule.from_json(schedule_body([*at_bound, contact(contact_id=MAX_SCHEDULE_CONTACTS + 1)]))
    assert str(caught.value).startswith(f"the schedule lists {MAX_SCHEDULE_CONTACTS + 1} contacts, more than the "
                                        f"{MAX_SCHEDULE_CONTACTS} the agent takes at once (MAX_SCHEDULE_CONTACTS)")
    assert caught.value.loc == ("data",)


@pytest.mark.parametrize(("body", "loc", "message"), [
    ([], ("body",), "the schedule must be a JSON object, got a list []"),
    (schedule_body([], station=None), ("station",), "the schedule's station must be a JSON object, got None"),
    (schedule_body([], station={**STATION, "id": "3"}), ("station", "id"),
     "the schedule's station.id must be a whole number, got '3'"),
    (schedule_body([], station={**STATION, "lat_deg": 91}), ("station", "lat_deg"),
     "station.lat_deg must be a number from -90 to 90, got 91"),
    (schedule_body([], station={**STATION, "alt_m": None}), ("station", "alt_m"),
     "station.alt_m must be a number from -500 to 10000, got None"),
    (schedule_body([], station={**STATION, "name": ""}), ("station", "name"),
     "station.name must be text of 1 to 200 characters, got ''"),
    (schedule_body({"0": contact()}), ("data",),
     "the schedule's data must be a list of contacts, got an object {'0': {'contact_id': 41, 'status': 'scheduled', "
     "'org_id': 2, 'start': '2025-11-0..."),
    (schedule_body([], end="tomorrow"), ("end",),
     "end must be an ISO 8601 UTC time such as 2025-11-07T03:12:00Z, got 'tomorrow'"),
])
def test_a_schedule_that_cannot_be_used_is_refused_naming_the_field(body: Any, loc: tuple[str, ...],
                                                                     message: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        AgentSchedule.from_json(body)
    assert str(caught.value) == message and caught.value.loc == loc


def test_the_servers_clock_is_read_live_or_shifted() -> None:
    live = ServerClock.from_json({"now": "2026-12-05T10:00:00Z", "wall_clock": "2026-12-05T10:00:00Z",
                                  "mode": "live", "offset_s": 0.0, "message": "Live."})
    assert (live.mode, live.offset_s, live.now) == ("live", 0.0, datetime(2026, 12, 5, 10, tzinfo=UTC))
    shifted = ServerClock.from_json({"now": "2025-11-07T00:00:00Z", "wall_clock": "2026-12-05T10:00:00Z",
                                     "mode": "shifted", "offset_s": -393 * DAY_S})
    assert shifted.mode == "shifted" and shifted.offset_s == -393 * DAY_S
    assert ServerClock.from_json(shifted.to_json()) == shifted
    # A server that predates the network clock sends only its wall clock: it runs live.
    old = ServerClock.from_json({"wall_clock": "2026-12-05T10:00:00Z", "now": "something else"})
    assert (old.mode, old.offset_s, old.now) == ("live", 0.0, old.wall_clock)


@pytest.mark.parametrize(("body", "message"), [
    ("12:00", "GET /clock answered str, not a JSON object"),
    ({"wall_clock": None}, "GET /clock: wall_clock must be an ISO 8601 UTC time, got None"),
    ({"wall_clock": "2026-12-05T10:00:00Z", "mode": "warped"},
     "GET /clock: mode must be 'live' or 'shifted', got 'warped'"),
    ({"wall_clock": "2026-12-05T10:00:00Z", "now": "2025-11-07T00:00:00Z", "mode": "shifted", "offset_s": "-1"},
     "GET /clock: offset_s must be a number of seconds, got '-1'"),
    ({"wall_clock": "2026-12-05T10:00:00Z", "mode": "shifted", "offset_s": -1.0},
     "GET /clock: now must be an ISO 8601 UTC time, got None"),
])
def test_a_malformed_clock_is_named(body: Any, message: str) -> None:
    with pytest.raises(ApiResponseError) as caught:
        ServerClock.from_json(body)
    assert str(caught.value) == message


def test_the_network_clock_is_the_system_clock_plus_the_networks_offset() -> None:
    system = datetime(2026, 12, 5, 10, tzinfo=UTC)
    clock = NetworkClock(system_now=lambda: system)
    assert clock.now() == system
    clock.adopt(-393 * DAY_S)
    assert clock.now() == datetime(2025, 11, 7, 10, tzinfo=UTC)
    with pytest.raises(InvalidInputError, match=r"offset_s must be a finite number of seconds, got nan"):
        clock.adopt(math.nan)
    assert clock.offset_s == -393 * DAY_S
    real = NetworkClock(offset_s=-DAY_S)
    target = real.now() + timedelta(seconds=0.05)
    began = time.monotonic()
    real.sleep_until(target)
    assert 0.04 <= time.monotonic() - began < 1.0 and real.now() >= target


@pytest.mark.parametrize(("url", "warns"), [
    ("https://groundshare.example.org", False),
    ("http://127.0.0.1:8000", False),
    ("http://127.5.0.1", False),
    ("http://localhost:8000/", False),
    ("http://[::1]:8000", False),
    ("http://groundshare.example.org", True),
    ("http://10.0.0.7:8000", True),
    ("http://[fd00::2]:8000", True),
    ("http://0.0.0.0:8000", True),
    ("http://localhost.example.org", True),
])
def test_plain_http_to_another_machine_is_flagged(url: str, warns: bool) -> None:
    warning = plain_http_warning(url)
    assert (warning is not None) == warns
    if warns:
        assert warning.startswith(f"warning: INSECURE API URL {url}: ") and "clear text" in warning


def test_loopback_hosts() -> None:
    assert [is_loopback_host(h) for h in ("LOCALHOST", "api.localhost", "127.0.0.1", "[::1]")] == [True] * 4
    assert [is_loopback_host(h) for h in ("", "192.0.2.2", "::", "example.org")] == [False] * 4


@pytest.mark.parametrize("url", ["groundshare.example.org", "ftp://groundshare.example.org", "https://", ""])
def test_an_api_url_that_is_not_http_is_refused(url: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        check_api_url(url)
    assert str(caught.value) == ("the API URL must be https://HOST (or http:// to a loopback address), e.g. "
                                 f"https://groundshare.example.org; got {url!r}")
    assert caught.value.loc == ("api",)
    assert check_api_url(" https://groundshare.example.org/ ") == "https://groundshare.example.org"


def test_the_agent_id_is_stable_for_a_machine_and_journal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    journal = tmp_path / "station.sqlite"
    one = default_agent_id(journal, host="pi", machine_id="a" * 32)
    assert one.startswith("pi/journal-") and len(one) == len("pi/journal-") + 16
    assert default_agent_id(journal, host="pi", machine_id="a" * 32) == one
    monkeypatch.chdir(tmp_path)  # the same file named by a relative path is the same journal
    assert default_agent_id(Path("station.sqlite"), host="pi", machine_id="a" * 32) == one
    # Another journal, another machine of the same host name, another host: another agent.
    assert default_agent_id(tmp_path / "other.sqlite", host="pi", machine_id="a" * 32) != one
    assert default_agent_id(journal, host="pi", machine_id="b" * 32) != one
    assert default_agent_id(journal, host="pi2", machine_id="a" * 32) != one
    # This machine's own identity, and a host name too long for the lease still fits.
    assert default_agent_id(journal) == default_agent_id(journal)
    assert len(default_agent_id(journal, host="h" * 300, machine_id="a")) <= MAX_AGENT_ID_LENGTH
    assert MAX_RESPONSE_BYTES == 32 * 1024 * 1024
