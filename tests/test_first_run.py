"""A new user's first run: each install, every command it brings or refuses, and ``make run`` twice.

The installs are ``pip install <the project>`` into fresh virtual environments, from the
package indexes configured on the machine (no internet): the plain install (the numeric
core), one per extra (``server``, ``schedule``, ``agent``) and the extras ``make run``
installs (read from the Makefile). Their dependencies are resolved once per set of
requirements in ``pyproject.toml`` and kept under ``build/first-run/`` as layers: a venv
with the plain install's dependencies, and a venv per extra with what that extra adds
(it sees the plain layer through a ``.pth`` file; ``make run``'s sees the extras' layers),
so that no wheel is installed twice. Every session then builds the project's wheel from a
copy of its sources (an isolated build, as ``pip install`` makes; it must be quiet, with no
``BuildBackendWarning``), installs it with ``--no-deps`` into a venv per install that sees
its layer, and ``pip check`` confirms the dependencies satisfy it. Each install finds the
modules of its own extras (``groundshare.extras``) and of no other.

Every command and group answers ``--help`` from the plain install. Every command runs once
for real on the shipped data, from the install with just the extras it needs (``NEEDS``):
``agent`` from the agent install against a server of the server install, ``schedule plan``
and ``make run``'s ``demo load --plan-days`` from ``make run``'s install; ``track`` drives a
real ``rotctld -m 1`` where Hamlib is installed (CI installs it), else it rehearses without
a rotator. From each install that lacks some of those extras, a real invocation of the
command says which to install (``error: groundshare serve needs the server extra: pip
install 'groundshare[server]'``), with exit status 1, no traceback and nothing done.

``make run`` is run as the Makefile says (``make -n run`` gives its commands, pointed at
its install and a temporary demo folder), twice: the second run adds nothing, prints the
same tokens, keeps the network's clock and books nothing twice.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
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
import tomllib
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "build" / "first-run"
#: Lines pip prints about this machine's index configuration (a find-links folder without some
#: projects), not about groundshare's build.
MACHINE_PIP_NOTES = ("is ignored: it is neither a file nor a directory",)
#: Seconds any one command may take (the slowest is the two-day demo plan of ``make run``).
COMMAND_TIMEOUT_S = 120
#: Seconds a command may take to refuse for want of an extra (it does nothing else).
REFUSAL_TIMEOUT_S = 30
#: Dependency layers made for other requirements are removed once no session has used them for this long.
STALE_AFTER_S = 3600

#: The extras each command needs (README, "Installing"); the core commands need none.
NEEDS: dict[str, tuple[str, ...]] = {
    "passes": (),
    "link budget": (),
    "doppler": (),
    "gnss dop": (),
    "gnss plan": (),
    "leop plan": (),
    "leop identify": (),
    "leop fit": (),
    "db upgrade": ("server",),
    "admin create-org": ("server",),
    "admin create-token": ("server",),
    "demo load": ("server",),
    "demo simulate": ("server", "schedule"),
    "serve": ("server",),
    "schedule solve": ("schedule",),
    "schedule plan": ("server", "schedule"),
    "agent": ("agent",),
    "inhibit": ("agent",),
    "track": ("agent",),
    "frames": ("agent",),
    "elements sync": ("server",),
    "worker": ("server", "schedule"),
    "report": ("server", "report"),
}
#: The extras installed one per venv; "plain" is the install without extras, "run" what ``make run`` installs.
ONE_EXTRA = ("server", "schedule", "agent")


@functools.cache
def _make_run_extras() -> tuple[str, ...]:
    """Return the extras ``make run`` installs: its install line, as ``make -n`` prints it for a new venv."""
    make = shutil.which("make")
    assert make is not None, "make is needed (it is how a new user starts groundshare)"
    done = subprocess.run([make, "--no-print-directory", "-n", "run", "VENV=/nonexistent/venv",
                           "STAMP=/nonexistent/venv/.installed"], cwd=ROOT, capture_output=True, text=True,
                          check=True, timeout=60)
    [line] = [line for line in done.stdout.splitlines() if " pip install " in line and "--upgrade pip" not in line]
    found = re.search(r"-e '?\.(?:\[([\w,]+)\])?'?(\s|$)", line)
    assert found is not None, f"make run installs in a way this test does not read: {line}"
    return tuple(found.group(1).split(",")) if found.group(1) else ()


def _extras(name: str) -> tuple[str, ...]:
    """Return the extras of the install ``name``: none, one, or make run's."""
    if name == "run":
        return _make_run_extras()
    return () if name == "plain" else (name,)


