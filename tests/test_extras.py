"""The extras: ``groundshare.extras`` names the modules of pyproject.toml's optional dependencies.

What each install runs for real, and what it refuses, is ``tests/test_first_run.py``'s
(a venv per extra); here, in the test venv that has them all, the table and the refusal.
"""

from __future__ import annotations

import sys
import tomllib
from importlib.metadata import packages_distributions, requires
from pathlib import Path

import pytest
import typer
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from typer.testing import CliRunner

from groundshare.cli import app
from groundshare.cli.console import command_name
from groundshare.extras import EXTRAS, MissingExtraError, install_command, installed, require_extras

ROOT = Path(__file__).resolve().parents[1]


def _extras_of_pyproject() -> dict[str, list[Requirement]]:
    """Return each extra's requirements, without groundshare's own extras."""
    optional = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    return {extra: [Requirement(r) for r in reqs if not r.startswith("groundshare")]
            for extra, reqs in optional.items()}


def _installs(requirement: Requirement) -> set[str]:
    """Return the distributions ``requirement`` installs itself: its own and those of the extras it asks for."""
    names = {canonicalize_name(requirement.name)}
    for text in requires(requirement.name) or []:
        dependency = Requirement(text)
        if dependency.marker and any(dependency.marker.evaluate({"extra": e}) for e in requirement.extras):
            names.add(canonicalize_name(dependency.name))
    return names


def test_each_extra_names_the_modules_of_its_distributions() -> None:
    distributions = packages_distributions()
    for extra, requirements in _extras_of_pyproject().items():
        if extra == "test":
            continue
        checked = {canonicalize_name(d) for m in EXTRAS[extra] for d in distributions[m]}
        # Every distribution the extra asks for has a module looked up, and every module looked up is one it installs.
        assert {canonicalize_name(r.name) for r in requirements} <= checked, extra
        installs = set().union(*map(_installs, requirements))
        assert all({canonicalize_name(d) for d in distributions[m]} & installs for m in EXTRAS[extra]), extra
    assert set(_extras_of_pyproject()) == {*EXTRAS, "test"}


def test_the_test_extra_holds_every_other() -> None:
    test = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["test"]
    assert f"groundshare[{','.join(EXTRAS)}]" in test


def test_a_missing_extra_names_the_command_and_the_install(monkeypatch) -> None:
    assert all(installed(extra) for extra in EXTRAS)
    require_extras("groundshare serve", "server")
    monkeypatch.setitem(sys.modules, "ortools", None)  # as if OR-Tools were not installed
    with pytest.raises(MissingExtraError) as caught:
        require_extras("groundshare schedule plan", "server", "schedule")
    assert str(caught.value) == ("groundshare schedule plan needs the schedule extra: "
                                 "pip install 'groundshare[schedule]'")
    assert caught.value.extras == ("schedule",)
    assert install_command("server", "schedule") == "pip install 'groundshare[server,schedule]'"


def test_a_command_without_its_extra_exits_1_with_the_install(monkeypatch, tmp_path) -> None:
    monkeypatch.setitem(sys.modules, "ortools", None)
    url = f"sqlite:///{tmp_path / 'untouched.db'}"
    runner = CliRunner()
    done = runner.invoke(app, ["demo", "load", "--plan-days", "1", "--database-url", url])
    assert done.exit_code == 1
    assert done.output.strip() == ("error: groundshare demo load --plan-days needs the schedule extra: "
                                   "pip install 'groundshare[schedule]'")
    assert not (tmp_path / "untouched.db").exists()  # refused before anything was done
    assert runner.invoke(app, ["schedule", "solve", "--help"]).exit_code == 0


def test_the_command_is_named_as_the_console_script_names_it() -> None:
    """However the program was started (``python -m groundshare.cli``), the message says ``groundshare ...``."""
    group, root, seen = typer.Typer(), typer.Typer(), []

    @group.command("plan")
    def plan(ctx: typer.Context) -> None:
        seen.append(command_name(ctx))

    root.add_typer(group, name="schedule")
    root.callback()(lambda: None)
    assert CliRunner().invoke(root, ["schedule", "plan"], prog_name="python -m groundshare.cli").exit_code == 0
    assert seen == ["groundshare schedule plan"]
