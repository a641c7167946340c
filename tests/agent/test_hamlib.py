"""The Hamlib clients against the real dummy daemons (``rotctld -m 1``, ``rigctld -m 1``)."""

from __future__ import annotations

import time

import pytest

from groundshare.agent.hamlib import HamlibError, Rig, Rotator, RotatorLimits, parse_address
from groundshare.errors import GroundshareError, InvalidInputError
from tests.support.environment import free_port
from tests.support.hamlib import Daemon

pytestmark = pytest.mark.hardware

# Measured on Hamlib 4.5.4: the dummy rotator moves both axes at 6 deg/s.
dummy_rate_deg_s = 6.0
position_resolution_deg = 0.01     # get_pos prints two decimals


def _wait_until_at(rotator: Rotator, az_deg: float, el_deg: float, timeout_s: float) -> tuple[float, float]:
    deadline = time.monotonic() + timeout_s
    while True:
        here = rotator.get_position()
        if abs(here[0] - az_deg) <= position_resolution_deg and abs(here[1] - el_deg) <= position_resolution_deg:
            return here
        if time.monotonic() > deadline:
            pytest.fail(f"dummy rotator still at {here} {timeout_s} s after P {az_deg} {el_deg}")
        time.sleep(0.1)


def test_limits_from_dump_state(rotctld: Daemon, rotctld_flip: Daemon) -> None:
    with Rotator(rotctld.host, rotctld.port) as rotator:
        limits = rotator.limits()
    # Hamlib 4.5's dummy: az -180..450, el 0..90 (rotctld -m 1 -L shows the same).
    assert limits == RotatorLimits(min_az_deg=-180.0, max_az_deg=450.0, min_el_deg=0.0, max_el_deg=90.0)
    assert not limits.flip_capable
    with Rotator(rotctld_flip.host, rotctld_flip.port) as rotator:
        flip = rotator.limits()
    assert flip == RotatorLimits(0.0, 360.0, 0.0, 180.0)
    assert flip.flip_capable
    assert flip.contains(10.0, 170.0) and not flip.contains(370.0, 10.0) and not flip.contains(10.0, -1.0)


@pytest.mark.slow
def test_set_and_get_position_moves_the_dummy(rotctld: Daemon) -> None:
    with Rotator(rotctld.host, rotctld.port) as rotator:
        assert rotator.get_position() == (0.0, 0.0)
        assert rotator.set_position(12.0, 6.0) == 0
        time.sleep(0.5)
        moving = rotator.get_position()
        # It really moves, toward the target, and has not arrived yet (12 deg takes 2 s).
        assert 0.0 < moving[0] < 12.0 and 0.0 < moving[1] <= 6.0
        assert _wait_until_at(rotator, 12.0, 6.0, timeout_s=12.0 / dummy_rate_deg_s + 3.0) == (12.0, 6.0)
        assert rotator.set_position(6.0, 3.0) == 0
        time.sleep(0.3)
        assert rotator.stop() == 0
        stopped = rotator.get_position()
        time.sleep(0.4)
        assert rotator.get_position() == stopped
        assert 6.0 < stopped[0] < 12.0
        assert rotator.park() == 0
        assert rotator.refused == 0 and rotator.reconnects == 0
        assert rotator.commands_sent >= 9     # the waiting loop's reads vary


def test_refused_position_returns_the_code(rotctld: Daemon) -> None:
    with Rotator(rotctld.host, rotctld.port) as rotator:
        # Outside az -180..450 and el 0..90: Hamlib answers RPRT -1 (RIG_EINVAL), nothing raises.
        assert rotator.set_position(500.0, 10.0) == -1
        assert rotator.set_position(10.0, 100.0) == -1
        assert rotator.refused == 2
        assert rotator.set_position(400.0, 10.0) == 0
        assert rotator.refused == 2
        assert rotator.commands_sent == 3


