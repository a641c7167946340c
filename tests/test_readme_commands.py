"""The README's commands run as written, and print what the README says they print.

Every ``$ `` command of the README's ``console`` blocks is either run here or listed in
``NOT_RUN`` with the reason (a server, hardware, a cluster, a placeholder token), so a
command added to the README is checked or has to say why not. The commands run in a
temporary folder laid out like the checkout (``src/groundshare/data``, ``tests/link/data``
and ``.venv/bin/groundshare``), with the default database in the temporary folder and a
``.demo/`` database as ``make run`` leaves it.

The lines the README shows under a command are compared with what the command printed
(stdout and stderr together, in order): ``...`` on a line of its own skips lines, ``...``
inside a line stands for any text, runs of spaces count as one, and timings ("searched in
0.1 s") are not compared. So a figure in the README that drifts from the code fails here.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from groundshare.data import data_path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

#: README commands not run here, by how they start, and why.
NOT_RUN = {
    "curl ": "needs the server make run starts and a token it printed (tests/test_first_run.py serves and calls it)",
    ".venv/bin/groundshare serve": "a server that runs until stopped (tests/test_first_run.py starts it)",
    ".venv/bin/groundshare agent": "drives a station's antenna (tests/test_first_run.py runs it against a server)",
    ".venv/bin/groundshare inhibit": "stops a running station's transmitter (tests/agent/test_uplink_restart.py and "
                                     "tests/test_first_run.py run it)",
    "rotctld ": "needs a rotator on a serial port",
    "rigctld ": "needs a radio on a serial port",
    "export GROUNDSHARE_TOKEN=gs_...": "a placeholder for a real token",
    "pip install 'groundshare[dask]'": "installs an extra (the dask tests cover it)",
    "dask ": "starts a Dask scheduler or workers",
    "direwolf ": "needs a radio's audio (tests/agent/test_direwolf_chain.py runs Dire Wolf on generated audio)",
    "groundshare frames": "needs a server and a token (tests/test_cli_frames.py runs it against one)",
    "groundshare passes --elements active.tle": "needs a Dask cluster (tests/passes/test_dask.py runs one)",
}
#: Volatile parts of output, replaced in both the README's lines and the printed ones.
VOLATILE = [
    (re.compile(r"searched in \d+(\.\d+)? s"), "searched in <t> s"),
    (re.compile(r"(gap \d+\.\d\d %), \d+(\.\d+)? s$"), r"\1, <t> s"),
]


@dataclass
class Example:
    """One README command: where it is, the command line, and the lines shown under it."""

    line: int
    command: str
    expected: list[str]


def readme_examples(text: str) -> list[Example]:
    """Return the ``$ `` commands of the README's console blocks, in order, with their shown output."""
    examples: list[Example] = []
    current: Example | None = None
    in_block = False
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            in_block = line.strip() == "```console" if not in_block else False
            current = None
        elif in_block and line.startswith("$ "):
            start = i
            command = line[2:]
            while command.endswith("\\"):
                i += 1
                command = command[:-1].rstrip() + " " + lines[i].strip()
            current = Example(start + 1, command, [])
            examples.append(current)
        elif current is not None:
            current.expected.append(line)
        i += 1
    return examples


def _normal(line: str) -> str:
    line = " ".join(line.split())
    for pattern, replacement in VOLATILE:
        line = pattern.sub(replacement, line)
    return line


def _matches(expected: str, actual: str) -> bool:
    if "..." not in expected:
        return expected == actual
    pattern = ".*".join(re.escape(part.strip()) for part in expected.split("..."))
    return re.fullmatch(pattern, actual) is not None


def check_output(expected: list[str], printed: str) -> None:
    """Assert the printed lines show the README's lines (see the module docstring)."""
    actual = [_normal(line) for line in printed.splitlines()]
    if len(actual) > 40:  # messages show the start and the end of long output
        printed = "\n".join([*printed.splitlines()[:20], "[...]", *printed.splitlines()[-10:]])
    position, gap = 0, False
    for shown in (_normal(line) for line in expected):
        if not shown:
            continue
        if shown == "...":
            gap = True
            continue
        if gap:
            found = next((k for k in range(position, len(actual)) if _matches(shown, actual[k])), None)
            assert found is not None, f"the README shows {shown!r}, but it was not printed:\n{printed}"
            position = found + 1
        else:
            assert position < len(actual) and _matches(shown, actual[position]), (
                f"the README shows {shown!r} next, but the command printed "
                f"{actual[position] if position < len(actual) else 'nothing more'!r}:\n{printed}")
            position += 1
        gap = False