@dataclass
class Install:
    """A venv with one install: its extras, ``bin`` folder, the installed data folder, a work folder and env."""

    name: str
    extras: tuple[str, ...]
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


def _purelib(venv: Path) -> Path:
    code = "import sysconfig; print(sysconfig.get_path('purelib'))"
    return Path(subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True,
                               check=True).stdout.strip())


def _venv_seeing(venv: Path, layers: list[Path]) -> Path:
    """Make a venv without pip whose packages come first, then those of the venvs ``layers`` (and theirs)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    sites = "; ".join(f"site.addsitedir({str(_purelib(layer))!r})" for layer in layers)
    (_purelib(venv) / "groundshare-layers.pth").write_text(f"import site; {sites}\n")
    return venv / "bin" / "python"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (sessions running at once share the dependency layers)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _dependency_layers(tmp: Path) -> dict[str, Path]:
    """Return each install's dependency layer (a venv), made once per set of requirements and ``make run``'s extras."""
    names = ("plain", *ONE_EXTRA, "run")
    project = tomllib.loads(ROOT.joinpath("pyproject.toml").read_text())["project"]
    recipe = ("venv, pip upgraded as the Makefile does, the plain install, groundshare removed; a layer per extra "
              "seeing the plain one; make run's seeing the extras'")
    identity = json.dumps([project.get("dependencies"), project.get("optional-dependencies"), sys.version, recipe,
                           {name: _extras(name) for name in names}], sort_keys=True)
    root = CACHE / f"deps-{hashlib.sha256(identity.encode()).hexdigest()[:16]}"
    layers = {name: root / name for name in names}
    with _locked(CACHE / "lock"):
        if not (root / ".complete").is_file():
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir(parents=True)
            plain = layers["plain"]
            subprocess.run([sys.executable, "-m", "venv", str(plain)], check=True, timeout=300)
            python = plain / "bin" / "python"
            # As the Makefile does: a current pip also shows what the build backend warns about.
            _pip(python, "install", "-q", "--upgrade", "pip")
            _pip(python, "wheel", "--no-deps", "-q", "-w", str(tmp / "deps-wheel"),
                 str(_copy_project(tmp / "deps-source")))
            [wheel] = (tmp / "deps-wheel").glob("groundshare-*.whl")
            _pip(python, "install", "-q", str(wheel))
            _pip(python, "uninstall", "-y", "-q", "groundshare")  # each session installs its own build
            for name in (*ONE_EXTRA, "run"):
                extras = _extras(name)
                below = [layers[e] for e in extras if e in ONE_EXTRA and e != name] or [plain]
                target = _venv_seeing(layers[name], below)
                # Only what the layers below lack lands in this one.
                _pip(python, "install", "-q", f"{wheel}[{','.join(extras)}]" if extras else str(wheel),
                     target=target)
                _pip(python, "uninstall", "-y", "-q", "groundshare", target=target)
            (root / ".complete").write_text("dependencies of the installs, one layer each\n")
        (root / ".complete").touch()  # in use: a session running beside this one keeps it
        for stale in CACHE.glob("deps-*"):  # made for other requirements, and unused for a while
            if stale != root and time.time() - _last_used(stale) > STALE_AFTER_S:
                shutil.rmtree(stale, ignore_errors=True)
    return layers


def _last_used(layers: Path) -> float:
    """Return when a session last used the dependency layers ``layers`` (or began making them)."""
    marker = layers / ".complete"
    return (marker if marker.is_file() else layers).stat().st_mtime


class Installs:
    """The session's installs, each made when first asked for, from one wheel built from the sources."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.layers = _dependency_layers(tmp)
        self.pip = self.layers["plain"] / "bin" / "python"
        # Built by the plain layer's pip (an isolated build, as pip install does).
        self.build = _pip(self.pip, "wheel", "--no-deps", "-q", "-w", str(tmp / "wheels"),
                          str(_copy_project(tmp / "source")))
        [self.wheel] = (tmp / "wheels").glob("groundshare-*.whl")
        self._made: dict[str, Install] = {}

    def __getitem__(self, name: str) -> Install:
        if name not in self._made:
            self._made[name] = self._install(name)
        return self._made[name]

    def for_extras(self, extras: tuple[str, ...]) -> Install:
        """Return the install with just ``extras`` (``make run``'s where none has just them)."""
        name = "plain" if not extras else extras[0] if len(extras) == 1 else "run"
        install = self[name]
        assert set(install.extras) >= set(extras), f"make run installs {install.extras}, not {extras}"
        return install

    def _install(self, name: str) -> Install:
        venv = self.tmp / name
        python = _venv_seeing(venv, [self.layers[name]])
        installed = _pip(self.pip, "install", "--no-deps", "-q", str(self.wheel), target=python)
        check = _pip(self.pip, "check", target=python)
        work = self.tmp / f"work-{name}"
        work.mkdir()
        env = {k: v for k, v in os.environ.items()
               if k not in ("PYTHONPATH", "VIRTUAL_ENV", "GROUNDSHARE_DATABASE_URL", "GROUNDSHARE_TOKEN")}
        env.update(GROUNDSHARE_DATA_DIR=str(work / "data"), PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}")
        install = Install(name=name, extras=_extras(name), bin=venv / "bin", data=Path(), work=work, env=env,
                          pip_output=installed.stdout + installed.stderr, pip_check=check.stdout)
        install.data = Path(install.python("from groundshare.data import data_path; print(data_path('.'))"))
        return install


