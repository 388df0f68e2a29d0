"""Attention speed (issue 21): MultiHeadAttention forward+backward and keras-io's transformer
text classifier trained with fit(), corten beside PyTorch and tf.keras 2 (see bench/README.md).

    PYTHONPATH=python python bench/attention.py --peer torch=PY --peer tfkeras=PY \\
        [--rounds 5] [--repeats 1] [--threads 1,2] [--profile] [--out bench/results/NAME]

The cases are the suite's own (``python -m corten.bench`` runs them too):

- ``layers/MultiHeadAttention(8, 32) ...``: self-attention, batch 32, d_model 256, 8 heads of
  32, sequences of 128 and 512, float32, the same weights in every library; forward+backward
  is the gradients of sum(y) w.r.t. the input and every weight. corten runs the layer eagerly
  (GradientTape) and, as the library ``corten.function``, inside ``corten.function``; tf.keras
  inside ``tf.function``; PyTorch ``nn.MultiheadAttention(256, 8, batch_first=True)(x, x, x,
  need_weights=False)``, whose training path is ``F.scaled_dot_product_attention``. The
  forward at 128 is checked against numpy in float64 first.
- ``training/fit Transformer text classifier ...``: keras-io's model (``keras_models.py``) on
  2,000 seeded sequences of 200 random ids with random binary labels, batch 32, Adam; PyTorch
  eager trains its twin (``torch_peer.transformer_classifier``). One timed call is one epoch,
  after an untimed one (with ``--repeats 1``: every turn is a warm-up epoch, then the timed
  epoch).

Every library runs in a process of its own at 1 and 2 threads set through its own API,
alternated round by round; this script adds the shared-machine guard: each turn first waits
for the machine to go idle (``--quiet-wait``) and is timed again when other processes used more
than ``--max-others`` CPUs while it ran. ``--profile`` appends where corten's time goes (the
op times of the compiled MHA step and of fit()'s compiled train step, by op) at each thread
count. ``--out NAME`` writes NAME.txt (the table) and NAME.json (the record).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

FILTER = "layers/MultiHeadAttention,training/fit Transformer"
LIBRARIES = "corten,corten.function,torch,tf.keras"


# ----------------------------------------------------------------------------- profile worker

def _group(prof: list[tuple[str, float]]) -> dict[str, Any]:
    by_op: dict[str, float] = {}
    for op, t in prof:
        by_op[op] = by_op.get(op, 0.0) + t
    total = sum(by_op.values())
    top = sorted(by_op.items(), key=lambda kv: -kv[1])
    return {"nodes": len(prof), "ms_in_ops": total * 1e3,
            "ops": [(op, t * 1e3, t / total) for op, t in top]}


def profile_worker(threads: int, runs: int) -> dict[str, Any]:
    """corten's op times: the MHA forward+backward under corten.function (both lengths) and
    fit()'s compiled train step of the transformer classifier."""
    import corten as tf
    import numpy as np
    from corten.bench.peers import keras_models

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.keras.utils.set_random_seed(0)
    out: dict[str, Any] = {"threads": threads, "kernel_isa": tf.config.get_cpu_isa()}
    rng = np.random.default_rng(0)
    for steps in (128, 512):
        x = tf.constant(rng.standard_normal((32, steps, 256)).astype(np.float32))
        layer = tf.keras.layers.MultiHeadAttention(num_heads=8, key_dim=32)
        layer(x, x)
        weights = layer.trainable_weights

        def step(x=x, layer=layer, weights=weights):
            with tf.GradientTape() as tape:
                tape.watch(x)
                loss = tf.reduce_sum(layer(x, x, training=True))
            return [loss, *tape.gradient(loss, [x, *weights])]

        fn = tf.function(step)
        fn()
        calls = []
        for _ in range(runs):
            t0 = time.perf_counter()
            fn()
            calls.append(time.perf_counter() - t0)
        out[f"MHA fwd+bwd t{steps}"] = {"ms_per_call": statistics.median(calls) * 1e3,
                                        **_group(fn.profile(runs=runs))}
    xs, ys = keras_models.synthetic_data(np, "Transformer")
    model = keras_models.transformer_classifier(tf.keras, keras_models.tf_math(tf, tf.keras))
    t0 = time.perf_counter()
    model.fit(xs, ys, batch_size=32, epochs=1, verbose=0)
    warm = time.perf_counter() - t0
    t0 = time.perf_counter()
    model.fit(xs, ys, batch_size=32, epochs=1, verbose=0)
    epoch = time.perf_counter() - t0
    train = model.make_train_function()
    batch = (tf.constant(xs[:32]), tf.constant(ys[:32]))
    out["fit Transformer train step"] = {
        "warmup_epoch_s": warm, "epoch_s": epoch, "ms_per_step_in_fit": epoch / 63 * 1e3,
        **_group(train.function.profile(batch, runs=runs))}
    return out