def test_the_examples_are_read_from_the_readme() -> None:
    examples = readme_examples("```console\n$ echo a \\\n    b   # two\na b\n...\n```\n\n```python\n$ no\n```\n")
    assert [(e.command, e.expected) for e in examples] == [("echo a b   # two", ["a b", "..."])]
    check_output(["a  b", "...", "x ... z"], "a b\nq\nx y z\n")
    with pytest.raises(AssertionError):
        check_output(["a b", "c"], "a b\nd\n")


def not_run(command: str) -> str | None:
    return next((why for start, why in NOT_RUN.items() if command.startswith(start)), None)


def test_every_readme_command_is_run_or_says_why_not() -> None:
    examples = readme_examples(README.read_text(encoding="utf-8"))
    assert len(examples) > 20
    unclassified = [e.command for e in examples
                    if not_run(e.command) is None
                    and not e.command.startswith((".venv/bin/groundshare ", "export ", "echo $?"))]
    assert unclassified == [], "run these in this test or add them to NOT_RUN with the reason"


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A temporary folder laid out like the checkout after ``make run``, and the environment to run in."""
    folder = tmp_path_factory.mktemp("readme")
    (folder / "src/groundshare").mkdir(parents=True)
    (folder / "src/groundshare/data").symlink_to(data_path("demo_stations.toml").parent)
    (folder / "tests/link").mkdir(parents=True)
    (folder / "tests/link/data").symlink_to(ROOT / "tests/link/data")
    (folder / ".venv/bin").mkdir(parents=True)
    groundshare = Path(sys.executable).parent / "groundshare"
    (folder / ".venv/bin/groundshare").symlink_to(groundshare)
    # three.tle as the README's "Bad input" example makes it: the checksum digit of line 5 changed.
    lines = data_path("celestrak_cubesat_2025-11-06.tle").read_text().splitlines()[:9]
    lines[4] = lines[4][:-1] + "7"
    (folder / "three.tle").write_text("\n".join(lines))
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROUNDSHARE_")}
    env["GROUNDSHARE_DATA_DIR"] = str(folder / "data")
    # The demo database make run leaves (its plan is not needed by the README's commands).
    demo = f"sqlite:///{folder / '.demo' / 'groundshare.db'}"
    (folder / ".demo").mkdir()
    for args in (["db", "upgrade", "--database-url", demo], ["demo", "load", "--database-url", demo,
                                                              "--tokens-file", str(folder / ".demo/tokens.toml")]):
        subprocess.run([str(groundshare), *args], cwd=folder, env=env, check=True, capture_output=True, timeout=120)
    return folder, env


@pytest.mark.slow
def test_the_readme_commands_print_what_it_shows(checkout) -> None:
    folder, env = checkout
    examples = readme_examples(README.read_text(encoding="utf-8"))
    ran = 0
    last_status = 0
    for example in examples:
        if not_run(example.command) is not None:
            continue
        where = f"README.md line {example.line}: $ {example.command}"
        if example.command.startswith("export "):
            name, value = example.command.removeprefix("export ").split("#")[0].strip().split("=", 1)
            env[name] = subprocess.run(["bash", "-c", f'printf %s "{value}"'], cwd=folder, env=env,
                                       capture_output=True, text=True, check=True).stdout
            continue
        if example.command == "echo $?":
            check_output(example.expected, f"{last_status}\n")
            continue
        done = subprocess.run(["bash", "-c", example.command], cwd=folder, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=300)
        last_status = done.returncode
        expected_status = 1 if "error:" in "\n".join(example.expected) else 0
        assert done.returncode == expected_status, f"{where}\nexited {done.returncode}:\n{done.stdout}"
        assert "Traceback" not in done.stdout, where
        try:
            check_output(example.expected, done.stdout)
        except AssertionError as exc:
            raise AssertionError(f"{where}\n{exc}") from None
        ran += 1
    assert ran >= 15