@pytest.fixture(scope="session")
def installs(tmp_path_factory) -> Installs:
    return Installs(tmp_path_factory.mktemp("first-run"))


@pytest.fixture(scope="session")
def plain(installs: Installs) -> Install:
    return installs["plain"]


def test_the_plain_install_is_quiet_and_complete(installs: Installs, plain: Install) -> None:
    noise = [line for line in (installs.build.stdout + installs.build.stderr + plain.pip_output).splitlines()
             if line.strip() and not any(note in line for note in MACHINE_PIP_NOTES)]
    assert noise == [], "the build printed:\n" + "\n".join(noise)
    # groundshare comes from the venv, not from the checkout.
    location = Path(plain.python("import groundshare; print(groundshare.__file__)"))
    assert plain.bin.parent in location.parents and ROOT not in location.parents
    shipped = sorted(p.name for p in (ROOT / "src/groundshare/data").iterdir()
                     if p.is_file() and p.suffix != ".py" and not p.name.startswith("."))
    assert sorted(p.name for p in plain.data.iterdir() if p.is_file() and p.suffix != ".py") == shipped
    metadata = plain.python("from importlib.metadata import metadata; m = metadata('groundshare'); "
                            "print(m['License-Expression'])")
    assert metadata == "Apache-2.0"


@pytest.mark.parametrize("name", ["plain", *ONE_EXTRA, "run"])
def test_each_install_has_the_modules_of_its_extras_and_no_other(installs: Installs, name: str) -> None:
    install = installs[name]
    assert "No broken requirements found." in install.pip_check, install.pip_check
    found = json.loads(install.python(
        "import json; from importlib.util import find_spec; from groundshare.extras import EXTRAS\n"
        "print(json.dumps({e: [m for m in ms if find_spec(m)] for e, ms in EXTRAS.items()}))"))
    from groundshare.extras import EXTRAS

    assert found == {e: list(modules) if e in install.extras else [] for e, modules in EXTRAS.items()}


# Every command: its --help, one real invocation, and its refusal where its extras are missing.


def _command_tree(install: Install) -> list[str]:
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
    return json.loads(install.python(code))


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


@dataclass
class Served:
    stderr: str = ""


@contextlib.contextmanager
def _serving(argv: list[str], env: dict[str, str], cwd: Path, base: str, token: str) -> Iterator[Served]:
    """Run the server ``argv`` until the block ends; what it printed on stderr is then in the ``Served``."""
    process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    served = Served()
    try:
        _wait_for_server(base, token, process)
        yield served
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        served.stderr = process.stderr.read()


@dataclass
class Network:
    """The demo network loaded by the server install: its database, the printed tokens, and the installs."""

    url: str
    tokens: dict[str, str]
    installs: Installs
    runs: dict[str, subprocess.CompletedProcess[str]] = field(default_factory=dict)


