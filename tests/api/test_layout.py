"""The API package's layout: routes translate, and share nothing with each other directly.

A module in ``api/routes`` declares one router and imports no other route module: what
routes share (parameter types, pass queries, the clock, schemas and their mappers) lives
beside them in ``api/`` and ``api/schemas``.  Checked on the import statements (``ast``,
so imports inside functions count too).
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest
from fastapi import APIRouter

import groundshare.api.routes
import groundshare.api.schemas

ROUTES = Path(groundshare.api.routes.__file__).parent
SCHEMAS = Path(groundshare.api.schemas.__file__).parent
ROUTE_MODULES = sorted(path.stem for path in ROUTES.glob("*.py") if path.stem != "__init__")


def _imported_modules(path: Path) -> set[str]:
    """Return every module ``path`` imports, with ``from X import y`` also counted as ``X.y``."""
    package = "groundshare.api.routes"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(part for part in (base, node.module or "") if part)
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


@pytest.mark.parametrize("name", ROUTE_MODULES)
def test_a_route_module_imports_no_other_route_module(name):
    others = sorted(module for module in _imported_modules(ROUTES / f"{name}.py")
                    if module.startswith("groundshare.api.routes.") and module.split(".")[3] != name)
    assert not others, f"api/routes/{name}.py imports {others}; move what routes share out of api/routes"


def test_the_import_check_sees_every_spelling(tmp_path):
    path = tmp_path / "probe.py"
    path.write_text("from groundshare.api.routes.passes import x\nfrom . import clock\n"
                    "from .params import PathId\nimport groundshare.api.routes.contacts\n", encoding="utf-8")
    found = _imported_modules(path)
    assert {"groundshare.api.routes.passes", "groundshare.api.routes.clock", "groundshare.api.routes.params",
            "groundshare.api.routes.contacts"} <= found


@pytest.mark.parametrize("name", ROUTE_MODULES)
def test_every_route_module_is_a_router(name):
    module = importlib.import_module(f"groundshare.api.routes.{name}")
    assert isinstance(getattr(module, "router", None), APIRouter), (
        f"api/routes/{name}.py declares no router; shared pieces belong in api/ (not api/routes)")
    assert module.router.routes, f"api/routes/{name}.py declares no routes"


def test_schemas_re_exports_every_class_and_mapper_of_its_modules():
    missing = []
    for path in sorted(SCHEMAS.glob("*.py")):
        if path.stem == "__init__":
            continue
        module = importlib.import_module(f"groundshare.api.schemas.{path.stem}")
        own = [name for name, value in vars(module).items()
               if name.isidentifier() and not name.startswith("_")
               and (inspect.isclass(value) or inspect.isfunction(value)) and value.__module__ == module.__name__]
        missing += [f"{path.stem}.{name}" for name in own if name not in groundshare.api.schemas.__all__]
    assert not missing, f"add {missing} to groundshare.api.schemas (__init__ and __all__)"
