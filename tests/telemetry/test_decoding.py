"""Frames through satnogs-decoders: real frames give the values their bytes hold, bad ones an error, never a crash.

The frames and where they come from are in ``data/README.md``; each expected value below is
read off the frame's bytes in a comment beside it.
"""

from __future__ import annotations

import enum
import json
import math
from importlib.metadata import version
from pathlib import Path

import pytest

pytest.importorskip("satnogsdecoders")

from groundshare.errors import InvalidInputError
from groundshare.telemetry import (
    MAX_FIELDS,
    MAX_STRING_CHARS,
    DecodedFrame,
    check_decoder_name,
    decode,
    decoder_names,
    decoders_installed,
    flatten,
)

FRAMES = json.loads((Path(__file__).parent / "data" / "frames.json").read_text())


def _frame(name: str) -> tuple[str, bytes]:
    entry = FRAMES[name]
    return entry["decoder"], bytes.fromhex(entry["hex"])


def _decoded(name: str) -> DecodedFrame:
    result = decode(*_frame(name))
    assert result.error is None, result.error
    assert result.ok
    return result


AX25 = "ax25_frame.ax25_header."


def test_gt1_beacon_gives_the_values_of_its_bytes() -> None:
    result = _decoded("gt1_beacon_1")
    fields = result.fields
    assert result.decoder == "gt1"
    assert result.version == version("satnogs-decoders")
    # Address bytes 96 9c 68 b4 9c a6 shifted right one bit: K N 4 Z N S; 96 96 68 aa ac 8e: K K 4 U V G.
    assert fields[AX25 + "dest_callsign_raw.callsign_ror.callsign"] == "KN4ZNS"
    assert fields[AX25 + "src_callsign_raw.callsign_ror.callsign"] == "KK4UVG"
    # SSID bytes 0x1e and 0x05: (b & 0x0f) >> 1 = 7 and 2; then control 0x03 (UI) and PID 0xf0 (no layer 3).
    assert fields[AX25 + "dest_ssid_raw.ssid"] == 7
    assert fields[AX25 + "src_ssid_raw.ssid"] == 2
    assert fields[AX25 + "ctl"] == 3
    assert fields["ax25_frame.payload.pid"] == 240
    payload = "ax25_frame.payload.data_payload."
    # Byte 16 is the packet type (0x01); bytes 46-47 (d1 01, little-endian) the ATmega's ADC value, 0x01d1 = 465.
    assert fields[payload + "packet_type"] == 1
    assert fields[payload + "data_payload.raw_value_atmega"] == 465
    # Bytes 56-59, 4f 3a 09 00: 0x00093a4f = 604751 s of a week's timer (604800 s, bytes 64-67) left.
    assert fields[payload + "data_payload.time_remaining_0"] == 604751
    assert fields[payload + "data_payload.timer_length_0"] == 604800


def test_the_generic_ax25_decoder_reads_any_ax25_frame() -> None:
    _, payload = _frame("gt1_beacon_1")
    fields = decode("ax25frames", payload).fields
    assert fields[AX25 + "src_callsign_raw.callsign_ror.callsign"] == "KK4UVG"
    # The information field, everything after the 16-byte header, comes back as hex.
    assert fields["ax25_frame.payload.ax25_info"] == payload[16:].hex()


def test_cpsat_in_orbit_beacon() -> None:
    fields = _decoded("cpsat_bcn_mode_1").fields
    # This decoder keeps the address bytes raw: 86 a0 a6 82 a8 62 is "CPSAT1" shifted left one bit.
    assert fields["destination"] == bytes(ord(c) << 1 for c in "CPSAT1").hex()
    # After the 16-byte header, a CCSDS primary header: stream 0x0903, sequence 0xc515, length 0x00a1,
    # then seconds 0x57f78351 and subseconds 0x8355 (big-endian), an alignment byte and the beacon mode 0x01.
    assert fields["beacon.ccsds_streamid"] == 0x0903
    assert fields["beacon.ccsds_sequence"] == 0xC515
    assert fields["beacon.ccsds_length"] == 0x00A1
    assert fields["beacon.ccsds_seconds"] == 1475838801
    assert fields["beacon.ccsds_subsecs"] == 33621
    assert fields["beacon.beacon_mode"] == 1
    # The beacon sequence table: its length 10, then the entries 01 02 ... 0a (same values as satnogs-decoders' test).
    assert fields["beacon.mode_01.bcn_seq_len"] == 10
    assert [fields[f"beacon.mode_01.bcn_seq.{i}"] for i in range(10)] == list(range(1, 11))
    # Modes this beacon is not (conditional values that are None) are left out, not stored as nulls.
    assert not any(key.startswith("beacon.mode_02") for key in fields)
    assert None not in fields.values()