def format_profile(records: list[dict[str, Any]], top: int = 8) -> str:
    lines = ["## where corten's time goes: op times of the compiled steps (Function.profile, "
             "mean of the runs), by op, largest first"]
    for rec in records:
        for name, r in rec.items():
            if not isinstance(r, dict):
                continue
            wall = (f"{r['ms_per_call']:.1f} ms per call" if "ms_per_call" in r
                    else f"{r['ms_per_step_in_fit']:.1f} ms per step in fit()")
            lines.append(f"#  {name}, {rec['threads']} thr: {wall}, {r['ms_in_ops']:.1f} ms "
                         f"in {r['nodes']} nodes")
            lines.append("#    " + ", ".join(f"{op} {ms:.1f} ms ({share:.0%})"
                                             for op, ms, share in r["ops"][:top]))
    return "\n".join(lines)


# ------------------------------------------------------------------------------------ parent

def library_state() -> dict[str, Any]:
    """The commit and corten's extension file (size, modification time): a run during which
    either changed timed two builds, and says so."""
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, cwd=here, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        head = "unknown"
    package = os.path.join(here, "..", "python", "corten")
    ext = sorted(f for f in os.listdir(package) if f.startswith("_C.") and f.endswith(".so"))
    stat = [os.stat(os.path.join(package, f)) for f in ext]
    return {"commit": head, "extension": [(f, st.st_size, st.st_mtime)
                                          for f, st in zip(ext, stat, strict=True)]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer", action="append", default=[], metavar="NAME=PYTHON",
                        help="torch=PY, tfkeras=PY (as python -m corten.bench takes them)")
    parser.add_argument("--filter", default=FILTER, help="case keys (default: all of this "
                        "bench's cases)")
    parser.add_argument("--libraries", default=LIBRARIES)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=1,
                        help="timed samples per turn, after one untimed call")
    parser.add_argument("--quiet-wait", type=float, default=300)
    parser.add_argument("--max-others", type=float, default=0.2)
    parser.add_argument("--retries", type=int, default=3)
    parser.add_argument("--profile", action="store_true",
                        help="append corten's op-time breakdown at each thread count")
    parser.add_argument("--profile-runs", type=int, default=10)
    parser.add_argument("--profile-worker", type=int, metavar="THREADS", help=argparse.SUPPRESS)
    parser.add_argument("--no-bench", action="store_true", help="only the --profile part")
    parser.add_argument("--out", help="write OUT.txt and OUT.json")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    if args.profile_worker is not None:
        print(json.dumps(profile_worker(args.profile_worker, args.profile_runs)))
        return 0

    from corten.bench import cli, quiet

    text, record = "", {}
    before = library_state()
    if not args.no_bench:
        argv = ["--filter", args.filter, "--libraries", args.libraries, "--threads",
                args.threads, "--rounds", str(args.rounds), "--repeats", str(args.repeats),
                "--quiet-wait", str(args.quiet_wait), "--max-others", str(args.max_others),
                "--retries", str(args.retries)]
        for p in args.peer:
            argv += ["--peer", p]
        if args.verbose:
            argv.append("--verbose")
        json_path = (args.out + ".json") if args.out else os.devnull
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            cli.main([*argv, "--json", json_path])
        text = buffer.getvalue().rstrip("\n")
        print(text, flush=True)
        if args.out:
            with open(json_path) as f:
                record = json.load(f)
    if args.profile:
        records = []
        for threads in (int(t) for t in args.threads.split(",")):
            quiet.wait_for_quiet(args.quiet_wait)
            done = subprocess.run([sys.executable, os.path.abspath(__file__), "--profile-worker",
                                   str(threads), "--profile-runs", str(args.profile_runs)],
                                  capture_output=True, text=True, check=True)
            records.append(json.loads(done.stdout.strip().splitlines()[-1]))
        block = format_profile(records)
        print("\n" + block)
        text = (text + "\n\n" + block) if text else block
        record["corten_profile"] = records
    after = library_state()
    record["library_state"] = {"before": before, "after": after}
    if after != before:
        warning = (f"# WARNING: corten changed during the run (commit {before['commit']} -> "
                   f"{after['commit']}, extension {before['extension']} -> "
                   f"{after['extension']}): the figures mix two builds")
        print(warning)
        text += "\n" + warning
    if args.out:
        with open(args.out + ".txt", "w") as f:
            f.write(text + "\n")
        with open(args.out + ".json", "w") as f:
            json.dump(record, f, indent=1)
            f.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