def _ok(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert done.returncode == 0, f"{shlex.join(done.args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    for text in (done.stdout, done.stderr):
        assert "Traceback" not in text and "ModuleNotFoundError" not in text
    return done


@pytest.fixture(scope="session")
def network(installs: Installs) -> Network:
    server = installs["server"]
    url = f"sqlite:///{server.work / 'network.db'}"
    upgraded = _ok(server.run("db", "upgrade", "--database-url", url))
    loaded = _ok(server.run("demo", "load", "--database-url", url))
    tokens = dict(line.split("\t") for line in loaded.stdout.splitlines())
    return Network(url, tokens, installs, {"db upgrade": upgraded, "demo load": loaded})


KARI = "Korea Aerospace Research Institute (KARI)"


def run_passes(install: Install, network: Network) -> None:
    done = _ok(install.run("passes", "-e", str(install.data / "celestrak_cubesat_2025-11-06.tle"),
                         "-s", str(install.data / "demo_stations.toml"), "--start", "2025-11-07T00:00Z",
                         "--days", "0.1", "--format", "json"))
    assert len(json.loads(done.stdout)) > 10 and "passes of" in done.stderr


def run_link_budget(install: Install, network: Network) -> None:
    for name in ("demo_link_uhf.toml", "demo_link_xband_acm.toml"):
        done = _ok(install.run("link", "budget", "--config", str(install.data / name), "--format", "json"))
        assert json.loads(done.stdout)["margin_db"] > 0


def run_doppler(install: Install, network: Network) -> None:
    done = _ok(install.run("doppler", "-e", str(install.data / "celestrak_cubesat_2025-11-06.tle"),
                         "-s", str(install.data / "demo_stations.toml"), "--norad", "44854", "--station", "daejeon",
                         "--start", "2025-11-07T00:00Z", "--days", "1", "--frequency-hz", "437e6", "--step", "60"))
    assert done.stdout.startswith("time_utc,frequency_hz,")


def run_db_upgrade(install: Install, network: Network) -> None:
    assert "(the newest)" in network.runs["db upgrade"].stderr


def run_admin_create_org(install: Install, network: Network) -> None:
    done = _ok(install.run("admin", "create-org", "Agencia Espacial Mexicana", "--kind", "agency",
                         "--database-url", network.url))
    assert done.stdout.strip().isdigit()


def run_admin_create_token(install: Install, network: Network) -> None:
    install.run("admin", "create-org", "Hanbit Ground Co.", "--kind", "company", "--database-url", network.url)
    done = _ok(install.run("admin", "create-token", "--org", "Hanbit Ground Co.", "--role", "operator",
                         "--database-url", network.url))
    assert done.stdout.startswith("gs_")


def run_demo_load(install: Install, network: Network) -> None:
    assert set(network.tokens) >= {KARI} and all(t.startswith("gs_") for t in network.tokens.values())
    assert "network time 2025-11-07T00:0" in network.runs["demo load"].stderr


def run_schedule_solve(install: Install, network: Network) -> None:
    done = _ok(install.run("schedule", "solve", "--problem", str(install.data / "demo_problem.json"),
                         "--time-limit", "20", "--workers", "2"))
    assert json.loads(done.stdout)["status"] == "optimal"


def run_schedule_plan(install: Install, network: Network) -> None:
    done = _ok(install.run("schedule", "plan", "--dry-run", "--days", "0.1", "--time-limit", "5", "--workers", "2",
                         env={"GROUNDSHARE_DATABASE_URL": network.url}))
    assert json.loads(done.stdout)["dry_run"] is True
    assert re.match(rf"planning {re.escape(network.url)}: \d+ organisations, 93 open contact requests", done.stderr)


def run_gnss_dop(install: Install, network: Network) -> None:
    done = _ok(install.run("gnss", "dop", "-e", str(install.data / "celestrak_gps-ops_2026-03-09.tle"),
                         "-e", str(install.data / "celestrak_galileo_2026-03-09.tle"), "--lat-deg", "36.37",
                         "--lon-deg", "127.36", "--alt-m", "70", "--at", "2026-03-09T06:00Z", "--mask-deg", "10",
                         "--format", "json"))
    assert json.loads(done.stdout)["n_visible"] == 18


def run_gnss_plan(install: Install, network: Network) -> None:
    svg = install.work / "dop.svg"
    done = _ok(install.run("gnss", "plan", "-e", str(install.data / "celestrak_gps-ops_2026-03-09.tle"),
                         "--lat-deg", "36.37", "--lon-deg", "127.36", "--start", "2026-03-09T00:00Z", "--hours", "2",
                         "--step-s", "600", "--format", "csv", "--svg", str(svg)))
    assert done.stdout.startswith("time,n_visible,") and svg.read_text().startswith("<svg")


#: A launch cluster of the shipped active catalogue (the Nuri launch of 2025-11-27: CAS500-3 and its CubeSats).
LEOP_LAUNCH = "2025-274"


def _leop_files(install: Install) -> tuple[Path, int, Path]:
    """Write the launch's element sets and receptions of its first member over the demo stations (its passes' TCAs)."""
    lines = (install.data / "celestrak_active_2026-03-19.tle").read_text().splitlines()
    cluster = [lines[i:i + 3] for i in range(0, len(lines) - 2, 3)
               if lines[i + 1].startswith("1 ") and lines[i + 1][9:17].strip().startswith(LEOP_LAUNCH[2:4]
                                                                                         + LEOP_LAUNCH[5:])]
    candidates = install.work / "launch.tle"
    candidates.write_text("".join(line + "\n" for record in cluster for line in record))
    truth = int(cluster[0][2][2:7])
    own = install.work / "own.tle"
    own.write_text("".join(line + "\n" for line in cluster[0]))
    passes = json.loads(_ok(install.run("passes", "-e", str(own), "-s", str(install.data / "demo_stations.toml"),
                                        "--start", "2026-03-19T08:00Z", "--days", "1", "--format", "json")).stdout)
    receptions = install.work / "receptions.csv"
    receptions.write_text("station,received_at\n" + "".join(f"{p['station']},{p['tca']}\n" for p in passes))
    return candidates, truth, receptions


def run_leop_plan(install: Install, network: Network) -> None:
    done = _ok(install.run("leop", "plan", "-e", str(install.data / "celestrak_active_2026-03-19.tle"),
                           "--norad", "66650", "-s", str(install.data / "demo_stations.toml"),
                           "--deploy-uncertainty-s", "600", "--separation-dv-m-s", "0.5", "--hours", "12",
                           "--format", "json"))
    windows = json.loads(done.stdout)
    assert windows and all(w["earliest_aos"] <= w["latest_los"] for w in windows) and "windows over" in done.stderr


def run_leop_identify(install: Install, network: Network) -> None:
    candidates, truth, receptions = _leop_files(install)
    done = _ok(install.run("leop", "identify", "--candidates", str(candidates), "--receptions", str(receptions),
                           "-s", str(install.data / "demo_stations.toml"), "--format", "json"))
    assert json.loads(done.stdout)[0]["norad_id"] == truth


def run_leop_fit(install: Install, network: Network) -> None:
    candidates, truth, receptions = _leop_files(install)
    output = install.work / "fitted.json"
    _ok(install.run("leop", "fit", "--elements", str(candidates), "--norad", str(truth), "--receptions",
                    str(receptions), "-s", str(install.data / "demo_stations.toml"), "--output", str(output)))
    assert output.is_file() and str(truth) in output.read_text()


def run_serve_and_agent(install: Install, network: Network) -> None:
    """Serve from the server install; run the agent from the agent install, as on a station's machine."""
    server, agent = install, network.installs["agent"]
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    argv = [str(server.bin / "groundshare"), "serve", "--port", str(port), "--database-url", network.url]
    with _serving(argv, server.env, server.work, base, network.tokens[KARI]) as served:
        status, me = _get(f"{base}/orgs/me", network.tokens[KARI])
        assert status == 200 and me["org"]["name"] == KARI
        # The agent finds its station, holds the lease, finds no contact, stops.
        done = _ok(agent.run("agent", "--once", "--station", "daejeon", "--api", base, "--journal",
                             str(agent.work / "agent.sqlite"), env={"GROUNDSHARE_TOKEN": network.tokens[KARI]}))
        assert "agent for daejeon stopped after 0 contacts" in done.stderr
        # The operator pulls its satellite's frames (none received yet) from the agent's install.
        pulled = _ok(agent.run("frames", "--satellite", "27844", "--api", base, "--format", "csv",
                               env={"GROUNDSHARE_TOKEN": network.tokens[KARI]}))
        assert pulled.stdout.splitlines()[0].startswith("id,") and len(pulled.stdout.splitlines()) == 1
        assert "0 frames of" in pulled.stderr and "(NORAD 27844)" in pulled.stderr
    # Without the schedule extra the server still serves, and says what its planning runs need.
    assert "warning: POST /schedule/runs (planning runs) needs the schedule extra: pip install " \
           "'groundshare[schedule]'" in served.stderr
    # With the API gone and a journal that never saw the station, it refuses cleanly.
    gone = agent.run("agent", "--once", "--station", "daejeon", "--api", base, "--journal",
                     str(agent.work / "agent-never.sqlite"), env={"GROUNDSHARE_TOKEN": network.tokens[KARI]})
    assert gone.returncode == 1 and "Traceback" not in gone.stderr
    assert "the API cannot be reached" in gone.stderr


def run_worker(install: Install, network: Network) -> None:
    # One cycle; no site answers at the base URL (nothing listens there), which the sync logs, and the cycle completes.
    done = _ok(install.run("worker", "--once", "--source", "celestrak", "--base-url",
                           f"celestrak=http://127.0.0.1:{_free_port()}", "--database-url", network.url))
    assert "worker ran sync:celestrak, webhooks" in done.stderr


def run_elements_sync(install: Install, network: Network) -> None:
    """Sync the demo network's CelesTrak sources (one per CubeSat, by catalog number) from the fake CelesTrak."""
    from tests.support.orbit_sites import OrbitSites

    with OrbitSites() as sites:
        sites.add_tle_file(install.data / "celestrak_cubesat_2025-11-06.tle")
        done = _ok(install.run("elements", "sync", "--source", "celestrak", "--base-url", sites.base_url,
                               "--database-url", network.url))
    assert "celestrak: 93 sources, 93 requests;" in done.stderr and sites.count("gp.php?CATNR=") == 93


def run_track(install: Install, network: Network) -> None:
    args = ["track", "-e", str(install.data / "celestrak_cubesat_2025-11-06.tle"), "-s",
            str(install.data / "demo_stations.toml"), "--station", "daejeon", "--norad", "44854",
            "--start", "2025-11-07T00:00Z", "--speed", "120"]
    rotctld = shutil.which("rotctld")
    if rotctld is None:  # without Hamlib: a rehearsal with no rotator, which still plans and plays the pass
        done = _ok(install.run(*args, "--rotctld", ""))
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
        done = _ok(install.run(*args, "--rotctld", f"127.0.0.1:{port}"))
        outcome = json.loads(done.stdout)
        assert outcome["status"] == "completed" and outcome["execution"]["positions_sent"] > 0
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)