def test_cape1_ascii_payload() -> None:
    fields = _decoded("cape1_type_2").fields
    # "K5USL" "2" then two hex digits per temperature: "01" "FF" "1F" ... "22" "09" "00" (signed bytes).
    assert fields["callsign"] == "K5USL"
    assert fields["pkt_type"] == "2"
    assert fields["payload.temp_battery_1.as_int"] == 1
    assert fields["payload.temp_px_face.as_str"] == "FF"
    assert fields["payload.temp_px_face.as_int"] == -1
    assert fields["payload.temp_nz_face.as_int"] == 0x22
    assert fields["payload.temp_rf_amp.as_int"] == 9


PAINANI = "ax25_frame.payload.info.pld_id."


def test_painani_short_beacon() -> None:
    fields = _decoded("painani_short").fields
    assert fields[AX25 + "src_callsign_raw.callsign_ror.callsign"] == "SPACE "
    assert fields["framelength"] == 30  # the frame's length picks the short beacon
    assert fields[PAINANI + "short_internal_temperature"] == 25  # 0x19
    assert fields[PAINANI + "short_pa_temperature"] == -3  # 0xfd, signed
    assert fields[PAINANI + "short_voltage_3v3"] == 825  # 0x0339
    # Computed values (Kaitai instances) are fields too: 825 x 4 mV and 1250 x 4 mV.
    assert fields[PAINANI + "v33"] == pytest.approx(3.3)
    assert fields[PAINANI + "v5"] == pytest.approx(5.0)


def test_painani_long_beacon() -> None:
    fields = _decoded("painani_long").fields
    assert fields["framelength"] == 72
    assert fields[PAINANI + "id_magic"] == "3cc3"  # bytes as hex
    assert fields[PAINANI + "temp_panel_2"] == -40  # 0xffd8
    assert fields[PAINANI + "reboots"] == 17  # 0x0011
    # Lists are indexed, and the computed RTC joins its six bytes: 0x000065432100.
    assert [fields[f"{PAINANI}rtc_raw.{i}"] for i in range(6)] == [0, 0, 0x65, 0x43, 0x21, 0]
    assert fields[PAINANI + "rtc"] == 0x65432100
    assert fields[PAINANI + "current_bank_1"] == -120  # 0xff88
    # The battery voltage (0x1f0e), which the decoder's hand-written field list misnames "byttery_voltage".
    assert fields[PAINANI + "battery_voltage"] == 7950
    assert fields[PAINANI + "unparsed"] == "beef"


@pytest.mark.parametrize("name", sorted(FRAMES))
def test_fields_are_flat_json_safe_scalars(name: str) -> None:
    fields = _decoded(name).fields
    assert json.loads(json.dumps(fields, allow_nan=False)) == fields
    assert all(isinstance(value, str | int | float | bool) for value in fields.values())
    assert 0 < len(fields) <= MAX_FIELDS


@pytest.mark.parametrize("payload", [b"", b"\x00", b"\xff" * 7, bytes(range(256)), b"not a frame at all"],
                         ids=["empty", "one-byte", "ff", "all-bytes", "text"])
def test_a_garbage_frame_gives_an_error_and_no_fields(payload: bytes) -> None:
    for name in ("gt1", "painani", "cpsat", "cape1"):
        result = decode(name, payload)
        assert result.error, (name, payload)
        assert result.fields == {}
        assert result.decoder == name
        assert not result.ok