def test_rig_frequencies(rigctld: Daemon) -> None:
    with Rig(rigctld.host, rigctld.port) as rig:
        assert rig.set_frequency(145_800_000) == 0
        assert rig.get_frequency() == 145_800_000.0
        assert rig.set_frequency(437_123_456.4) == 0     # sent rounded to 1 Hz
        assert rig.get_frequency() == 437_123_456.0
        assert rig.set_split(True) == 0
        assert rig.set_uplink_frequency(145_912_345) == 0
        assert rig.get_uplink_frequency() == 145_912_345.0
        assert rig.get_frequency() == 437_123_456.0       # the receive VFO is untouched
        assert rig.refused == 0 and rig.commands_sent == 8


def test_restarted_daemon_is_transparent(rotctld: Daemon) -> None:
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        time.sleep(s)

    with Rotator(rotctld.host, rotctld.port, reconnect_attempts=3, reconnect_delay_s=0.2, sleep=sleep) as rotator:
        assert rotator.get_position() == (0.0, 0.0)
        rotctld.stop()
        rotctld.start()      # same port, a new process
        assert rotator.get_position() == (0.0, 0.0)
        assert rotator.reconnects == 1
        assert rotator.set_position(1.0, 1.0) == 0
        assert rotator.reconnects == 1
    assert slept == [0.2]


def test_restarted_rig_is_transparent(rigctld: Daemon) -> None:
    with Rig(rigctld.host, rigctld.port, reconnect_delay_s=0.1) as rig:
        assert rig.set_frequency(145_800_000) == 0
        rigctld.stop()
        rigctld.start()
        assert rig.set_frequency(145_800_100) == 0
        assert rig.get_frequency() == 145_800_100.0
        assert rig.reconnects == 1


def test_daemon_down_for_good(rotctld: Daemon) -> None:
    slept: list[float] = []
    rotator = Rotator(rotctld.host, rotctld.port, reconnect_attempts=2, reconnect_delay_s=0.05, sleep=slept.append)
    rotator.connect()
    rotctld.stop()
    with pytest.raises(HamlibError) as info:
        rotator.get_position()
    message = str(info.value)
    assert message.startswith(f"cannot talk to rotctld at 127.0.0.1:{rotctld.port} after 3 attempt(s): ")
    assert "Check that rotctld is running" in message
    assert info.value.address == f"127.0.0.1:{rotctld.port}"
    assert slept == [0.05, 0.05]
    assert rotator.reconnects == 0
    assert isinstance(info.value, GroundshareError) and not isinstance(info.value, InvalidInputError)


def test_nothing_listening() -> None:
    port = free_port()
    with pytest.raises(HamlibError, match=rf"^cannot talk to rigctld at 127\.0\.0\.1:{port} after 1 attempt"):
        Rig("127.0.0.1", port).connect()
    with pytest.raises(HamlibError, match=rf"at 127\.0\.0\.1:{port} after 2 attempt"):
        Rig("127.0.0.1", port, reconnect_attempts=1, reconnect_delay_s=0.0).get_frequency()


def test_not_a_hamlib_daemon() -> None:
    import socket
    import threading

    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def answer() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(100)
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\nRPRT nope\n")
            time.sleep(0.5)

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        with pytest.raises(HamlibError, match=rf"^127\.0\.0\.1:{port} answered 'p' with something that is not"):
            Rotator("127.0.0.1", port).get_position()
    finally:
        thread.join(timeout=2)
        server.close()


@pytest.mark.parametrize(("text", "expected"), [
    ("localhost", ("localhost", 4533)),
    ("localhost:4600", ("localhost", 4600)),
    (" 10.0.0.7:4533 ", ("10.0.0.7", 4533)),
    ("[::1]:4600", ("::1", 4600)),
    ("[::1]", ("::1", 4533)),
    ("::1", ("::1", 4533)),
])
def test_parse_address(text: str, expected: tuple[str, int]) -> None:
    assert parse_address(text, 4533) == expected


def test_parse_address_errors() -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_address("localhost:rot", 4533, option="--rotctld")
    assert str(info.value) == ("--rotctld is 'localhost:rot': the port 'rot' is not a number from 1 to 65535; "
                               "write HOST:PORT such as localhost:4533, or leave the port out for 4533")
    assert info.value.loc == ("option", "--rotctld")
    for bad in ("", ":4533", "host:", "host:70000", "[::1", "[::1]x"):
        with pytest.raises(InvalidInputError, match=r"^--rigctld is "):
            parse_address(bad, 4532, option="--rigctld")
