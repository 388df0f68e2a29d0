"""Where a training step's time goes: ``python -m corten.bench.step_breakdown``.

Compiled steps (the default of ``fit``), per model (the seeds' MLP and VAE, see
``corten.bench.peers.keras_models``), microseconds per step:

- ``fit``: one epoch of ``Model.fit`` divided by its steps (batching, callbacks, logs and
  the step);
- ``step``: one call of the compiled train function on a batch (the plan's replay from
  Python);
- ``nodes``: the sum of the plan's node times (``Function.profile``): the ops' own time, entry
  points and kernels; ``fit / nodes`` is how far the step is from its kernels;
- the node time by kind: GEMMs (``linear``, ``matmul``), optimizer updates, elementwise
  (fused groups included), reductions, random draws, and the rest.

With ``--eager`` the models run eagerly (``run_eagerly=True``) and ``train_step`` is timed
phase by phase instead:

- ``forward``: ``model(x, training=True)`` under the tape;
- ``loss``: ``compute_loss`` (compiled loss, ``add_loss`` terms, the loss tracker);
- ``gradient``: ``tape.gradient`` (the backward kernels and the tape walk);
- ``apply``: ``optimizer.apply_gradients`` (fused C++ updates);
- ``metrics``: ``compute_metrics`` (compiled metrics, the logs dict);
- ``other``: the rest of the step (``trainable_variables``, unpacking) and of ``fit``'s loop
  (batching, callbacks), from the epoch's wall time minus the phases.

The same models 8 units wide throughout (8 input features, 8-unit layers; printed after the
real ones) do almost no arithmetic: their step time is the framework's own cost per step (Python
and C++ dispatch), which the real models pay too.

Each phase is timed with ``time.perf_counter`` around the call, so a phase includes the
Python around its kernels; medians over ``--epochs`` epochs of 64 steps.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import corten
from corten import keras
from corten.bench.peers import keras_models
from corten.bench.peers.cases import BATCH, N_SAMPLES
from corten.keras.trainers import data_adapter

PHASES = ("forward", "loss", "gradient", "apply", "metrics")


def _timed_train_step(clock: dict[str, float]) -> Callable[[Any, Any], dict[str, Any]]:
    """Model.train_step with each phase's time added to ``clock``."""

    def train_step(self, data):
        x, y, sample_weight = data_adapter.unpack_x_y_sample_weight(data)
        with corten.GradientTape() as tape:
            t0 = time.perf_counter()
            y_pred = self(x, training=True)
            t1 = time.perf_counter()
            loss = self.compute_loss(x, y, y_pred, sample_weight)
            t2 = time.perf_counter()
        variables = self.trainable_variables
        t3 = time.perf_counter()
        grads = tape.gradient(loss, variables)
        t4 = time.perf_counter()
        self.optimizer.apply_gradients(zip(grads, variables, strict=False))
        t5 = time.perf_counter()
        logs = self.compute_metrics(x, y, y_pred, sample_weight)
        t6 = time.perf_counter()
        for name, dt in zip(PHASES, (t1 - t0, t2 - t1, t4 - t3, t5 - t4, t6 - t5), strict=False):
            clock[name] += dt
        return logs

    return train_step


