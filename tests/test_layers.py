"""The architecture holds: layers (`.importlinter`, also run by `make test`), no import cycles,
and imports only at module level, except where Django wants them (AppConfig.ready)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "scheduler"
# (file, function) pairs allowed to import inside a function.
ALLOWED = {("scheduler/apps.py", "ready")}


def _function_level_imports(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST, function: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(child, child.name)
            elif isinstance(child, ast.Import | ast.ImportFrom) and function is not None:
                found.append((function, child.lineno))
            else:
                visit(child, function)

    visit(tree, None)
    return found


def test_imports_are_at_module_level_except_in_appconfig_ready():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if "/migrations/" in relative:
            continue
        for function, line in _function_level_imports(path):
            if (relative, function) not in ALLOWED:
                offenders.append(f"{relative}:{line} in {function}()")
    assert not offenders, "function-level imports: " + ", ".join(offenders)


def test_the_checker_finds_a_function_level_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import os\n\ndef f():\n    import json\n    return json\n")
    assert _function_level_imports(sample) == [("f", 4)]


def test_the_import_linter_contracts_are_kept():
    """Layers, pure rules and no cycles (the contracts in .importlinter)."""
    linter = Path(sys.executable).parent / "lint-imports"
    done = subprocess.run(
        [str(linter), "--config", str(ROOT / ".importlinter")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 kept, 0 broken" in done.stdout
