"""The code blocks of the guides in docs/ run as written, each guide's blocks in order in one
namespace (as a reader pastes them)."""

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
GUIDES = ["compiled_functions.md"]


@pytest.mark.parametrize("name", GUIDES)
def test_guide_code_runs(name, capsys):
    text = (DOCS / name).read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks, f"{name} has no python blocks"
    namespace: dict = {}
    for i, block in enumerate(blocks):
        exec(compile(block, f"{name}[block {i}]", "exec"), namespace)  # noqa: S102
    assert "tracing with scale 2.0" in capsys.readouterr().out
