"""The dashboard's shipped files: vendored copies match their recorded hashes, and the wheel carries them all."""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path

from groundshare.web import static_dir

REPO_ROOT = Path(__file__).resolve().parents[2]
VENDOR = static_dir() / "vendor"


def recorded_hashes() -> dict[str, str]:
    """Return path -> SHA-256 from the ``text`` block of ``vendor/README.md``."""
    readme = (VENDOR / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```text\n(.*?)```", readme, re.DOTALL)
    assert block, "vendor/README.md should list the SHA-256 of each copied file in a ```text block"
    return {name: digest for digest, name in (line.split() for line in block.group(1).splitlines() if line.strip())}


def test_vendored_files_match_the_hashes_in_the_readme() -> None:
    hashes = recorded_hashes()
    assert {"swagger-ui/swagger-ui-bundle.js", "swagger-ui/swagger-ui.css", "d3/d3.min.js"} <= hashes.keys()
    for name, digest in hashes.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, f"vendor/{name} changed"
    for folder in (p for p in VENDOR.iterdir() if p.is_dir()):
        assert (folder / "LICENSE").is_file(), f"vendor/{folder.name} has no LICENSE"


def test_package_data_carries_every_static_file() -> None:
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    package = REPO_ROOT / "src" / "groundshare"
    shipped = {path for pattern in pyproject["tool"]["setuptools"]["package-data"]["groundshare"]
               for path in package.glob(pattern) if path.is_file()}
    missing = [str(p.relative_to(package)) for p in static_dir().rglob("*") if p.is_file() and p not in shipped]
    assert missing == []
