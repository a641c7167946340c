"""``groundshare schedule solve``: JSON on stdout, clean errors on a bad file."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from groundshare.cli import app
from tests.support.problems import random_problem

runner = CliRunner()


def test_solve_prints_the_plan(tmp_path) -> None:
    path = tmp_path / "problem.json"
    path.write_text(random_problem(3, n_passes=30).to_json())
    result = runner.invoke(app, ["schedule", "solve", "--problem", str(path), "--time-limit", "5", "--workers", "2"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert {"status", "objective", "bound", "gap", "contacts", "solver", "wall_s"} <= set(plan)
    assert plan["status"] == "optimal"
    text = runner.invoke(app, ["schedule", "solve", "-p", str(path), "--solver", "greedy", "--format", "text"])
    assert text.exit_code == 0 and "feasible plan by greedy" in text.stdout


def test_bad_problem_file_is_a_clean_error(tmp_path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"start": "2025-11-07T00:00:00Z", "end": "2025-11-08T00:00:00Z", "antennas": []}))
    result = runner.invoke(app, ["schedule", "solve", "--problem", str(path)])
    assert result.exit_code == 1
    assert "satellites" in result.output and "Traceback" not in result.output
    missing = runner.invoke(app, ["schedule", "solve", "--problem", str(tmp_path / "none.json")])
    assert missing.exit_code == 1 and "cannot read" in missing.output


def test_the_shipped_sample_problem_solves_in_seconds() -> None:
    from groundshare.data import data_path
    from groundshare.schedule import Problem, check_schedule

    path = data_path("demo_problem.json")
    result = runner.invoke(app, ["schedule", "solve", "--problem", str(path), "--time-limit", "30"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    problem = Problem.load(path)
    assert plan["status"] == "optimal" and len(plan["contacts"]) > 50
    assert check_schedule(problem, plan["contacts"]) == []
    assert plan["objective"] <= plan["bound"] + 1e-6


def test_the_sample_problem_is_the_demo_networks_first_six_hours() -> None:
    from groundshare.data import data_path
    from groundshare.schedule import Problem
    from groundshare.store.demo import demo_problem

    shipped = Problem.load(data_path("demo_problem.json"))
    made = demo_problem()
    assert (shipped.start, shipped.end) == (made.start, made.end)
    assert shipped.antennas == made.antennas and shipped.satellites == made.satellites
    assert shipped.policies == made.policies
    assert [p.id for p in shipped.passes] == [p.id for p in made.passes]
    one_second_s = 1.0
    for old, new in zip(shipped.passes, made.passes, strict=True):
        assert (old.satellite, old.antenna, old.priority) == (new.satellite, new.antenna, new.priority)
        assert abs((old.start - new.start).total_seconds()) < one_second_s
        assert abs((old.end - new.end).total_seconds()) < one_second_s
        assert abs(old.value - new.value) < 2 * one_second_s
