"""The ``groundshare`` command line, run in-process with Typer's CliRunner.

Typer's runner keeps stdout and stderr apart (``result.stdout``, ``result.stderr``), so
the tests check that tables and JSON go to one and diagnostics to the other.  Windows
are short (a quarter day from 2025-11-07T00:00Z, just after the shipped cubesat
elements' newest epoch) and searches run in-process (``--workers 1``) to stay fast.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from groundshare import __version__
from groundshare.cli import app
from groundshare.cli.passes import _progress_bar
from tests.support.commands import CLI_START, run_passes
from tests.support.shipped import CUBESATS

TWO_STATIONS = """\
[[station]]
name = "daejeon"
lat_deg = 36.3725
lon_deg = 127.359
alt_m = 80.0
min_elevation_deg = 5.0

[[station]]
name = "mexico-city"
lat_deg = 19.43
lon_deg = -99.13
alt_m = 2240.0
horizon_mask = [[0.0, 5.0], [115.0, 12.0], [200.0, 5.0]]
"""
JSON_KEYS = {"norad_id", "name", "station", "aos", "tca", "los", "max_elevation_deg", "aos_azimuth_deg",
             "los_azimuth_deg", "duration_s", "clipped"}
ISO_MS_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def stations(tmp_path: Path) -> Path:
    path = tmp_path / "stations.toml"
    path.write_text(TWO_STATIONS, encoding="utf-8")
    return path


def plain(text: str) -> str:
    """Return ``text`` without the box of Typer's usage-error panel, on one line."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


def json_passes(runner: CliRunner, *args: str, **kwargs) -> list[dict]:
    result = run_passes(runner, "--format", "json", *args, **kwargs)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_json_output_parses_with_the_documented_keys_and_utc_times(runner, stations):
    passes = json_passes(runner, stations=stations)

    assert passes, "a quarter day over two stations holds passes of 93 cubesats"
    assert {p["station"] for p in passes} == {"daejeon", "mexico-city"}
    for p in passes:
        assert set(p) == JSON_KEYS
        for key in ("aos", "tca", "los"):
            assert ISO_MS_Z.match(p[key]), p[key]
        assert p["aos"] <= p["tca"] <= p["los"]
        assert CLI_START.replace("Z", ":00.000Z") <= p["aos"]
    assert [p["aos"] for p in passes] == sorted(p["aos"] for p in passes)


def test_csv_output_has_a_header_row(runner, stations):
    result = run_passes(runner, "--format", "csv", stations=stations)

    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert result.stdout.splitlines()[0] == (
        "norad_id,name,station,aos,tca,los,max_elevation_deg,aos_azimuth_deg,los_azimuth_deg,duration_s,clipped")
    assert rows and {r["station"] for r in rows} == {"daejeon", "mexico-city"}


def test_table_shows_stations_and_times_and_a_summary_on_stderr(runner):
    result = run_passes(runner, "--format", "table")

    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["Satellite", "NORAD", "Station", "AOS", "(UTC)", "TCA", "(UTC)", "LOS", "(UTC)",
                                "Max", "el", "AOS", "az", "LOS", "az", "Duration"]
    for name in ("daejeon", "jeju", "mexico-city", "chetumal", "cordoba", "cuiaba"):
        assert f" {name} " in result.stdout
    assert re.search(r"2025-11-07 \d\d:\d\d:\d\d", lines[1])
    # The summary and nothing else goes to stderr; the table goes only to stdout.
    summary = result.stderr.strip()
    assert re.fullmatch(r"\d+ passes of \d+ satellites over 6 stations, 2025-11-07 00:00 to 2025-11-07 06:00 UTC "
                        r"\(0\.25 days, searched in \d+\.\d s\).*", summary)
    assert len(lines) - 1 == int(summary.split()[0])
    assert "Satellite" not in result.stderr


def test_table_is_the_default_format(runner, stations):
    assert run_passes(runner, stations=stations).stdout.startswith("Satellite ")


def test_higher_min_elevation_gives_fewer_passes(runner, stations):
    own = json_passes(runner, stations=stations)
    low = json_passes(runner, "--min-elevation", "0", stations=stations)
    high = json_passes(runner, "--min-elevation", "30", stations=stations)

    assert len(high) < len(own) <= len(low)
    assert all(p["max_elevation_deg"] > 30.0 for p in high if not p["clipped"])


def test_start_epoch_is_the_newest_epoch_floored_to_the_hour(runner, stations):
    # The newest epoch in the cubesat file is 2025-11-06 08:12:51 UTC.
    result = run_passes(runner, start="epoch", stations=stations)

    assert result.exit_code == 0, result.stderr
    assert "2025-11-06 08:00 to 2025-11-06 14:00 UTC" in result.stderr


