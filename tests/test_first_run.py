"""A new user's first run: the plain install, every command it brings, and ``make run`` twice.

The plain install is ``pip install <the project>`` with no extras, into a fresh virtual
environment, from the package indexes configured on the machine (no internet). Its
dependencies are resolved once per ``pyproject.toml`` and kept under
``build/first-run/`` (a venv holding only them); every session then builds the project's
wheel from a copy of its sources (an isolated build, as ``pip install`` makes), installs it
with ``--no-deps`` into a venv of its own that sees those dependencies, and ``pip check``
confirms they satisfy it. The build must be quiet (no ``BuildBackendWarning``).

From that venv, every command and subcommand of ``groundshare`` must answer ``--help``
and run once for real on the shipped data: the list below names one real invocation per
command, and a command without one fails the test. ``agent`` runs against a server
started from the same venv; ``track`` drives a real ``rotctld -m 1`` where Hamlib is
installed (CI installs it), else it rehearses without a rotator.

``make run`` is run as the Makefile says (``make -n run`` gives its commands, pointed at
this venv and a temporary demo folder), twice: the second run adds nothing, prints the
same tokens, keeps the network's clock and books nothing twice.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shlex
import shutil
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "build" / "first-run"
#: Lines pip prints about this machine's index configuration (a find-links folder without some
#: projects), not about groundshare's build.
MACHINE_PIP_NOTES = ("is ignored: it is neither a file nor a directory",)
#: Seconds any one command may take (the slowest is the two-day demo plan of ``make run``).
COMMAND_TIMEOUT_S = 120


@dataclass
class PlainInstall:
    """A venv with the plain install: its ``bin`` folder, the installed data folder, a work folder and env."""

    bin: Path
    data: Path
    work: Path
    env: dict[str, str]
    pip_output: str
    pip_check: str

    def run(self, *args: str, env: dict[str, str] | None = None, timeout: float = COMMAND_TIMEOUT_S,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        """Run ``groundshare ARGS`` from the venv in the work folder."""
        return subprocess.run([str(self.bin / "groundshare"), *args], cwd=cwd or self.work,
                              env={**self.env, **(env or {})}, capture_output=True, text=True, timeout=timeout)

    def python(self, code: str) -> str:
        done = subprocess.run([str(self.bin / "python"), "-c", code], cwd=self.work, env=self.env,
                              capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, check=True)
        return done.stdout.strip()


def _copy_project(dest: Path) -> Path:
    """Copy what ``pip install <repo root>`` builds from (so the build never writes into the checkout)."""
    dest.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md", *(p.name for p in ROOT.glob("LICEN[CS]E*"))):
        shutil.copy2(ROOT / name, dest / name)
    shutil.copytree(ROOT / "src", dest / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    return dest


def _pip(python: Path, *args: str, target: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run pip of ``python``'s venv (on ``target``'s interpreter when given); fail with its output."""
    where = ["--python", str(target)] if target is not None else []
    done = subprocess.run([str(python), "-m", "pip", *where, *args], capture_output=True, text=True,
                          timeout=600, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert done.returncode == 0, f"pip {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done


def _purelib(python: Path) -> str:
    return subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True).stdout.strip()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (sessions running at once share the dependency venv)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _dependency_venv(tmp: Path) -> Path:
    """Return the venv holding the plain install's dependencies (made once per pyproject.toml)."""
    recipe = b"venv, pip upgraded as the Makefile does, the plain install, groundshare removed"
    key = hashlib.sha256(ROOT.joinpath("pyproject.toml").read_bytes() + sys.version.encode() + recipe).hexdigest()[:16]
    deps = CACHE / f"deps-{key}"
    with _locked(CACHE / "lock"):
        if not (deps / ".complete").is_file():
            shutil.rmtree(deps, ignore_errors=True)
            subprocess.run([sys.executable, "-m", "venv", str(deps)], check=True, timeout=300)
            python = deps / "bin" / "python"
            # As the Makefile does: a current pip also shows what the build backend warns about.
            _pip(python, "install", "-q", "--upgrade", "pip")
            _pip(python, "install", "-q", str(_copy_project(tmp / "deps-source")))
            _pip(python, "uninstall", "-y", "-q", "groundshare")  # each session installs its own build
            (deps / ".complete").write_text("dependencies of the plain install\n")
            for stale in CACHE.glob("deps-*"):  # made for an earlier pyproject.toml
                if stale != deps:
                    shutil.rmtree(stale, ignore_errors=True)
    return deps


