"""A toy library for the bench runner's tests: each call sleeps a fixed time.

    python toy_peer.py --peers-dir DIR --threads N --ms 10 [--ms-at-2 4] [--broken]

``--ms-at-2`` is the sleep at 2 threads (so the best thread count differs between toys);
``--broken`` makes setup fail; ``--missing`` makes the import fail, as an absent library.
"""

import sys
import time

sys.path.insert(0, sys.argv[sys.argv.index("--peers-dir") + 1])
import protocol  # noqa: E402

CASE = "toy/sleep 1"


class ToyPeer(protocol.Peer):
    version = "0.0-toy"

    def __init__(self, threads, options):
        super().__init__(threads, options)
        if options.missing:
            raise ImportError("No module named 'toy'")
        self.library = options.name
        self.ms = options.ms_at_2 if threads == 2 and options.ms_at_2 else options.ms

    def cases(self):
        return [CASE]

    def setup(self, case, inputs, data):
        if self.options.broken:
            raise ValueError("toy: broken on purpose")
        seconds = self.ms / 1e3
        return lambda: time.sleep(seconds)


def _arguments(parser):
    parser.add_argument("--peers-dir", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--ms", type=float, required=True)
    parser.add_argument("--ms-at-2", type=float, default=None)
    parser.add_argument("--broken", action="store_true")
    parser.add_argument("--missing", action="store_true")


if __name__ == "__main__":
    protocol.serve(ToyPeer, _arguments)
