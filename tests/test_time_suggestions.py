"""Every correction an error message suggests for a time is itself accepted.

A refused time says what to give instead ("e.g. 2025-11-07T00:00Z"); these tests feed a
range of wrong times (a bare date, a date with 'Z' or an offset, a time without a zone,
ISO 8601 basic and week forms, nonsense) to the parser, the command line's time options
and the API's time parameters, collect every suggestion the messages make (``e.g. ...``
and the quoted words 'now' and 'epoch') and give each one back to the same place: it must
be taken.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from groundshare.api import Settings, create_app
from groundshare.cli import app as cli_app
from groundshare.data import data_path
from groundshare.errors import InvalidInputError
from groundshare.store import ApiToken, Organisation, OrgKind, Role, session_scope
from groundshare.store.migrate import upgrade
from groundshare.timeutil import parse_utc

WRONG_TIMES = [
    "2025-11-07",               # a date: midnight of which zone?
    "2025-11-07Z",              # what the old message advised, then refused
    "2025-11-07z",
    "2025-11-07+01:00",         # Python alone would read 01:00 without a zone
    "2025-11-07-0130",
    "2025-11-07T00:00",
    "2025-11-07T09:00:30.5",
    "2025-11-07 00:00",
    "2025-11-07T00",
    "20251107",
    "20251107T0000",
    "2025-W45-5",
    "2025-11-07T25:00Z",
    "2025-11-07+25:00",
    "7 Nov 2025",
    "",
]
#: Where a suggestion ends inside a message.
_END = re.compile(r"\)|;| \(| or |\n|$")


def suggestions(message: str) -> list[str]:
    """Return every value ``message`` suggests: the text after each 'e.g. ', and 'now' and 'epoch' offered."""
    found = []
    for match in re.finditer(r"e\.g\. ", message):
        rest = message[match.end():]
        found.append(rest[:_END.search(rest).start()].strip())
    found += re.findall(r"(?:or|takes) '(now|epoch)'", message)
    return found


def test_suggestions_are_read_from_messages() -> None:
    assert suggestions("x has no timezone: add 'Z' (e.g. 2025-11-07 00:00Z) or an explicit offset "
                       "(e.g. 2025-11-07 00:00+09:00)") == ["2025-11-07 00:00Z", "2025-11-07 00:00+09:00"]
    assert suggestions("expected e.g. 2025-11-07T00:00Z or 'now'\n--start also takes 'now', or 'epoch' for") == [
        "2025-11-07T00:00Z", "now", "now", "epoch"]


@pytest.mark.parametrize("text", WRONG_TIMES)
def test_every_suggestion_of_the_parser_parses(text: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        parse_utc(text, "--start")
    message = str(refused.value)
    offered = suggestions(message)
    assert offered, message
    for suggestion in offered:
        assert parse_utc(suggestion, "--start").tzinfo is UTC, (text, message)
    assert "ZZ" not in message


@pytest.mark.parametrize(("text", "expected"), [
    ("2025-11-07", "--start '2025-11-07' is a date without a time of day; give the time and its zone, "
                   "e.g. 2025-11-07T00:00Z (midnight UTC)"),
    ("2025-11-07Z", "--start '2025-11-07Z' is a date without a time of day; give the time and its zone, "
                    "e.g. 2025-11-07T00:00Z (midnight UTC)"),
    ("2025-11-07+01:00", "--start '2025-11-07+01:00' is a date without a time of day; give the time and its zone, "
                         "e.g. 2025-11-07T00:00+01:00 (midnight +01:00)"),
    ("2025-11-07T00:00", "--start '2025-11-07T00:00' has no timezone; groundshare works in UTC: add 'Z' "
                         "(e.g. 2025-11-07T00:00Z) or an explicit offset"),
    ("soon", "--start 'soon' is not an ISO 8601 time; expected e.g. 2025-11-07T00:00Z or 'now'"),
])
def test_messages_verbatim(text: str, expected: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        parse_utc(text, "--start")
    assert str(refused.value) == expected


def test_a_suggested_midnight_is_the_day_meant() -> None:
    assert parse_utc("2025-11-07T00:00+01:00") == datetime(2025, 11, 6, 23, tzinfo=UTC)
    assert parse_utc("2025-11-07T00:00Z") == datetime(2025, 11, 7, tzinfo=UTC)


# The command line: each time option, refused and then given its suggestions.

CUBESATS = str(data_path("celestrak_cubesat_2025-11-06.tle"))
STATIONS = str(data_path("demo_stations.toml"))
GPS = str(data_path("celestrak_gps-ops_2026-03-09.tle"))
CLI_TIMES = ["2025-11-07", "2025-11-07Z", "2025-11-07+01:00", "2025-11-07T00:00", "20251107T0000", "2025-W45-5",
             "tomorrow"]


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('suggest') / 'demo.db'}"
    runner = CliRunner()
    assert runner.invoke(cli_app, ["db", "upgrade", "--database-url", url]).exit_code == 0
    loaded = runner.invoke(cli_app, ["demo", "load", "--database-url", url])
    assert loaded.exit_code == 0, loaded.stderr
    return url


COMMANDS = {
    "passes --start": lambda t, url: ["passes", "-e", CUBESATS, "-s", STATIONS, "--days", "0.01", "--workers", "1",
                                      "--start", t],
    "doppler --start": lambda t, url: ["doppler", "-e", CUBESATS, "-s", STATIONS, "--norad", "44854", "--station",
                                       "daejeon", "--days", "1", "--frequency-hz", "437e6", "--step", "60",
                                       "--start", t],
    "gnss dop --at": lambda t, url: ["gnss", "dop", "-e", GPS, "--lat-deg", "36.37", "--lon-deg", "127.36",
                                     "--at", t],
    "gnss plan --start": lambda t, url: ["gnss", "plan", "-e", GPS, "--lat-deg", "36.37", "--lon-deg", "127.36",
                                         "--hours", "0.1", "--step-s", "600", "--start", t],
    "schedule plan --start": lambda t, url: ["schedule", "plan", "--dry-run", "--days", "0.01", "--time-limit", "1",
                                             "--workers", "1", "--database-url", url, "--start", t],
}


@pytest.mark.parametrize("command", COMMANDS)
def test_every_suggestion_of_a_command_line_time_is_taken(command: str, demo_url: str, tmp_path,
                                                          monkeypatch) -> None:
    monkeypatch.setenv("GROUNDSHARE_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    args = COMMANDS[command]
    offered: dict[str, str] = {}
    for text in CLI_TIMES:
        refused = runner.invoke(cli_app, args(text, demo_url))
        assert refused.exit_code == 1, (text, refused.stderr)
        assert "Traceback" not in refused.stderr
        for suggestion in suggestions(refused.stderr):
            offered.setdefault(suggestion, text)
    assert "2025-11-07T00:00Z" in offered and "2025-11-07T00:00+01:00" in offered
    for suggestion, text in offered.items():
        if suggestion == "epoch" and not command.startswith(("passes", "doppler")):
            raise AssertionError(f"{command} suggests 'epoch', which only passes and doppler take")
        taken = runner.invoke(cli_app, args(suggestion, demo_url))
        # Taken: the command ran; 'now' may find no pass of the 2025 elements, but not refuse the time.
        option = command.split()[-1]
        assert f"{option} '{suggestion}'" not in taken.stderr, (command, text, suggestion, taken.stderr)
        assert taken.exit_code == 0 or suggestion == "now", (command, text, suggestion, taken.stderr)
        assert "Traceback" not in taken.stderr


# The API: time parameters in the query and in bodies.


@pytest.fixture(scope="module")
def api(tmp_path_factory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('suggest-api') / 'api.db'}"
    upgrade(url)
    application = create_app(Settings(database_url=url))
    with session_scope(application.state.session_factory) as session:
        org = Organisation(name="Korea AeroSpace Administration", kind=OrgKind.AGENCY)
        session.add(org)
        session.flush()
        row, token = ApiToken.issue(org.id, Role.OPERATOR)
        session.add(row)
    yield TestClient(application), {"Authorization": f"Bearer {token}"}
    application.state.engine.dispose()


API_PLACES = {
    "GET /contacts ?start": ("GET", "/contacts", "start", None),
    "GET /contacts ?end": ("GET", "/contacts", "end", None),
    "GET /ledger ?start": ("GET", "/ledger", "start", None),
    "GET /exports/contacts.json ?start": ("GET", "/exports/contacts.json", "start", None),
    "GET /satellites/tracks ?at": ("GET", "/satellites/tracks", "at", None),
    "POST /requests window_start": ("POST", "/requests", "window_start",
                                    {"satellite_id": 1, "window_end": "2025-11-14T00:00Z"}),
    "POST /contacts start": ("POST", "/contacts", "start",
                             {"antenna_id": 1, "satellite_id": 1, "end": "2025-11-07T00:10Z"}),
}
API_TIMES = [*CLI_TIMES, "now", "2025-11-07T00:00:00.5", "2025-11-07T25:00Z"]


def _call(client: TestClient, auth: dict[str, str], place: str, value: str):
    method, path, field, body = API_PLACES[place]
    if method == "GET":
        return client.get(path, params={field: value}, headers=auth)
    return client.post(path, json={**body, field: value}, headers=auth)


def _complaints(response, field: str) -> list[str]:
    """Return the messages of a 422 about ``field``."""
    if response.status_code != 422:
        return []
    return [d["msg"] for d in response.json()["detail"] if field in d["loc"]]


@pytest.mark.parametrize("place", API_PLACES)
def test_every_suggestion_of_an_api_time_is_taken(place: str, api) -> None:
    client, auth = api
    field = API_PLACES[place][2]
    offered: dict[str, str] = {}
    for text in API_TIMES:
        response = _call(client, auth, place, text)
        complaints = _complaints(response, field)
        assert complaints, (text, response.status_code, response.text)
        for message in complaints:
            # The API has no 'now' of its own: the network's clock may run shifted from the wall clock.
            assert "'now'" not in message or text == "now", message
            for suggestion in suggestions(message):
                offered.setdefault(suggestion, text)
    assert "2025-11-07T00:00Z" in offered and "2025-11-07T00:00+01:00" in offered
    for suggestion, text in offered.items():
        response = _call(client, auth, place, suggestion)
        assert _complaints(response, field) == [], (place, text, suggestion, response.text)
        assert response.status_code < 500
