"""verifier/ must run where Django is not installed: auditors install only
``cryptography`` and ``rfc8785``."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "verifier"
ALLOWED_THIRD_PARTY = {"cryptography", "rfc8785"}
# Reading audio's content credentials needs c2pa-python, imported inside the functions
# that read, so only `verifier audio` needs it installed.
ALLOWED_LAZILY = {"c2pa"}


def _names(node: ast.AST) -> set[str]:
    if isinstance(node, ast.Import):
        return {alias.name.split(".")[0] for alias in node.names}
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        return {node.module.split(".")[0]}
    return set()


def _imports(path: Path) -> tuple[set[str], set[str]]:
    """(names imported when the module loads, names imported inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nested: set[str] = set()
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(function):
                nested |= _names(node)
    every: set[str] = set()
    for node in ast.walk(tree):
        every |= _names(node)
    return every - nested, nested


def _foreign(names: set[str], allowed: set[str]) -> set[str]:
    return {
        name
        for name in names
        if name not in sys.stdlib_module_names and name not in allowed and name != "verifier"
    }


def test_every_module_imports_only_the_stdlib_cryptography_and_rfc8785() -> None:
    modules = sorted(PACKAGE.glob("*.py"))
    assert len(modules) >= 8
    for module in modules:
        at_load, in_functions = _imports(module)
        assert not _foreign(at_load, ALLOWED_THIRD_PARTY), f"{module.name} imports {at_load}"
        lazily = _foreign(in_functions, ALLOWED_THIRD_PARTY | ALLOWED_LAZILY)
        assert not lazily, f"{module.name} imports {sorted(lazily)}"


def test_importing_the_verifier_loads_no_c2pa() -> None:
    code = (
        "import sys, verifier.cli, verifier.audio\n"
        "assert 'c2pa' not in sys.modules, 'c2pa loaded'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_importing_the_cli_loads_no_django() -> None:
    code = (
        "import sys, verifier, verifier.cli\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'django')\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
