"""numpy in a process of its own (see protocol.py): the kernel cases.

numpy has no thread setting of its own; its BLAS threads (matmul) are set through
threadpoolctl when that is installed, else numpy runs at its default and says so.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import cases
import protocol


class NumpyPeer(protocol.Peer):
    library = "numpy"

    def __init__(self, threads: int, options: argparse.Namespace) -> None:
        super().__init__(threads, options)
        import numpy as np

        self.np = np
        self.version = np.__version__
        self._blas = "default threads (threadpoolctl not installed)"
        try:
            from threadpoolctl import threadpool_info, threadpool_limits
        except ImportError:
            return
        self._limits = threadpool_limits(threads)
        blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        if blas:
            b = blas[0]
            self._blas = (f"{b.get('internal_api')} {b.get('version')} "
                          f"({b.get('architecture')}), threads set by threadpoolctl")

    def cases(self) -> list[str]:
        return cases.cases_for(self.library)

    def extra(self) -> dict[str, Any]:
        return {"blas": self._blas}

    def setup(self, case: str, inputs: list[Any], data: str | None) -> Callable[[], Any]:
        return cases.kernel_call(cases.BY_KEY[case], self.library, self.np, inputs)


if __name__ == "__main__":
    protocol.serve(NumpyPeer)