def _models(width: int, eager: bool = False) -> dict[str, tuple[Callable[[], keras.Model], Callable[..., Any]]]:
    math = keras_models.tf_math(corten, keras)

    def mlp() -> keras.Model:
        m = keras_models.mlp(keras, width=width)
        m.compile(optimizer=keras.optimizers.RMSprop(),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"], run_eagerly=eager)
        return m

    def vae() -> keras.Model:
        m = keras_models.vae(keras, math, original_dim=784 if width == 64 else width,
                             intermediate_dim=64 if width == 64 else width,
                             latent_dim=32 if width == 64 else width)
        m.compile(keras.optimizers.Adam(learning_rate=1e-3),
                  loss=keras.losses.MeanSquaredError(), run_eagerly=eager)
        return m

    return {"MLP 784-64-64-10 RMSprop": (mlp, lambda m, x, y: m.fit(
                x, y, batch_size=BATCH, epochs=1, verbose=0)),
            "VAE 784-64-32 Adam": (vae, lambda m, x, y: m.fit(
                x, x, batch_size=BATCH, epochs=1, verbose=0))}


def _data() -> tuple[np.ndarray, np.ndarray]:
    (x, y), _ = keras.datasets.mnist_small.load_data()
    return (x[:N_SAMPLES].reshape(N_SAMPLES, 784).astype(np.float32) / 255,
            y[:N_SAMPLES].astype(np.int64))


def breakdown(width: int, epochs: int) -> dict[str, dict[str, float]]:
    """Per model: microseconds per step of each phase, ``other`` and ``total``."""
    keras.utils.set_random_seed(0)
    x, y = _data()
    if width != 64:
        x = np.ascontiguousarray(x[:, :width])
    steps = len(x) // BATCH
    out = {}
    for name, (make, fit) in _models(width, eager=True).items():
        model = make()
        clock = dict.fromkeys(PHASES, 0.0)
        # An instance attribute: the class (shared with the other benchmarks) is untouched.
        model.train_step = _timed_train_step(clock).__get__(model)
        fit(model, x, y)  # warm-up: builds the model and the optimizer slots
        per_epoch: list[dict[str, float]] = []
        for _ in range(epochs):
            for k in clock:
                clock[k] = 0.0
            t0 = time.perf_counter()
            fit(model, x, y)
            total = time.perf_counter() - t0
            row = {k: v / steps * 1e6 for k, v in clock.items()}
            row["other"] = total / steps * 1e6 - sum(row.values())
            row["total"] = total / steps * 1e6
            per_epoch.append(row)
        out[name] = {k: statistics.median(r[k] for r in per_epoch) for k in per_epoch[0]}
    return out


_ELEMENTWISE = {o["name"] for o in corten._C.elementwise_ops()}
KINDS = ("gemm", "update", "elementwise", "reduce", "random", "other")


def _kind(op: str) -> str:
    if op in ("linear", "matmul", "matmul_activation_grad"):
        return "gemm"
    if op.endswith("_update"):
        return "update"
    if op.startswith("fused[") or op in _ELEMENTWISE or op == "where":
        return "elementwise"
    if op.startswith("reduce_") or op == "squared_norm":
        return "reduce"
    if op.startswith("random_") or op in ("dropout", "stateless_dropout"):
        return "random"
    return "other"


def compiled_breakdown(epochs: int,
                       nodes: dict[str, list[tuple[str, float]]] | None = None
                       ) -> dict[str, dict[str, float]]:
    """Per model: microseconds per step of fit, of the train function, of its nodes by kind;
    with ``nodes``, each model's (op, microseconds) per node, in plan order, go there too."""
    keras.utils.set_random_seed(0)
    x, y = _data()
    steps = len(x) // BATCH
    out = {}
    for name, (make, fit) in _models(64).items():
        model = make()
        fit(model, x, y)  # warm-up: traces the step
        walls = []
        for _ in range(epochs):
            t0 = time.perf_counter()
            fit(model, x, y)
            walls.append((time.perf_counter() - t0) / steps * 1e6)
        step_fn = model.make_train_function()
        xb = corten.constant(x[:BATCH])
        batch = (xb, xb) if name.startswith("VAE") else (xb, corten.constant(y[:BATCH]))
        calls = []
        for _ in range(epochs * steps):
            t0 = time.perf_counter()
            step_fn(batch)
            calls.append((time.perf_counter() - t0) * 1e6)
        prof = step_fn.function.profile(batch, runs=epochs * steps)
        row = {"fit": statistics.median(walls), "step": statistics.median(calls),
               "nodes": sum(t for _, t in prof) * 1e6}
        row.update(dict.fromkeys(KINDS, 0.0))
        for op, t in prof:
            row[_kind(op)] += t * 1e6
        row["fit/nodes"] = row["fit"] / row["nodes"]
        row["num_nodes"] = float(len(prof))
        out[name] = row
        if nodes is not None:
            nodes[name] = [(op, t * 1e6) for op, t in prof]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m corten.bench.step_breakdown",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15, help="timed epochs (64 steps each)")
    parser.add_argument("--threads", type=int, default=0, help="0: the library default")
    parser.add_argument("--eager", action="store_true", help="phases of eager steps")
    parser.add_argument("--nodes", action="store_true",
                        help="also list each compiled plan's nodes with their times")
    args = parser.parse_args(argv)
    if args.threads:
        corten.config.threading.set_intra_op_parallelism_threads(args.threads)
    threads = corten.config.threading.get_intra_op_parallelism_threads()
    if not args.eager:
        print(f"# corten {corten.__version__} | kernels {corten.config.get_cpu_isa()} | threads "
              f"{threads} | batch {BATCH} | compiled steps, medians of {args.epochs} epochs of "
              f"{N_SAMPLES // BATCH} steps; microseconds per step")
        cols = ("fit", "step", "nodes", "fit/nodes") + KINDS + ("num_nodes",)
        print(f"{'model':<26} | " + " | ".join(f"{c:>11}" for c in cols))
        per_node: dict[str, list[tuple[str, float]]] | None = {} if args.nodes else None
        for name, row in compiled_breakdown(args.epochs, per_node).items():
            print(f"{name:<26} | " + " | ".join(
                f"{row[c]:11.2f}" if c == "fit/nodes" else f"{row[c]:11.1f}" for c in cols))
        for name, listing in (per_node or {}).items():
            print(f"\n# {name}: node times (Function.profile), microseconds")
            for i, (op, us) in enumerate(listing):
                print(f"{i:4d} {op:<48} {us:8.1f}")
        return 0
    print(f"# corten {corten.__version__} | kernels {corten.config.get_cpu_isa()} | threads "
          f"{threads} | batch {BATCH} | median of {args.epochs} epochs of "
          f"{N_SAMPLES // BATCH} steps; microseconds per step")
    cols = PHASES + ("other", "total")
    print(f"{'model':<34} | {'width':>5} | " + " | ".join(f"{c:>8}" for c in cols))
    for width in (64, 8):
        for name, row in breakdown(width, args.epochs).items():
            label = "real" if width == 64 else "8"
            print(f"{name:<34} | {label:>5} | " + " | ".join(f"{row[c]:8.1f}" for c in cols))
    print("# width 8: the same models 8 units wide throughout (almost no arithmetic): the "
          "framework's own cost per step")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
