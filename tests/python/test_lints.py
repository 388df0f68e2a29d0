"""Two grep lints over the C++ sources (the layering rules of the style guide):
pybind11 stays in csrc/bindings/, and library code never ends the host process."""

import re
from pathlib import Path

import pytest

CSRC = Path(__file__).resolve().parents[2] / "csrc"
SOURCES = sorted(p for p in CSRC.rglob("*") if p.suffix in {".h", ".cpp", ".inc", ".cu", ".cuh"})


@pytest.mark.skipif(not SOURCES, reason="run from a source checkout (csrc/ is not installed)")
def test_pybind11_is_included_only_in_the_bindings():
    offenders = [str(p.relative_to(CSRC)) for p in SOURCES
                 if "#include <pybind11/" in p.read_text() and p.parent.name != "bindings"]
    assert not offenders, f"pybind11 included outside csrc/bindings/: {offenders}"


_ENDS_PROCESS = re.compile(r"(?<![\w.:])(std::)?(abort|exit|_Exit|quick_exit)\s*\(")


@pytest.mark.skipif(not SOURCES, reason="run from a source checkout (csrc/ is not installed)")
def test_library_code_never_ends_the_process():
    offenders = []
    for p in SOURCES:
        for n, line in enumerate(p.read_text().splitlines(), 1):
            code = line.split("//", 1)[0]
            if _ENDS_PROCESS.search(code):
                offenders.append(f"{p.relative_to(CSRC)}:{n}: {line.strip()}")
    assert not offenders, "abort()/exit() in csrc/ (throw instead):\n" + "\n".join(offenders)


def test_the_lints_see_a_violation(tmp_path):
    assert _ENDS_PROCESS.search("  std::abort();")
    assert _ENDS_PROCESS.search("if (x) exit(1);")
    assert not _ENDS_PROCESS.search("on_exit(handler);  atexit(f); x.exit();")
