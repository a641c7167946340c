"""``leop.fit`` and the ``leop identify``/``leop fit`` commands, on a real launch cluster (2026-052)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pytest
from typer.testing import CliRunner

import groundshare.cli.leop_identify  # noqa: F401  (registers identify and fit in the leop group)
from groundshare.cli import app
from groundshare.errors import InvalidInputError
from groundshare.leop.fit import along_track_error_km, fit_elements, with_along_track
from groundshare.leop.identify import Receptions, launch_members, synthetic_evidence
from groundshare.orbits import load_elements
from groundshare.stations import load_stations
from groundshare.timeutil import datetime64_to_utc, format_utc
from tests.support.shipped import ACTIVE, DEMO_STATIONS

START = datetime(2026, 3, 19, 12, tzinfo=UTC)
SPAN_S = 43_200.0


@pytest.fixture(scope="module")
def cluster(active):
    return launch_members(active, "2026-052")


@pytest.fixture(scope="module")
def sites():
    return load_stations(DEMO_STATIONS)


@pytest.fixture(scope="module")
def truth(cluster):
    return next(e for e in cluster if e.object_id == "2026-052B")


@pytest.fixture(scope="module")
def evidence(truth, sites):
    return synthetic_evidence(truth, sites, START, SPAN_S, rng=np.random.default_rng(7))


def along_rms_km(elements, truth) -> float:
    along, _ = along_track_error_km(elements, truth, START, np.arange(0.0, SPAN_S, 60.0))
    return float(np.sqrt(np.mean(along ** 2)))


def test_fit_recovers_a_shifted_prediction(truth, sites, evidence):
    """A prediction 0.5 deg (~60 km) and 0.002 rev/day off: the fit brings it back to the truth."""
    receptions, doppler = evidence
    initial = with_along_track(truth, 0.5, 0.002, source="prediction")
    before_km = along_rms_km(initial, truth)
    result = fit_elements(initial, sites, receptions, doppler)
    after_km = along_rms_km(result.elements, truth)
    # 50 Hz of Doppler noise over 12 h of passes pins the along-track position to about a kilometre.
    assert before_km > 50.0 and after_km < 2.0
    assert result.elements.source == "fit" and result.converged
    assert result.delta_mean_anomaly_deg == pytest.approx(-0.5, abs=0.05)
    assert result.delta_mean_motion_rev_day == pytest.approx(-0.002, abs=3e-4)
    assert result.before.explained < result.before.receptions
    assert result.after.explained >= result.after.receptions - 2  # time tags jitter by 0.5 s at AOS/LOS
    assert result.before.doppler_rms_hz > 200.0 and 40.0 < result.after.doppler_rms_hz < 60.0
    assert len(result.outliers) > 0
    json.dumps(result.to_dict())


def test_fit_with_receptions_only(truth, sites, evidence):
    receptions, _ = evidence
    initial = with_along_track(truth, 0.5, 0.0, source="prediction")
    result = fit_elements(initial, sites, receptions)
    assert along_rms_km(initial, truth) > 50.0 and along_rms_km(result.elements, truth) < 15.0
    assert result.after.doppler_rms_hz is None


def test_fit_a_neighbour_to_the_truth(cluster, truth, sites, evidence):
    """Starting from another member of the launch (the wrong ticket of the lottery), the fit moves onto the truth."""
    receptions, doppler = evidence
    neighbour = next(e for e in cluster if e.object_id == "2026-052D")
    result = fit_elements(neighbour, sites, receptions, doppler)
    # Only M and n move: the neighbour's own eccentricity and perigee leave a few km along track.
    assert along_rms_km(neighbour, truth) > 100.0
    assert along_rms_km(result.elements, truth) < 5.0
    assert result.after.doppler_rms_hz < 100.0


def test_nothing_to_fit_is_refused(truth, sites):
    with pytest.raises(InvalidInputError, match="no receptions and no Doppler"):
        fit_elements(truth, sites, Receptions.empty())


def _write_evidence(tmp_path, receptions, doppler):
    rx = tmp_path / "rx.csv"
    rx.write_text("station,received_at\n" + "".join(
        f"{s},{format_utc(datetime64_to_utc(t))}\n" for s, t in zip(receptions.station, receptions.received_at,
                                                                     strict=True)))
    dop = tmp_path / "doppler.csv"
    dop.write_text("station,received_at,frequency_hz\n" + "".join(
        f"{s},{format_utc(datetime64_to_utc(t))},{f:.1f}\n"
        for s, t, f in zip(doppler.station, doppler.received_at, doppler.frequency_hz, strict=True)))
    return rx, dop


def test_cli_identify_and_fit(tmp_path, evidence):
    rx, dop = _write_evidence(tmp_path, *evidence)
    runner = CliRunner()
    result = runner.invoke(app, ["leop", "identify", "--candidates", str(ACTIVE), "--launch", "2026-052",
                                 "--receptions", str(rx), "--stations", str(DEMO_STATIONS), "--doppler", str(dop),
                                 "--format", "json"])
    assert result.exit_code == 0, result.output
    ranking = json.loads(result.stdout)
    assert ranking[0]["name"] == "2026-052B" and ranking[0]["consistent"] == ranking[0]["receptions"]
    assert "clear: 2026-052B" in result.stderr and "outliers left out" in result.stderr
    out = tmp_path / "fit.json"
    result = runner.invoke(app, ["leop", "fit", "--elements", str(ACTIVE), "--norad", "68201", "--receptions",
                                 str(rx), "--stations", str(DEMO_STATIONS), "--doppler", str(dop),
                                 "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("before: ") and "\nafter:  " in result.stdout
    fitted = load_elements(out)
    assert len(fitted) == 1 and fitted[0].norad_id == 68201


def test_cli_refuses_another_launch_and_missing_files(tmp_path, evidence):
    rx, _ = _write_evidence(tmp_path, *evidence)
    mixed = tmp_path / "mixed.tle"
    lines = ACTIVE.read_text().splitlines()
    keep = [i for i in range(0, len(lines) - 2, 3) if "2026-052" in lines[i] or "2026-027A" in lines[i]]
    mixed.write_text("\n".join("\n".join(lines[i:i + 3]) for i in keep) + "\n")
    runner = CliRunner()
    result = runner.invoke(app, ["leop", "identify", "--candidates", str(mixed), "--receptions", str(rx),
                                 "--stations", str(DEMO_STATIONS)])
    assert result.exit_code == 1 and "2026-027A" in result.stderr and "one launch" in result.stderr
    result = runner.invoke(app, ["leop", "identify", "--candidates", str(mixed), "--launch", "2026-052",
                                 "--receptions", str(tmp_path / "nope.csv"), "--stations", str(DEMO_STATIONS)])
    assert result.exit_code == 1 and "cannot read --receptions" in result.stderr
