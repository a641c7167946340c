"""``groundshare report``, run in-process with Typer's CliRunner on a migrated SQLite store."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from groundshare.cli import app
from groundshare.extras import installed
from groundshare.report import parse_period
from groundshare.report.figures import compute_report, report_bytes
from groundshare.store import create_engine_for, make_session_factory, session_scope
from tests.support.report_contacts import PERIOD, add_report_contacts
from tests.support.worlds import World, make_world


def run(*args: str):
    return CliRunner().invoke(app, list(args), env={"GROUNDSHARE_DATABASE_URL": ""})


@pytest.fixture(scope="module")
def network(tmp_path_factory) -> tuple[str, World]:
    url = f"sqlite:///{tmp_path_factory.mktemp('cli-report') / 'network.db'}"
    assert run("db", "upgrade", "--database-url", url).exit_code == 0
    engine = create_engine_for(url)
    world = make_world(make_session_factory(engine))
    add_report_contacts(make_session_factory(engine), world)
    engine.dispose()
    return url, world


def test_json_is_the_reports_figures(network, tmp_path):
    url, world = network
    output = tmp_path / "kasa.json"
    done = run("report", "--org", world.kasa.name, "--period", PERIOD, "--format", "json", "--output", str(output),
               "--database-url", url)
    assert done.exit_code == 0, done.output
    assert f"report of {world.kasa.name} for 2025-11 (json, en) written to {output}: 2 contacts executed" in done.output
    engine = create_engine_for(url)
    chosen = parse_period(PERIOD)
    with session_scope(make_session_factory(engine), write=False) as session:
        expected = compute_report(session, org_id=world.kasa.id, start=chosen.start, end=chosen.end,
                                  period_label=chosen.label, kind=chosen.kind).to_dict()
    engine.dispose()
    assert output.read_bytes() == report_bytes(expected, "json")
    assert json.loads(output.read_text())["reciprocity"]["given_hours"] == 0.9
    again = tmp_path / "again.json"
    run("report", "--org", world.kasa.name, "--period", PERIOD, "-f", "json", "-o", str(again), "--database-url", url)
    assert again.read_bytes() == output.read_bytes()


@pytest.mark.parametrize(("args", "says"), [
    (["--org", "Korea AeroSpace Administration", "--period", "2025-13"], "error: period '2025-13' has month 13"),
    (["--org", "Nobody", "--period", "2025-11"], "error: no organisation is called 'Nobody'"),
])
def test_bad_input_is_one_clear_error_and_no_file(network, tmp_path, args, says):
    url, _ = network
    output = tmp_path / "never.json"
    done = run("report", *args, "--format", "json", "--output", str(output), "--database-url", url)
    assert done.exit_code == 1 and says in done.output and "Traceback" not in done.output
    assert not output.exists()


def test_a_missing_output_folder_is_named(network, tmp_path):
    url, world = network
    done = run("report", "--org", world.kasa.name, "--period", PERIOD, "--format", "json", "--output",
               str(tmp_path / "no" / "such.json"), "--database-url", url)
    assert done.exit_code == 1 and "does not exist" in done.output


@pytest.mark.skipif(not installed("report"), reason="the report extra (PDF and HTML) is not installed")
def test_pdf_is_a_document(network, tmp_path):
    url, world = network
    output = tmp_path / "kasa.pdf"
    done = run("report", "--org", world.aem.name, "--period", "2025-Q4", "--lang", "es", "--output", str(output),
               "--database-url", url)
    assert done.exit_code == 0, done.output
    assert output.read_bytes().startswith(b"%PDF")