def test_kaitai_errors_are_named_in_the_message() -> None:
    _, payload = _frame("gt1_beacon_1")
    assert decode("gt1", payload[:20]).error.startswith("EOFError: ")
    _, cape = _frame("cape1_type_2")
    assert "Validation" in decode("cape1", b"K4USL" + cape[5:]).error  # another callsign: the decoder refuses it


def test_no_decoder_crashes_on_truncated_or_foreign_frames() -> None:
    """Every decoder, every prefix of a real frame and some noise: a result every time, never an exception."""
    _, gt1 = _frame("gt1_beacon_1")
    payloads = [gt1[:cut] for cut in range(0, len(gt1), 9)] + [bytes(range(256)) * 2, b"\x00" * 300]
    for name in decoder_names():
        for payload in payloads:
            result = decode(name, payload)
            assert isinstance(result, DecodedFrame)
            assert (result.error is None) or result.fields == {}
            assert len(result.fields) <= MAX_FIELDS


def test_decoder_names_lists_the_package_decoders() -> None:
    names = decoder_names()
    assert decoders_installed()
    assert names == tuple(sorted(names))
    assert {"painani", "snuglite", "snuglite3", "ax25frames", "gt1", "cpsat"} <= set(names)
    assert len(names) > 100


def test_check_decoder_name_returns_the_spelling_of_the_package() -> None:
    assert check_decoder_name("painani") == "painani"
    assert check_decoder_name("  PAINANI ") == "painani"
    assert check_decoder_name("SnugLite3") == "snuglite3"


@pytest.mark.parametrize(("typo", "suggested"), [("painanni", "painani"), ("snuglit", "snuglite"),
                                                 ("ax25frame", "ax25frames")])
def test_a_wrong_name_suggests_close_names(typo: str, suggested: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        check_decoder_name(typo)
    assert f"'{suggested}'" in str(caught.value)
    assert caught.value.loc == ("decoder",)
    # decode() never raises: the same message comes back as the frame's error.
    result = decode(typo, b"\x00")
    assert result.error == str(caught.value)
    assert result.fields == {}


@pytest.mark.parametrize("name", ["", "   ", "zzzzqqqq"])
def test_an_empty_or_unlike_name_is_refused_without_suggestions(name: str) -> None:
    with pytest.raises(InvalidInputError, match="decoder") as caught:
        check_decoder_name(name)
    assert "did you mean" not in str(caught.value)


# flatten()'s bounds, on small stand-ins for parsed objects (a Kaitai struct is any object with _io and _root).
class _Struct:
    def __init__(self, **values: object) -> None:
        self._io = None
        self._root = self
        self.__dict__.update(values)


class _Colour(enum.Enum):
    RED = 1


class _Looping(_Struct):
    @property
    def me(self) -> _Looping:  # a computed value pointing back at its own struct
        return self

    @property
    def broken(self) -> int:
        raise ZeroDivisionError("this frame has no such value")


def test_flatten_bounds_and_json_safety() -> None:
    fields = flatten(_Struct(many=list(range(5 * MAX_FIELDS))))
    assert len(fields) == MAX_FIELDS
    assert list(fields)[:2] == ["many.0", "many.1"]

    fields = flatten(_Struct(text="x" * 5000, blob=b"\xab" * 5000, nan=math.nan, inf=-math.inf, colour=_Colour.RED,
                             flag=True))
    assert len(fields["text"]) == MAX_STRING_CHARS
    assert fields["blob"] == "ab" * (MAX_STRING_CHARS // 2)
    assert fields["nan"] is None and fields["inf"] is None
    assert fields["colour"] == "RED"
    assert fields["flag"] is True

    assert flatten(_Looping(value=3)) == {"value": 3}  # the loop is not followed, the failing value left out

    deep: object = 7
    for _ in range(200):
        deep = _Struct(inner=deep)
    assert flatten(deep) == {}  # nesting past MAX_DEPTH is not followed (and does not recurse in Python)