def run_inhibit(install: Install, network: Network) -> None:
    """A station's local transmit inhibit raised, then lifted, beside an agent's journal."""
    journal = install.work / "inhibit-agent.sqlite"
    raised = _ok(install.run("inhibit", "--station", "daejeon", "--journal", str(journal), "--reason", "maintenance"))
    assert "station daejeon: transmission inhibited at" in raised.stderr
    assert json.loads((install.work / "inhibit-agent.sqlite.inhibit").read_text())["reason"] == "maintenance"
    lifted = _ok(install.run("inhibit", "--station", "daejeon", "--journal", str(journal), "--lift"))
    assert "the local transmit inhibit is lifted" in lifted.stderr
    assert not (install.work / "inhibit-agent.sqlite.inhibit").exists()


def run_demo_simulate(install: Install, network: Network) -> None:
    """A day of the demo network simulated in a database of its own (the shared network's clock stays put)."""
    url = f"sqlite:///{install.work / 'simulated.db'}"
    _ok(install.run("db", "upgrade", "--database-url", url))
    _ok(install.run("demo", "load", "--tokens-file", str(install.work / "simulated-tokens.toml"),
                    "--database-url", url))
    done = _ok(install.run("demo", "simulate", "--days", "1", "--seed", "3", "--database-url", url))
    report = json.loads(done.stdout)
    assert (report["start"], report["end"], report["seed"]) == ("2025-11-07T00:00:00.000Z", "2025-11-08T00:00:00.000Z",
                                                                3)
    assert report["contacts_completed"] > 0 and report["frames_new"] > 0
    assert "network time 2025-11-07T00:00:00.000Z -> 2025-11-08T00:00:00.000Z" in done.stderr


