"""What a wheel carries: every page folder is in pyproject.toml's data-files, and every import is declared."""

from __future__ import annotations

import ast
import sys
import tomllib
from fnmatch import fnmatch
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PAGES = ("client_web", "agent_console", "shared_web")


def _project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def test_every_page_file_is_installed_by_a_wheel():
    data_files = _project()["tool"]["setuptools"]["data-files"]
    patterns = [p for patterns in data_files.values() for p in patterns]
    for root in PAGES:
        for path in (REPO / root).rglob("*"):
            if path.is_file() and not path.name.startswith("."):
                relative = path.relative_to(REPO).as_posix()
                assert any(fnmatch(relative, p) and "/" not in relative[len(p.rsplit("/", 1)[0]) + 1:]
                           for p in patterns), f"{relative} is not in pyproject.toml's data-files"


def test_every_third_party_import_of_the_package_is_declared():
    declared = " ".join(_project()["project"]["dependencies"]).lower().replace("-", "_")
    aliases = {"av": "av", "socketio": "python_socketio", "argon2": "argon2_cffi", "prometheus_client": "prometheus_client",
               "sqlalchemy": "sqlalchemy", "yaml": "pyyaml"}
    missing = set()
    for path in (REPO / "signaling").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else [])
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top in ("signaling", "__future__"):
                    continue
                if aliases.get(top, top).lower() not in declared:
                    missing.add(top)
    assert not missing, f"imported but not declared in pyproject.toml: {sorted(missing)}"
