"""The layout's rules, read from the source: what may import what (README, "Architecture").

Data flows orbits -> passes -> link -> schedule -> store/api -> agent -> web, and imports
point left: the numeric core runs without a database or a web server, the store knows
tables and never HTTP, and the station agent talks to the service over HTTP only (that a
route never imports another route is ``tests/api/test_layout.py``'s).  Each rule is
checked on the import statements of every module (``ast``, so imports inside functions
count too).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import groundshare

PACKAGE = Path(groundshare.__file__).parent

#: The numeric core (and the small shared modules it stands on): no database, no web, no service.
CORE = ("orbits", "passes", "link", "schedule", "gnss", "units", "timeutil", "errors", "tomlfile", "parallel",
        "stations", "contact", "roles", "extras", "data", "telemetry", "frames", "sources", "satnogs",
        "leop")
#: Top-level parts each part must never import.
FORBIDDEN: dict[str, frozenset[str]] = {
    **{part: frozenset({"store", "api", "web", "agent", "cli"}) for part in CORE},
    "store": frozenset({"api", "web", "agent", "cli"}),
    # The executive report reads the store (figures) and renders documents; the API and the CLI call it.
    "report": frozenset({"api", "web", "agent", "cli"}),
    "agent": frozenset({"store", "api", "web", "cli"}),
    "api": frozenset({"agent", "cli"}),
    "web": frozenset({"store", "agent", "cli"}),
}


def _modules() -> list[tuple[str, Path]]:
    return sorted((".".join(path.relative_to(PACKAGE).with_suffix("").parts), path)
                  for path in PACKAGE.rglob("*.py"))


def _imports(path: Path) -> set[str]:
    """Return every ``groundshare...`` module the file imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = ".".join(("groundshare", *path.relative_to(PACKAGE).parent.parts))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return {name for name in found if name == "groundshare" or name.startswith("groundshare.")}


def _part(module: str) -> str:
    """Return the top-level part of ``groundshare.<part>...`` ("" for the package itself)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


@pytest.mark.parametrize(("module", "path"), _modules(), ids=[m for m, _ in _modules()])
def test_imports_point_left(module: str, path: Path) -> None:
    own = module.split(".")[0]
    forbidden = FORBIDDEN.get(own, frozenset())
    wrong = sorted(name for name in _imports(path) if _part(name) in forbidden)
    assert not wrong, f"groundshare.{module} imports {wrong}; {own} must not import {sorted(forbidden)}"


def test_the_core_imports_without_a_database_or_web_server() -> None:
    """Predicting passes needs neither SQLAlchemy nor FastAPI, nor a solver, nor an HTTP client."""
    core = [f"groundshare.{part}" for part in ("orbits", "passes", "link", "gnss", "stations", "timeutil")]
    code = ("import sys\n" + "".join(f"import {name}\n" for name in core)
            + "print(sorted({m.split('.')[0] for m in sys.modules} & {'sqlalchemy', 'fastapi', 'starlette', "
            "'ortools', 'httpx', 'uvicorn', 'alembic', 'psycopg'}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "[]", done.stdout


TESTS = Path(__file__).resolve().parent
BENCH = TESTS.parent / "bench"


def _test_imports(path: Path) -> set[str]:
    """Return the ``tests...`` modules a test or bench file imports (a relative import counts as one)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.add("." * node.level + (node.module or ""))
    return {name for name in found if name.startswith(".") or name == "tests" or name.startswith("tests.")}


def test_tests_and_benches_share_code_only_through_tests_support() -> None:
    """A test module, conftest or bench imports another test file's code only from ``tests.support``."""
    wrong = []
    for path in sorted([*TESTS.rglob("*.py"), *BENCH.glob("*.py")]):
        inside_support = path.is_relative_to(TESTS / "support")
        for name in _test_imports(path):
            if name.startswith(".") and inside_support:
                continue  # tests/support's modules build on each other
            if not (name == "tests.support" or name.startswith("tests.support.")):
                wrong.append(f"{path.relative_to(TESTS.parent)} imports {name}")
    assert wrong == [], "import shared test code from tests/support instead:\n" + "\n".join(wrong)


def test_conftest_files_hold_only_fixtures_and_hooks() -> None:
    """What more than one test file needs, other than a fixture, lives in ``tests/support``."""
    wrong = []
    for path in sorted(TESTS.rglob("conftest.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef):
                decorators = [ast.unparse(d) for d in node.decorator_list]
                if node.name.startswith("pytest_") or any(d.startswith("pytest.fixture") for d in decorators):
                    continue
            elif isinstance(node, ast.Import | ast.ImportFrom) or (
                    isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):  # imports, the docstring
                continue
            wrong.append(f"{path.relative_to(TESTS.parent)} line {node.lineno}: {ast.unparse(node).splitlines()[0]}")
    assert wrong == [], "move these to tests/support:\n" + "\n".join(wrong)