def run_report(install: Install, network: Network) -> None:
    """The demo network's report as JSON (the figures) and as a PDF, from make run's install (server and report)."""
    figures = install.work / "report.json"
    done = _ok(install.run("report", "--org", KARI, "--period", "2025-11", "--format", "json", "--output",
                           str(figures), "--database-url", network.url))
    report = json.loads(figures.read_text())
    assert report["organisation"]["name"] == KARI and report["period"]["label"] == "2025-11"
    assert f"report of {KARI} for 2025-11 (json, en) written to" in done.stderr
    document = install.work / "report.pdf"
    _ok(install.run("report", "--org", KARI, "--period", "2025-11", "--lang", "ko", "--output", str(document),
                    "--database-url", network.url))
    assert document.read_bytes().startswith(b"%PDF")


#: One real invocation per command, from the install with just its extras (``agent`` and ``serve`` share one:
#: the agent talks to that server).
REAL: dict[str, Callable[[Install, Network], None]] = {
    "passes": run_passes,
    "link budget": run_link_budget,
    "doppler": run_doppler,
    "db upgrade": run_db_upgrade,
    "admin create-org": run_admin_create_org,
    "admin create-token": run_admin_create_token,
    "demo load": run_demo_load,
    "demo simulate": run_demo_simulate,
    "schedule solve": run_schedule_solve,
    "schedule plan": run_schedule_plan,
    "gnss dop": run_gnss_dop,
    "gnss plan": run_gnss_plan,
    "leop plan": run_leop_plan,
    "leop identify": run_leop_identify,
    "leop fit": run_leop_fit,
    "serve": run_serve_and_agent,
    "agent": run_serve_and_agent,
    "frames": run_serve_and_agent,
    "track": run_track,
    "inhibit": run_inhibit,
    "elements sync": run_elements_sync,
    "worker": run_worker,
    "report": run_report,
}
GROUPS = ("link", "db", "admin", "demo", "schedule", "gnss", "elements", "leop")


