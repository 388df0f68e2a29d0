"""corten's benchmark suite: corten against numpy, PyTorch, torch.compile, Keras 3 and tf.keras,
each library in a process of its own at its own defaults. Run it with ``python -m corten.bench``
or ``corten-bench``; bench/README.md says how to install the peers and read the table.

The cases are one table (``corten.bench.peers.cases``); the workers that run them, one script
per library, are in ``corten.bench.peers``; ``corten.bench.runner`` starts and alternates them.
"""

from corten.bench.cli import main

__all__ = ["main"]