def test_bad_element_record_still_prints_the_good_passes_and_exits_1(runner, stations, tmp_path):
    good = CUBESATS.read_text().splitlines()[:6]            # CUTE-1 and CUBESAT XI-IV
    bad = ["CUBESAT XI-V", "1 28895U 05043F   25309.86551750  .00002638  00000+0  43128-3 0  9993",
           "2 28895  98.2704  96.3311 0014224 189.7658 170.3274 14.71663386 68894"]  # checksum is 9
    elements = tmp_path / "mixed.tle"
    elements.write_text("\n".join(good + bad) + "\n")

    result = run_passes(runner, "--format", "json", elements=elements, stations=stations, days="1")

    assert result.exit_code == 1
    passes = json.loads(result.stdout)
    assert passes and {p["norad_id"] for p in passes} == {27844, 27848}
    assert "error: mixed.tle, line 8: TLE line 1 checksum is 9 but the line ends in 3" in result.stderr
    assert f"error: 1 of 3 element records in {elements} could not be loaded" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_missing_station_file(runner, tmp_path):
    path = tmp_path / "nope.toml"

    result = run_passes(runner, stations=path)

    assert result.exit_code == 1
    assert result.stderr == f"error: station file {str(path)!r} does not exist\n"
    assert result.stdout == ""


def test_malformed_station_toml(runner, tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('[[station]]\nname = daejeon\n')

    result = run_passes(runner, stations=path)

    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {path} is not valid TOML: Invalid value (at line 2, column 8)")
    assert "Traceback" not in result.stderr


def test_unknown_station_key(runner, tmp_path):
    path = tmp_path / "typo.toml"
    path.write_text(TWO_STATIONS.replace("alt_m = 80.0", "alt_m = 80.0\nmin_elevation = 5.0"))

    result = run_passes(runner, stations=path)

    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"error: {path}, station 1 ('daejeon'): unknown key 'min_elevation' (did you mean 'min_elevation_deg'?)")
    assert "Traceback" not in result.stderr


def test_verbose_adds_the_traceback(runner, tmp_path):
    result = runner.invoke(app, ["--verbose", "passes", "-e", str(CUBESATS), "-s", str(tmp_path / "nope.toml"),
                                 "--start", CLI_START, "--days", "1"])

    assert result.exit_code == 1
    assert result.stderr.startswith("Traceback (most recent call last):")
    assert result.stderr.endswith(f"error: station file {str(tmp_path / 'nope.toml')!r} does not exist\n")


@pytest.mark.parametrize(("start", "message"), [
    ("2025-11-07T00:00", "error: --start '2025-11-07T00:00' has no timezone; groundshare works in UTC"),
    ("tomorrow", "error: --start 'tomorrow' is not an ISO 8601 time"),
])
def test_naive_or_bad_start_is_an_error(runner, stations, start, message):
    result = run_passes(runner, start=start, stations=stations)

    assert result.exit_code == 1
    assert result.stderr.startswith(message)
    assert "'epoch'" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("days", ["0", "-1", "401", "nan"])
def test_days_out_of_range_is_a_usage_error(runner, stations, days):
    result = run_passes(runner, stations=stations, days=days)

    assert result.exit_code == 2
    assert f"Invalid value for '--days' / '-d': {days} is not a window length; expected days in (0, 400]" in (
        plain(result.stderr))
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_unknown_format_is_a_usage_error(runner, stations):
    result = run_passes(runner, "--format", "xml", stations=stations)

    assert result.exit_code == 2
    assert "'xml' is not one of 'table', 'json', 'csv'" in plain(result.stderr)
    assert "Traceback" not in result.stderr


def test_version_and_help(runner):
    assert runner.invoke(app, ["--version"]).stdout == f"groundshare {__version__}\n"
    result = runner.invoke(app, [])
    assert "passes" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_for_long_searches_on_a_terminal(monkeypatch):
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with _progress_bar(93, 0.25) as progress:
        assert progress is None
    with _progress_bar(500, 0.25) as progress:
        progress(250, 500)
        progress(500, 500)
    assert "searching passes" in terminal.getvalue()

    monkeypatch.setattr(sys, "stderr", io.StringIO())  # not a terminal: logs stay clean
    with _progress_bar(500, 10.0) as progress:
        assert progress is None


def test_the_command_line_imports_without_a_database_or_web_server() -> None:
    """``groundshare passes`` never pays for the store or the API: their commands import them when run."""
    code = ("import sys\nimport groundshare.cli\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'sqlalchemy', 'fastapi', 'starlette', "
            "'ortools', 'httpx', 'uvicorn', 'alembic', 'psycopg'}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "[]", done.stdout


def test_python_m_runs_the_command_line() -> None:
    done = subprocess.run([sys.executable, "-m", "groundshare.cli", "--version"], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout == f"groundshare {__version__}\n"