def test_every_command_has_a_real_invocation_and_its_extras_here(plain: Install) -> None:
    leaves = {path for path in _command_tree(plain) if path and path not in GROUPS}
    groups = {path.split()[0] for path in leaves if " " in path}
    assert set(GROUPS) >= groups, groups
    assert leaves == set(REAL), "give each command a real invocation in REAL"
    assert leaves == set(NEEDS), "say in NEEDS which extras each command needs"


def test_every_command_and_group_answers_help_without_its_extras(plain: Install) -> None:
    version = _ok(plain.run("--version"))
    assert version.stdout.startswith("groundshare ")
    for path in _command_tree(plain):
        done = _ok(plain.run(*path.split(), "--help"))
        assert "Usage: groundshare" in done.stdout, path


@pytest.mark.parametrize("command", sorted(set(REAL) - {"agent", "frames"}))
def test_every_command_runs_from_the_install_with_its_extras(command: str, installs: Installs,
                                                             network: Network) -> None:
    REAL[command](installs.for_extras(NEEDS[command]), network)


#: A real invocation of each command that refuses for want of an extra, with what it would touch (in the work folder).
REFUSED: dict[str, Callable[[Install], list[str]]] = {
    "db upgrade": lambda i: ["db", "upgrade", "--database-url", f"sqlite:///{i.work / 'untouched.db'}"],
    "admin create-org": lambda i: ["admin", "create-org", "Agencia Espacial Mexicana", "--database-url",
                                   f"sqlite:///{i.work / 'untouched.db'}"],
    "admin create-token": lambda i: ["admin", "create-token", "--org", "Agencia Espacial Mexicana",
                                     "--database-url", f"sqlite:///{i.work / 'untouched.db'}"],
    "demo load": lambda i: ["demo", "load", "--database-url", f"sqlite:///{i.work / 'untouched.db'}"],
    "demo load --plan-days": lambda i: ["demo", "load", "--plan-days", "1", "--database-url",
                                        f"sqlite:///{i.work / 'untouched.db'}"],
    "demo simulate": lambda i: ["demo", "simulate", "--days", "1", "--database-url",
                                f"sqlite:///{i.work / 'untouched.db'}"],
    "serve": lambda i: ["serve", "--port", str(_free_port()), "--database-url", f"sqlite:///{i.work / 'untouched.db'}"],
    "schedule solve": lambda i: ["schedule", "solve", "--problem", str(i.data / "demo_problem.json")],
    "schedule plan": lambda i: ["schedule", "plan", "--dry-run", "--database-url",
                                f"sqlite:///{i.work / 'untouched.db'}"],
    "agent": lambda i: ["agent", "--once", "--station", "daejeon", "--api", f"http://127.0.0.1:{_free_port()}",
                        "--token", "gs_untouched", "--journal", str(i.work / "untouched.sqlite")],
    "inhibit": lambda i: ["inhibit", "--station", "daejeon", "--journal", str(i.work / "untouched.sqlite")],
    "frames": lambda i: ["frames", "--satellite", "44854", "--api", f"http://127.0.0.1:{_free_port()}",
                         "--token", "gs_untouched"],
    "elements sync": lambda i: ["elements", "sync", "--database-url", f"sqlite:///{i.work / 'untouched.db'}"],
    "worker": lambda i: ["worker", "--once", "--database-url", f"sqlite:///{i.work / 'untouched.db'}"],
    "report": lambda i: ["report", "--org", KARI, "--period", "2025-11", "--output", str(i.work / "untouched.pdf"),
                         "--database-url", f"sqlite:///{i.work / 'untouched.db'}"],
    "track": lambda i: ["track", "-e", str(i.data / "celestrak_cubesat_2025-11-06.tle"), "-s",
                        str(i.data / "demo_stations.toml"), "--station", "daejeon", "--norad", "44854",
                        "--start", "2025-11-07T00:00Z", "--speed", "120", "--rotctld", ""],
    "passes --output": lambda i: ["passes", "-e", str(i.data / "celestrak_cubesat_2025-11-06.tle"), "-s",
                                  str(i.data / "demo_stations.toml"), "--start", "2025-11-07T00:00Z", "--days", "0.1",
                                  "--output", str(i.work / "untouched-passes")],
}
#: Commands with an option that needs more than the command does.
NEEDS_WITH_OPTION = {**NEEDS, "demo load --plan-days": ("server", "schedule"), "passes --output": ("parquet",)}
REFUSALS = [(name, command) for name in ("plain", *ONE_EXTRA) for command, needs in NEEDS_WITH_OPTION.items()
            if not set(needs) <= set(_extras(name))]