@pytest.fixture(scope="session")
def plain(tmp_path_factory) -> PlainInstall:
    tmp = tmp_path_factory.mktemp("first-run")
    deps = _dependency_venv(tmp)
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    # The session's venv sees the dependencies (and their own .pth files) after its own packages.
    Path(_purelib(python), "groundshare-dependencies.pth").write_text(
        f"import site; site.addsitedir({_purelib(deps / 'bin' / 'python')!r})\n")
    # Built by the dependency venv's pip (an isolated build, as pip install does), installed into the session's.
    built = _pip(deps / "bin" / "python", "wheel", "--no-deps", "-q", "-w", str(tmp / "wheels"),
                 str(_copy_project(tmp / "source")))
    [wheel] = (tmp / "wheels").glob("groundshare-*.whl")
    installed = _pip(deps / "bin" / "python", "install", "--no-deps", "-q", str(wheel), target=python)
    check = _pip(deps / "bin" / "python", "check", target=python)
    work = tmp / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "GROUNDSHARE_DATABASE_URL", "GROUNDSHARE_TOKEN")}
    env.update(GROUNDSHARE_DATA_DIR=str(work / "data"), PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}")
    install = PlainInstall(bin=venv / "bin", data=Path(), work=work, env=env,
                           pip_output=built.stdout + built.stderr + installed.stdout + installed.stderr,
                           pip_check=check.stdout)
    install.data = Path(install.python("from groundshare.data import data_path; print(data_path('.'))"))
    return install


def test_the_plain_install_is_quiet_and_complete(plain: PlainInstall) -> None:
    noise = [line for line in plain.pip_output.splitlines()
             if line.strip() and not any(note in line for note in MACHINE_PIP_NOTES)]
    assert noise == [], "the build printed:\n" + "\n".join(noise)
    assert "No broken requirements found." in plain.pip_check
    # groundshare comes from the venv, not from the checkout.
    location = Path(plain.python("import groundshare; print(groundshare.__file__)"))
    assert plain.bin.parent in location.parents and ROOT not in location.parents
    shipped = sorted(p.name for p in (ROOT / "src/groundshare/data").iterdir()
                     if p.is_file() and p.suffix != ".py" and not p.name.startswith("."))
    assert sorted(p.name for p in plain.data.iterdir() if p.is_file() and p.suffix != ".py") == shipped
    metadata = plain.python("from importlib.metadata import metadata; m = metadata('groundshare'); "
                            "print(m['License-Expression'])")
    assert metadata == "Apache-2.0"


# Every command: its --help and one real invocation.


def _command_tree(plain: PlainInstall) -> list[str]:
    code = ("import json, typer.main\n"
            "from groundshare.cli import app\n"
            "def walk(cmd, path):\n"
            "    subs = getattr(cmd, 'commands', None)\n"
            "    if subs:\n"
            "        yield ' '.join(path)\n"
            "        for name, sub in sorted(subs.items()):\n"
            "            yield from walk(sub, [*path, name])\n"
            "    else:\n"
            "        yield ' '.join(path)\n"
            "print(json.dumps(list(walk(typer.main.get_command(app), []))))\n")
    return json.loads(plain.python(code))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, token: str) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _wait_for_server(base: str, token: str, process: subprocess.Popen[str], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode}: {process.stderr.read()}")
        try:
            if _get(f"{base}/clock", token)[0] == 200:
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"no server answered at {base} within {timeout_s:g} s")


@contextlib.contextmanager
def _serving(argv: list[str], env: dict[str, str], cwd: Path, base: str, token: str) -> Iterator[None]:
    process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_server(base, token, process)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Network:
    """The demo network loaded with the venv's commands: its database and the printed tokens."""

    url: str
    tokens: dict[str, str]
    runs: dict[str, subprocess.CompletedProcess[str]] = field(default_factory=dict)


