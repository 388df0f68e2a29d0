"""The examples run against the installed package, as a user runs them after the README's
install: none of them puts the checkout's python/ folder on sys.path (that shadowed the
installed corten and failed with a misleading circular-import error)."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.py"))


def _edits_sys_path(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "path" and \
                isinstance(node.value, ast.Name) and node.value.id == "sys":
            return True
    return False


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_does_not_touch_sys_path(path):
    assert not _edits_sys_path(ast.parse(path.read_text())), \
        f"{path.name} edits sys.path; examples must import the installed corten"


def test_tensor_tour_runs_from_another_folder(tmp_path):
    tour = next(p for p in EXAMPLES if p.name == "tensor_tour.py")
    env = dict(os.environ)
    if env.get("PYTHONPATH"):  # a development checkout's relative PYTHONPATH=python
        env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p)
                                            for p in env["PYTHONPATH"].split(os.pathsep))
    done = subprocess.run([sys.executable, str(tour)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