def test_each_refusal_has_an_invocation() -> None:
    assert {command for _, command in REFUSALS} == set(REFUSED)


@pytest.mark.parametrize(("name", "command"), REFUSALS, ids=[f"{n}-{c}" for n, c in REFUSALS])
def test_a_command_without_its_extras_says_which_to_install(name: str, command: str, installs: Installs) -> None:
    install = installs[name]
    missing = [extra for extra in NEEDS_WITH_OPTION[command] if extra not in install.extras]
    done = install.run(*REFUSED[command](install), timeout=REFUSAL_TIMEOUT_S)
    assert (done.returncode, done.stdout) == (1, ""), done
    assert done.stderr == (f"error: groundshare {command} needs the {' and '.join(missing)} "
                           f"extra{'s' if len(missing) > 1 else ''}: pip install 'groundshare[{','.join(missing)}]'\n")
    assert not list(install.work.glob("untouched*")), "the command did something before it refused"


# ``make run``, twice.


def _make_run_commands(run: Install, demo: Path, port: int) -> list[str]:
    """Return the commands ``make run`` runs, pointed at its install's venv and ``demo`` (``make -n``)."""
    make = shutil.which("make")
    assert make is not None, "make is needed (it is how a new user starts groundshare)"
    done = subprocess.run([make, "--no-print-directory", "-n", "run", "STAMP=", f"VENV={run.bin.parent}",
                           f"DEMO_DIR={demo}", f"DEMO_DATABASE_URL=sqlite:///{demo / 'groundshare.db'}",
                           f"PORT={port}"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60)
    return [line for line in done.stdout.splitlines() if line.strip()]


@dataclass
class MakeRun:
    outputs: list[subprocess.CompletedProcess[str]]
    tokens: dict[str, str]
    database_line: str


def _make_run(run: Install, demo: Path) -> MakeRun:
    port = _free_port()
    commands = _make_run_commands(run, demo, port)
    assert " serve " in commands[-1], commands
    outputs = []
    tokens: dict[str, str] = {}
    database_line = ""
    for command in commands[:-1]:
        done = _ok(subprocess.run(["bash", "-c", command], cwd=ROOT, env=run.env, capture_output=True, text=True,
                                  timeout=COMMAND_TIMEOUT_S))
        outputs.append(done)
        if " demo load " in command:
            tokens = dict(line.split("\t") for line in done.stdout.splitlines())
        if "GROUNDSHARE_DATABASE_URL=" in done.stdout:
            database_line = done.stdout.strip()
    assert tokens, "make run printed no tokens"
    base = f"http://127.0.0.1:{port}"
    with _serving(["bash", "-c", f"exec {commands[-1]}"], run.env, ROOT, base, tokens[KARI]) as served:
        for name, token in tokens.items():
            status, me = _get(f"{base}/orgs/me", token)
            assert status == 200 and me["org"]["name"] == name and me["role"] == "admin"
    assert "warning" not in served.stderr, served.stderr  # it serves everything it offers, planning runs too
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


def test_make_run_twice_keeps_tokens_clock_and_bookings(installs: Installs, tmp_path) -> None:
    run = installs["run"]
    demo = tmp_path / ".demo"
    url = f"sqlite:///{demo / 'groundshare.db'}"
    first = _make_run(run, demo)
    loaded = next(o for o in first.outputs if " demo load " in shlex.join(o.args))
    assert "0 unchanged, 6 new" in loaded.stderr and "contacts booked" in loaded.stderr
    assert "refusal" not in loaded.stderr
    assert stat.S_IMODE((demo / "tokens.toml").stat().st_mode) == 0o600
    contacts, clock = _contacts_and_clock(url)
    assert contacts > 100

    second = _make_run(run, demo)
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
                                                "--time-limit 5 --workers 2"], cwd=run.work, env=run.env,
                                 capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S))
    assert planned.stderr.startswith(f"planning {url}: 6 organisations, 93 open contact requests")