def _ok(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert done.returncode == 0, f"{shlex.join(done.args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    for text in (done.stdout, done.stderr):
        assert "Traceback" not in text and "ModuleNotFoundError" not in text
    return done


@pytest.fixture(scope="session")
def network(plain: PlainInstall) -> Network:
    url = f"sqlite:///{plain.work / 'network.db'}"
    upgraded = _ok(plain.run("db", "upgrade", "--database-url", url))
    loaded = _ok(plain.run("demo", "load", "--database-url", url))
    tokens = dict(line.split("\t") for line in loaded.stdout.splitlines())
    return Network(url, tokens, {"db upgrade": upgraded, "demo load": loaded})


KARI = "Korea Aerospace Research Institute (KARI)"


def run_passes(plain: PlainInstall, network: Network) -> None:
    done = _ok(plain.run("passes", "-e", str(plain.data / "celestrak_cubesat_2025-11-06.tle"),
                         "-s", str(plain.data / "demo_stations.toml"), "--start", "2025-11-07T00:00Z",
                         "--days", "0.1", "--format", "json"))
    assert len(json.loads(done.stdout)) > 10 and "passes of" in done.stderr


def run_link_budget(plain: PlainInstall, network: Network) -> None:
    for name in ("demo_link_uhf.toml", "demo_link_xband_acm.toml"):
        done = _ok(plain.run("link", "budget", "--config", str(plain.data / name), "--format", "json"))
        assert json.loads(done.stdout)["margin_db"] > 0


def run_doppler(plain: PlainInstall, network: Network) -> None:
    done = _ok(plain.run("doppler", "-e", str(plain.data / "celestrak_cubesat_2025-11-06.tle"),
                         "-s", str(plain.data / "demo_stations.toml"), "--norad", "44854", "--station", "daejeon",
                         "--start", "2025-11-07T00:00Z", "--days", "1", "--frequency-hz", "437e6", "--step", "60"))
    assert done.stdout.startswith("time_utc,frequency_hz,")


def run_db_upgrade(plain: PlainInstall, network: Network) -> None:
    assert "(the newest)" in network.runs["db upgrade"].stderr


def run_admin_create_org(plain: PlainInstall, network: Network) -> None:
    done = _ok(plain.run("admin", "create-org", "Agencia Espacial Mexicana", "--kind", "agency",
                         "--database-url", network.url))
    assert done.stdout.strip().isdigit()


def run_admin_create_token(plain: PlainInstall, network: Network) -> None:
    plain.run("admin", "create-org", "Hanbit Ground Co.", "--kind", "company", "--database-url", network.url)
    done = _ok(plain.run("admin", "create-token", "--org", "Hanbit Ground Co.", "--role", "operator",
                         "--database-url", network.url))
    assert done.stdout.startswith("gs_")


def run_demo_load(plain: PlainInstall, network: Network) -> None:
    assert set(network.tokens) >= {KARI} and all(t.startswith("gs_") for t in network.tokens.values())
    assert "network time 2025-11-07T00:0" in network.runs["demo load"].stderr


def run_schedule_solve(plain: PlainInstall, network: Network) -> None:
    done = _ok(plain.run("schedule", "solve", "--problem", str(plain.data / "demo_problem.json"),
                         "--time-limit", "20", "--workers", "2"))
    assert json.loads(done.stdout)["status"] == "optimal"


def run_schedule_plan(plain: PlainInstall, network: Network) -> None:
    done = _ok(plain.run("schedule", "plan", "--dry-run", "--days", "0.1", "--time-limit", "5", "--workers", "2",
                         env={"GROUNDSHARE_DATABASE_URL": network.url}))
    assert json.loads(done.stdout)["dry_run"] is True
    assert re.match(rf"planning {re.escape(network.url)}: \d+ organisations, 93 open contact requests", done.stderr)


def run_gnss_dop(plain: PlainInstall, network: Network) -> None:
    done = _ok(plain.run("gnss", "dop", "-e", str(plain.data / "celestrak_gps-ops_2026-03-09.tle"),
                         "-e", str(plain.data / "celestrak_galileo_2026-03-09.tle"), "--lat-deg", "36.37",
                         "--lon-deg", "127.36", "--alt-m", "70", "--at", "2026-03-09T06:00Z", "--mask-deg", "10",
                         "--format", "json"))
    assert json.loads(done.stdout)["n_visible"] == 18


def run_gnss_plan(plain: PlainInstall, network: Network) -> None:
    svg = plain.work / "dop.svg"
    done = _ok(plain.run("gnss", "plan", "-e", str(plain.data / "celestrak_gps-ops_2026-03-09.tle"),
                         "--lat-deg", "36.37", "--lon-deg", "127.36", "--start", "2026-03-09T00:00Z", "--hours", "2",
                         "--step-s", "600", "--format", "csv", "--svg", str(svg)))
    assert done.stdout.startswith("time,n_visible,") and svg.read_text().startswith("<svg")


def run_serve_and_agent(plain: PlainInstall, network: Network) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    argv = [str(plain.bin / "groundshare"), "serve", "--port", str(port), "--database-url", network.url]
    with _serving(argv, plain.env, plain.work, base, network.tokens[KARI]):
        status, me = _get(f"{base}/orgs/me", network.tokens[KARI])
        assert status == 200 and me["org"]["name"] == KARI
        # The agent (httpx, in the plain install) finds its station, holds the lease, finds no contact, stops.
        done = _ok(plain.run("agent", "--once", "--station", "daejeon", "--api", base, "--journal",
                             str(plain.work / "agent.sqlite"), env={"GROUNDSHARE_TOKEN": network.tokens[KARI]}))
        assert "agent for daejeon stopped after 0 contacts" in done.stderr
    # With the API gone and a journal that never saw the station, it refuses cleanly.
    gone = plain.run("agent", "--once", "--station", "daejeon", "--api", base, "--journal",
                     str(plain.work / "agent-never.sqlite"), env={"GROUNDSHARE_TOKEN": network.tokens[KARI]})
    assert gone.returncode == 1 and "Traceback" not in gone.stderr
    assert "the API cannot be reached" in gone.stderr


def run_track(plain: PlainInstall, network: Network) -> None:
    args = ["track", "-e", str(plain.data / "celestrak_cubesat_2025-11-06.tle"), "-s",
            str(plain.data / "demo_stations.toml"), "--station", "daejeon", "--norad", "44854",
            "--start", "2025-11-07T00:00Z", "--speed", "120"]
    rotctld = shutil.which("rotctld")
    if rotctld is None:  # without Hamlib: a rehearsal with no rotator, which still plans and plays the pass
        done = _ok(plain.run(*args, "--rotctld", ""))
        assert json.loads(done.stdout)["status"] == "completed"
        return
    port = _free_port()
    daemon = subprocess.Popen([rotctld, "-m", "1", "-T", "127.0.0.1", "-t", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            time.sleep(0.1)
        done = _ok(plain.run(*args, "--rotctld", f"127.0.0.1:{port}"))
        outcome = json.loads(done.stdout)
        assert outcome["status"] == "completed" and outcome["execution"]["positions_sent"] > 0
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)


#: One real invocation per command (``agent`` and ``serve`` share one: the agent talks to that server).
REAL: dict[str, Callable[[PlainInstall, Network], None]] = {
    "passes": run_passes,
    "link budget": run_link_budget,
    "doppler": run_doppler,
    "db upgrade": run_db_upgrade,
    "admin create-org": run_admin_create_org,
    "admin create-token": run_admin_create_token,
    "demo load": run_demo_load,
    "schedule solve": run_schedule_solve,
    "schedule plan": run_schedule_plan,
    "gnss dop": run_gnss_dop,
    "gnss plan": run_gnss_plan,
    "serve": run_serve_and_agent,
    "agent": run_serve_and_agent,
    "track": run_track,
}


def test_every_command_has_a_real_invocation_here(plain: PlainInstall) -> None:
    leaves = {path for path in _command_tree(plain) if path and path not in ("link", "db", "admin", "demo",
                                                                           "schedule", "gnss")}
    groups = {path.split()[0] for path in leaves if " " in path}
    assert {"link", "db", "admin", "demo", "schedule", "gnss"} >= groups, groups
    assert leaves == set(REAL), "give each command a real invocation in REAL"


def test_every_command_and_group_answers_help(plain: PlainInstall) -> None:
    version = _ok(plain.run("--version"))
    assert version.stdout.startswith("groundshare ")
    for path in _command_tree(plain):
        done = _ok(plain.run(*path.split(), "--help"))
        assert "Usage: groundshare" in done.stdout, path


@pytest.mark.parametrize("command", sorted(set(REAL) - {"agent"}))
def test_every_command_runs_after_the_plain_install(command: str, plain: PlainInstall, network: Network) -> None:
    REAL[command](plain, network)


# ``make run``, twice.


def _make_run_commands(plain: PlainInstall, demo: Path, port: int) -> list[str]:
    """Return the commands ``make run`` runs, pointed at the plain venv and ``demo`` (``make -n``)."""
    make = shutil.which("make")
    assert make is not None, "make is needed (it is how a new user starts groundshare)"
    done = subprocess.run([make, "--no-print-directory", "-n", "run", "STAMP=", f"VENV={plain.bin.parent}",
                           f"DEMO_DIR={demo}", f"DEMO_DATABASE_URL=sqlite:///{demo / 'groundshare.db'}",
                           f"PORT={port}"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60)
    return [line for line in done.stdout.splitlines() if line.strip()]


@dataclass
class MakeRun:
    outputs: list[subprocess.CompletedProcess[str]]
    tokens: dict[str, str]
    database_line: str


def _make_run(plain: PlainInstall, demo: Path) -> MakeRun:
    port = _free_port()
    commands = _make_run_commands(plain, demo, port)
    assert " serve " in commands[-1], commands
    outputs = []
    tokens: dict[str, str] = {}
    database_line = ""
    for command in commands[:-1]:
        done = _ok(subprocess.run(["bash", "-c", command], cwd=ROOT, env=plain.env, capture_output=True, text=True,
                                  timeout=COMMAND_TIMEOUT_S))
        outputs.append(done)
        if " demo load " in command:
            tokens = dict(line.split("\t") for line in done.stdout.splitlines())
        if "GROUNDSHARE_DATABASE_URL=" in done.stdout:
            database_line = done.stdout.strip()
    assert tokens, "make run printed no tokens"
    base = f"http://127.0.0.1:{port}"
    with _serving(["bash", "-c", f"exec {commands[-1]}"], plain.env, ROOT, base, tokens[KARI]):
        for name, token in tokens.items():
            status, me = _get(f"{base}/orgs/me", token)
            assert status == 200 and me["org"]["name"] == name and me["role"] == "admin"
    return MakeRun(outputs, tokens, database_line)


def _contacts_and_clock(url: str) -> tuple[int, tuple]:
    from sqlalchemy import func, select

    from groundshare.store import Contact, NetworkClock, create_engine_for

    engine = create_engine_for(url)
    try:
        with engine.connect() as connection:
            contacts = connection.execute(select(func.count()).select_from(Contact)).scalar_one()
            clock = tuple(connection.execute(select(NetworkClock.network_at, NetworkClock.wall_at)).one())
    finally:
        engine.dispose()
    return contacts, clock


def test_make_run_twice_keeps_tokens_clock_and_bookings(plain: PlainInstall, tmp_path) -> None:
    demo = tmp_path / ".demo"
    url = f"sqlite:///{demo / 'groundshare.db'}"
    first = _make_run(plain, demo)
    loaded = next(o for o in first.outputs if " demo load " in shlex.join(o.args))
    assert "0 unchanged, 6 new" in loaded.stderr and "contacts booked" in loaded.stderr
    assert "refusal" not in loaded.stderr
    assert stat.S_IMODE((demo / "tokens.toml").stat().st_mode) == 0o600
    contacts, clock = _contacts_and_clock(url)
    assert contacts > 100

    second = _make_run(plain, demo)
    reloaded = next(o for o in second.outputs if " demo load " in shlex.join(o.args))
    assert second.tokens == first.tokens
    assert "added nothing new" in reloaded.stderr and "6 unchanged, 0 new" in reloaded.stderr
    assert f"demo plan skipped: the store already holds {contacts} contacts" in reloaded.stderr
    assert "(anchored by an earlier load: " in reloaded.stderr
    assert _contacts_and_clock(url) == (contacts, clock)

    # The line make run prints points other commands at its database.
    assert first.database_line == f"other commands use this database with:  export GROUNDSHARE_DATABASE_URL={url}"
    variable = first.database_line.split("export ", 1)[1]
    planned = _ok(subprocess.run(["bash", "-c", f"export {variable} && groundshare schedule plan --dry-run --days 0.1 "
                                                "--time-limit 5 --workers 2"], cwd=plain.work, env=plain.env,
                                 capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S))
    assert planned.stderr.startswith(f"planning {url}: 6 organisations, 93 open contact requests")
