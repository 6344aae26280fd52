"""The add-on's bpy-free folders stay bpy-free: every module of ``addon/plan``, ``addon/client``
and ``addon/portable`` imports in a fresh interpreter where ``bpy`` (and Blender's other
modules) and ``torch`` cannot be imported, and no file there names them in an import at any
level (inside functions too, where an import would only fail when it runs)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BPY_FREE = ("plan", "client", "portable")
BLOCKED = ("bpy", "bpy_extras", "mathutils", "bmesh", "gpu", "torch")
"""Blender's modules and torch: the add-on never imports torch, and these folders not even
Blender's."""


def bpy_free_modules() -> list[str]:
    names = []
    for folder in BPY_FREE:
        for path in sorted((ROOT / "addon" / folder).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def imported_roots(path: Path) -> set[str]:
    """The top-level names of every absolute import in ``path`` (at any nesting level)."""
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_the_folders_hold_the_modules_they_should():
    modules = bpy_free_modules()
    assert {"addon.plan.keyreduce", "addon.plan.import_plan", "addon.plan.axes",
            "addon.client.generate_run", "addon.client.job_state",
            "addon.portable.quaternions"} <= set(modules)
    assert not any(m.startswith(("addon.ui", "addon.operators", "addon.scene"))
                   for m in modules)


@pytest.mark.parametrize("folder", BPY_FREE)
def test_no_import_of_bpy_or_torch_in_the_source(folder):
    found = {str(path.relative_to(ROOT)): sorted(imported_roots(path) & set(BLOCKED))
             for path in sorted((ROOT / "addon" / folder).rglob("*.py"))}
    assert found and {path: roots for path, roots in found.items() if roots} == {}


def test_the_source_check_sees_nested_imports(tmp_path):
    """The check above would catch an import of bpy hidden in a function."""
    module = tmp_path / "sneaky.py"
    module.write_text("def f():\n    import bpy.types\n    from torch import nn\n")
    assert imported_roots(module) == {"bpy", "torch"}


def run_blocked(code: str) -> str:
    """Run ``code`` in a fresh interpreter (repository root as the working folder) in which
    importing any of :data:`BLOCKED` raises ImportError; returns its stdout."""
    blocker = textwrap.dedent(f"""
        import sys

        class Blocker:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {BLOCKED!r}:
                    raise ImportError(f"{{name}} is blocked in this test")
                return None

        sys.meta_path.insert(0, Blocker())
    """)
    proc = subprocess.run([sys.executable, "-c", blocker + textwrap.dedent(code)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_every_module_imports_with_bpy_and_torch_blocked():
    out = run_blocked(f"""
        import importlib, json

        failed = {{}}
        for name in {bpy_free_modules()!r}:
            try:
                importlib.import_module(name)
            except Exception as exc:
                failed[name] = f"{{type(exc).__name__}}: {{exc}}"
        print(json.dumps(failed))
    """)
    assert json.loads(out.splitlines()[-1]) == {}


def test_a_blocked_import_does_fail_there():
    out = run_blocked("""
        for name in ("bpy", "torch", "mathutils"):
            try:
                __import__(name)
            except ImportError:
                print("blocked", name)
    """)
    assert out.split("\n")[:3] == ["blocked bpy", "blocked torch", "blocked mathutils"]
