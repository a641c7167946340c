"""``groundshare passes --link`` and ``groundshare doppler``."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from groundshare.cli import app
from groundshare.data import data_path
from tests.support.commands import CLI_START, run_passes
from tests.support.shipped import CUBESATS, DEMO_STATIONS

DATA = Path(__file__).parent / "data"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def doppler(runner: CliRunner, *args: str):
    argv = ["doppler", "--elements", str(CUBESATS), "--stations", str(DEMO_STATIONS), "--start", CLI_START,
            "--days", "1", *args]
    return runner.invoke(app, argv)


def test_passes_with_a_link_file_gain_margin_and_volume(runner):
    result = run_passes(runner, "--format", "json", "--link", DATA / "oresat1_uhf_downlink.toml")
    assert result.exit_code == 0, result.stderr
    passes = json.loads(result.stdout)
    assert passes and {"min_margin_db", "max_margin_db", "volume_bytes", "usable_s"} <= set(passes[0])
    for p in passes:
        assert p["min_margin_db"] <= p["max_margin_db"]
        assert 0.0 <= p["usable_s"] <= p["duration_s"] + 1e-3
        assert p["volume_bytes"] == pytest.approx(p["usable_s"] * 96_000 / 8.0, rel=1e-6, abs=1.0)
    table = run_passes(runner, "--link", DATA / "oresat1_uhf_downlink.toml")
    assert table.exit_code == 0 and "Min margin" in table.stdout.splitlines()[0]


def test_passes_with_a_bad_link_file_names_the_key(runner, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text((DATA / "oresat1_uhf_downlink.toml").read_text().replace("power_w = 1.0", "power_w = -1.0"))
    result = run_passes(runner, "--link", bad)
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert "[transmitter] power_w" in result.stderr


def test_doppler_table_of_a_pass(runner):
    result = doppler(runner, "--norad", "44854", "--station", "daejeon", "--frequency-hz", "437e6")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["time_utc", "frequency_hz", "doppler_hz", "doppler_rate_hz_s", "range_rate_m_s",
                             "azimuth_deg", "elevation_deg"]
    assert len(rows) > 300                          # one row a second over a pass of several minutes
    shifts = [float(r["doppler_hz"]) for r in rows]
    assert shifts[0] > 5_000.0 > -5_000.0 > shifts[-1]
    for r in rows:
        assert float(r["frequency_hz"]) == pytest.approx(437e6 + float(r["doppler_hz"]), abs=0.2)
    assert "DUCHIFAT-3 (NORAD 44854) over daejeon" in result.stderr
    uplink = doppler(runner, "--norad", "44854", "--station", "daejeon", "--frequency-hz", "437e6", "--uplink")
    first = next(csv.DictReader(io.StringIO(uplink.stdout)))
    assert float(first["frequency_hz"]) == pytest.approx(437e6 - float(first["doppler_hz"]), abs=0.2)


def test_doppler_takes_the_frequency_from_a_link_file(runner):
    result = doppler(runner, "--norad", "44854", "--station", "daejeon", "--link", str(data_path("demo_link_uhf.toml")),
                     "--step", "30")
    assert result.exit_code == 0, result.stderr
    first = next(csv.DictReader(io.StringIO(result.stdout)))
    assert float(first["frequency_hz"]) == pytest.approx(436.5e6 + float(first["doppler_hz"]), abs=0.2)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--norad", "44854", "--station", "daejeon"], "give the carrier with exactly one of --frequency-hz or --link"),
        (["--norad", "44854", "--station", "tokyo", "--frequency-hz", "437e6"], "--station 'tokyo' is not in"),
        (["--norad", "1", "--station", "daejeon", "--frequency-hz", "437e6"], "no element set for NORAD 1"),
        (["--norad", "44854", "--station", "daejeon", "--frequency-hz", "437e6", "--pass", "40"],
         "NORAD 44854 makes"),
    ],
)
def test_doppler_errors_are_named(runner, args, message):
    result = doppler(runner, *args)
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert message in result.stderr


def test_link_budget_computes_left_out_losses_for_the_site(runner, tmp_path):
    text = (DATA / "oresat1_uhf_downlink.toml").read_text()
    text = text.replace("atmospheric_loss_db = 1.1\n", "").replace("rain_loss_db = 0.0\n", "")
    path = tmp_path / "site.toml"
    path.write_text(text + "\n[site]\nlat_deg = 36.3725\nlon_deg = 127.359\nalt_m = 80.0\n")
    computed = runner.invoke(app, ["link", "budget", "--config", str(path), "--format", "json"])
    given = runner.invoke(app, ["link", "budget", "--config", str(DATA / "oresat1_uhf_downlink.toml"), "-f", "json"])
    assert computed.exit_code == 0 and given.exit_code == 0, computed.stderr
    # At UHF and 10 deg, ITU-R's gases, clouds and rain take well under the sheet's 1.1 dB.
    gain_db = json.loads(computed.stdout)["margin_db"] - json.loads(given.stdout)["margin_db"]
    assert 0.3 < gain_db < 1.1


# ``link budget`` on the shipped link files, as the README shows it, and its geometry options.

SHIPPED_LINKS = sorted(data_path("demo_link_uhf.toml").parent.glob("*link*.toml"))


def budget(runner: CliRunner, *args: str):
    return runner.invoke(app, ["link", "budget", *args])


def test_every_shipped_link_file_is_found() -> None:
    assert [p.name for p in SHIPPED_LINKS] == ["demo_link_uhf.toml", "demo_link_xband_acm.toml"]


@pytest.mark.parametrize("path", SHIPPED_LINKS, ids=lambda p: p.name)
def test_each_shipped_link_file_gives_a_budget_as_the_readme_shows(runner, path: Path) -> None:
    from groundshare.link.budget import slant_range_km

    table = budget(runner, "--config", str(path))
    assert table.exit_code == 0, table.stderr
    assert table.stdout.splitlines()[0].split() == ["Quantity", "Value", "Unit"]
    assert "Margin" in table.stdout and table.stderr == ""
    values = json.loads(budget(runner, "--config", str(path), "--format", "json").stdout)
    # The file's [geometry]: a 500 km orbit at 10 degrees (spherical Earth, as the budget defines it).
    ten_meters_km = 0.010
    assert abs(values["slant_range_km"] - float(slant_range_km(500.0, 10.0))) < ten_meters_km
    assert values["margin_db"] > 0.0
    # Higher up, the satellite is nearer and the margin grows; the losses ITU-R adds shrink.
    high = json.loads(budget(runner, "--config", str(path), "--elevation-deg", "45", "-f", "json").stdout)
    assert abs(high["slant_range_km"] - float(slant_range_km(500.0, 45.0))) < ten_meters_km
    assert high["margin_db"] > values["margin_db"] + 5.0
    near = json.loads(budget(runner, "--config", str(path), "--range-km", "800", "-f", "json").stdout)
    assert near["slant_range_km"] == 800.0
    far = json.loads(budget(runner, "--config", str(path), "--altitude-km", "800", "--elevation-deg", "20",
                            "-f", "json").stdout)
    assert abs(far["slant_range_km"] - float(slant_range_km(800.0, 20.0))) < ten_meters_km


@pytest.mark.parametrize("path", SHIPPED_LINKS, ids=lambda p: p.name)
def test_each_shipped_link_file_still_works_along_passes(runner, path: Path) -> None:
    result = run_passes(runner, "--link", str(path), "--days", "0.05", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert all("min_margin_db" in p for p in json.loads(result.stdout))


def test_a_link_file_without_geometry_says_how_to_place_the_satellite(runner, tmp_path) -> None:
    text = (DATA / "oresat1_uhf_downlink.toml").read_text()
    start, end = text.index("[geometry]"), text.index("[transmitter]")
    path = tmp_path / "no_geometry.toml"
    path.write_text(text[:start] + text[end:])
    refused = budget(runner, "--config", str(path))
    assert refused.exit_code == 1
    assert refused.stderr == (f"error: {path}: the link file has no [geometry], and a budget at one point needs one; "
                              "give the satellite's place, e.g. --altitude-km 500 --elevation-deg 10 "
                              "(or --range-km 1700), or add [geometry] with altitude_km and elevation_deg to the "
                              "file\n")
    # Both suggestions are taken.
    assert budget(runner, "--config", str(path), "--altitude-km", "500", "--elevation-deg", "10").exit_code == 0
    assert budget(runner, "--config", str(path), "--range-km", "1700").exit_code == 0
    # An elevation alone gives no range.
    assert budget(runner, "--config", str(path), "--elevation-deg", "10").exit_code == 1


def test_link_budget_geometry_options_are_checked(runner) -> None:
    uhf = str(data_path("demo_link_uhf.toml"))
    both = budget(runner, "--config", uhf, "--altitude-km", "500", "--range-km", "800")
    words = " ".join(both.output.replace("│", " ").split())  # rich draws the usage error in a box
    assert both.exit_code == 2 and "give --altitude-km (with --elevation-deg) or --range-km, not both" in words
    low = budget(runner, "--config", uhf, "--elevation-deg", "2")
    assert low.exit_code == 1
    assert low.stderr == (f"error: --elevation-deg 2 is below the receiver's min_elevation_deg 5 in {uhf}; the "
                          "station does not track there, e.g. --elevation-deg 10\n")
    assert budget(runner, "--config", uhf, "--elevation-deg", "10").exit_code == 0
