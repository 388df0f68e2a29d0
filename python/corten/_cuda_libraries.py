"""Where the CUDA build finds the NVIDIA libraries it loads at run time (cuBLASLt): the
directories of the ``nvidia-cublas`` wheel (the ``cuda`` extra), found through the installed
package's file list so that any wheel layout works, then the system's loader path."""

from __future__ import annotations

import importlib.metadata
import os

#: The wheels whose shared libraries the CUDA build may load.
WHEELS = ("nvidia-cublas",)


def wheel_library_dirs() -> list[str]:
    """The directories holding the shared libraries of the installed NVIDIA wheels."""
    dirs: list[str] = []
    for wheel in WHEELS:
        try:
            files = importlib.metadata.files(wheel) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for f in files:
            if ".so" in f.name and f.name.startswith("lib"):
                d = os.path.dirname(str(f.locate()))
                if d not in dirs:
                    dirs.append(d)
    return dirs
