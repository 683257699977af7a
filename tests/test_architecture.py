"""The house's shape, checked: the import-linter contracts hold (layers, no cycles, pages away from the database),
and they really catch a page that imports the store; modules and functions stay small (ARCHITECTURE.md)."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("minutes", "ui", "diarize", "exports")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` on the project copy at ``root`` (its own packages first on the path)."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def project_copy(tmp_path_factory) -> Path:
    """The packages and pyproject.toml copied to a temp folder, to break on purpose."""
    root = tmp_path_factory.mktemp("project")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", root)
    return root


def test_contracts_are_kept():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def _add_line(path: Path, line: str) -> str:
    original = path.read_text()
    path.write_text(original.replace("\nimport streamlit as st\n", f"\nimport streamlit as st\n{line}\n", 1))
    return original


@pytest.mark.parametrize(
    ("file", "line", "broken"),
    [
        ("ui/pages/meetings.py", "from minutes.store import tables", "Pages never reach the database"),
        ("ui/pages/meetings.py", "import sqlmodel", "Pages never reach the database"),
        ("ui/state.py", "from minutes.store.engine import make_engine", "Pages never reach the database"),
    ],
)
def test_a_page_importing_the_store_breaks_the_contracts(project_copy, file, line, broken):
    target = project_copy / file
    original = _add_line(target, line)
    try:
        result = lint_imports(project_copy)
    finally:
        target.write_text(original)
    assert result.returncode != 0
    assert f"{broken}" in result.stdout and "BROKEN" in result.stdout


def test_a_service_importing_a_page_or_a_cycle_breaks_the_contracts(project_copy):
    store = project_copy / "minutes/store/meetings.py"
    original = store.read_text()
    store.write_text(original + "\nfrom minutes.services import permissions  # noqa\n")
    try:
        result = lint_imports(project_copy)
    finally:
        store.write_text(original)
    assert result.returncode != 0
    assert "Interfaces (pages, CLI) → services → store BROKEN" in result.stdout
    assert "No import cycles between sibling modules, at any depth BROKEN" in result.stdout


def _sources() -> list[Path]:
    return [
        path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if "migrations" not in path.parts and "templates" not in path.parts
    ]


def test_modules_stay_small():
    long = {str(p.relative_to(ROOT)): n for p in _sources() if (n := len(p.read_text().splitlines())) > 500}
    assert not long, f"modules over 500 lines (split them by concern): {long}"


def test_functions_stay_short():
    long = {}
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno - node.lineno >= 80:
                long[f"{path.relative_to(ROOT)}:{node.name}"] = node.end_lineno - node.lineno + 1
    assert not long, f"functions over 80 lines: {long}"


def test_no_import_inside_a_function_of_the_product():
    """Imports sit at the top of each module, where the contracts see them plainly. The exceptions are heavy
    libraries loaded on first use, so that the app and the CLI start fast (named here): the models' (torch, pyannote,
    faster-whisper and diarize's modules built on them), the materials' readers, jiwer (benchmarks only), and Celery
    (an optional extra, loaded only when MINUTES_QUEUE_URL is set)."""
    lazy_allowed = {
        "faster_whisper", "torch", "pyannote", "ctranslate2", "diarize", "PIL", "docx", "pypdfium2", "openpyxl",
        "pptx", "jiwer", "celery", "kombu",
    }  # fmt: skip
    found = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    names = [inner.module] if isinstance(inner, ast.ImportFrom) else [a.name for a in inner.names]
                    for name in names:
                        if (name or "").split(".")[0] not in lazy_allowed:
                            found.append(f"{path.relative_to(ROOT)}:{inner.lineno} {name}")
    assert not found, f"imports inside functions: {found}"
