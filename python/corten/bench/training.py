"""Training benchmarks: throughput of ``Model.fit()`` for the seeds' models, and ``predict()``
on one small batch against calling the model.

Cases (group ``training``; run them with ``python -m corten.bench --filter training``):

- ``fit MLP``: the seeds' digits MLP (784-64-64-10, ReLU, logits), RMSprop, sparse categorical
  cross-entropy from logits, accuracy metric, batch 64, on 4,096 images of the bundled MNIST
  subset: one fit() epoch (64 steps, shuffled) per timed run.
- ``fit VAE``: the custom-layers guide's subclassed VAE (784-64-32, KL loss via add_loss),
  Adam 1e-3, MSE, batch 64, same images.
- ``predict MLP`` / ``call MLP``: ``model.predict(x)`` and ``model(x)`` on one in-memory batch of
  32 images (predict goes through the data adapter and the predict loop; the target is within
  2x of the direct call).

PyTorch runs the same architectures with an eager loop (``torch.optim.RMSprop(alpha=0.9,
eps=1e-7)`` and ``Adam(eps=1e-7)``, Keras's defaults; the same shuffling, batching, metric and
loss terms). Keras 3 on its torch backend is timed too when importable (``keras`` >= 3 and
torch); otherwise the extras say "not installed".

These cases measure whole epochs themselves (the ``run(args)`` contract of gemm.py) rather than
yielding :class:`Case` objects, since a fit() epoch is not a pure function to call in a loop and
their throughput (samples/s) is reported next to the per-step times: ``corten ms`` and
``torch ms`` are per training step (fit cases) or per call (predict/call cases); the extras line
gives samples/s for each library. Each library is timed ``--repeats`` epochs per round, rounds
interleaved (``--rounds``), median of medians, after one warm-up epoch.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import corten as tf
from corten import keras
from corten.bench.core import Result, register
from corten.keras import layers

GROUP = "training"
N_SAMPLES = 4096
BATCH = 64
PREDICT_BATCH = 32


# --- models ---------------------------------------------------------------------------------

class MLP(keras.Model):
    """The seeds' digits MLP: 784 -> 64 -> 64 -> 10, ReLU, logits."""

    def __init__(self, num_classes: int = 10, **kwargs):
        super().__init__(**kwargs)
        self.dense_1 = layers.Dense(64, activation="relu")
        self.dense_2 = layers.Dense(64, activation="relu")
        self.classifier = layers.Dense(num_classes)

    def call(self, inputs):
        return self.classifier(self.dense_2(self.dense_1(inputs)))


class Sampling(layers.Layer):
    def call(self, inputs):
        z_mean, z_log_var = inputs
        epsilon = keras.backend.random_normal(shape=(tf.shape(z_mean)[0], tf.shape(z_mean)[1]))
        return z_mean + tf.exp(0.5 * z_log_var) * epsilon


class VAE(keras.Model):
    """The guide's VariationalAutoEncoder (784-64-32), encoder and decoder flattened."""

    def __init__(self, original_dim: int = 784, intermediate_dim: int = 64,
                 latent_dim: int = 32, **kwargs):
        super().__init__(**kwargs)
        self.enc = layers.Dense(intermediate_dim, activation="relu")
        self.mean = layers.Dense(latent_dim)
        self.log_var = layers.Dense(latent_dim)
        self.sampling = Sampling()
        self.dec = layers.Dense(intermediate_dim, activation="relu")
        self.out = layers.Dense(original_dim, activation="sigmoid")

    def call(self, inputs):
        h = self.enc(inputs)
        z_mean, z_log_var = self.mean(h), self.log_var(h)
        z = self.sampling((z_mean, z_log_var))
        self.add_loss(-0.5 * tf.reduce_mean(z_log_var - tf.square(z_mean) - tf.exp(z_log_var)
                                            + 1))
        return self.out(self.dec(z))


def _data():
    (x, y), _ = keras.datasets.mnist_small.load_data()
    x = x[:N_SAMPLES].reshape(N_SAMPLES, 784).astype(np.float32) / 255
    return x, y[:N_SAMPLES].astype(np.int64)


# --- corten ---------------------------------------------------------------------------------

def _corten_fit_mlp(x, y):
    model = MLP()
    model.compile(optimizer=keras.optimizers.RMSprop(),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return lambda: model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)


def _corten_fit_vae(x):
    model = VAE()
    model.compile(keras.optimizers.Adam(learning_rate=1e-3), loss=keras.losses.MeanSquaredError())
    return lambda: model.fit(x, x, batch_size=BATCH, epochs=1, verbose=0)


# --- PyTorch --------------------------------------------------------------------------------

def _torch_fit_mlp(torch, x, y):
    nn = torch.nn
    model = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                          nn.Linear(64, 10))
    opt = torch.optim.RMSprop(model.parameters(), lr=1e-3, alpha=0.9, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)

    def epoch():
        perm = torch.randperm(len(tx))
        total = torch.zeros(())
        correct = torch.zeros((), dtype=torch.int64)
        for i in range(0, len(tx), BATCH):
            idx = perm[i:i + BATCH]
            xb, yb = tx[idx], ty[idx]
            opt.zero_grad()
            logits = model(xb)
            loss = loss_fn(logits, yb)
            loss.backward()
            opt.step()
            with torch.no_grad():  # the running loss and accuracy, as fit() keeps them
                total += loss.detach()
                correct += (logits.argmax(-1) == yb).sum()
        return float(total), int(correct)

    return epoch


def _torch_fit_vae(torch, x):
    nn = torch.nn

    class TorchVAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc, self.mean, self.log_var = nn.Linear(784, 64), nn.Linear(64, 32), \
                nn.Linear(64, 32)
            self.dec, self.out = nn.Linear(32, 64), nn.Linear(64, 784)

        def forward(self, inputs):
            h = torch.relu(self.enc(inputs))
            z_mean, z_log_var = self.mean(h), self.log_var(h)
            z = z_mean + torch.exp(0.5 * z_log_var) * torch.randn_like(z_mean)
            kl = -0.5 * torch.mean(z_log_var - z_mean.square() - z_log_var.exp() + 1)
            return torch.sigmoid(self.out(torch.relu(self.dec(z)))), kl

    model = TorchVAE()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    tx = torch.from_numpy(x)

    def epoch():
        perm = torch.randperm(len(tx))
        total = torch.zeros(())
        for i in range(0, len(tx), BATCH):
            xb = tx[perm[i:i + BATCH]]
            opt.zero_grad()
            recon, kl = model(xb)
            loss = torch.mean((recon - xb) ** 2) + kl
            loss.backward()
            opt.step()
            with torch.no_grad():
                total += loss.detach()
        return float(total)

    return epoch


# --- Keras 3 on the torch backend (optional) ------------------------------------------------

def _keras3(torch):
    """Keras 3's module on the torch backend, or a string saying why not."""
    if torch is None:
        return "not installed (torch missing)"
    import importlib.util
    if importlib.util.find_spec("keras") is None:
        return "not installed"
    os.environ.setdefault("KERAS_BACKEND", "torch")
    try:
        import keras as k3
    except Exception as e:  # a broken install must not take the suite down
        return f"not importable ({type(e).__name__})"
    if not k3.__version__.startswith("3") or k3.backend.backend() != "torch":
        return f"unusable (keras {k3.__version__}, backend {k3.backend.backend()})"
    return k3


def _keras3_fit_mlp(k3, x, y):
    model = k3.Sequential([k3.Input((784,)), k3.layers.Dense(64, activation="relu"),
                           k3.layers.Dense(64, activation="relu"), k3.layers.Dense(10)])
    model.compile(optimizer=k3.optimizers.RMSprop(),
                  loss=k3.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return lambda: model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)


def _keras3_fit_vae(k3, x):
    """The guide's VAE written for Keras 3: the same layers, the KL term through add_loss."""

    class Sampling(k3.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.seed_generator = k3.random.SeedGenerator(0)

        def call(self, inputs):
            z_mean, z_log_var = inputs
            epsilon = k3.random.normal(k3.ops.shape(z_mean), seed=self.seed_generator)
            return z_mean + k3.ops.exp(0.5 * z_log_var) * epsilon

    class Keras3VAE(k3.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.enc = k3.layers.Dense(64, activation="relu")
            self.mean = k3.layers.Dense(32)
            self.log_var = k3.layers.Dense(32)
            self.sampling = Sampling()
            self.dec = k3.layers.Dense(64, activation="relu")
            self.out = k3.layers.Dense(784, activation="sigmoid")

        def call(self, inputs):
            h = self.enc(inputs)
            z_mean, z_log_var = self.mean(h), self.log_var(h)
            z = self.sampling((z_mean, z_log_var))
            ops = k3.ops
            self.add_loss(-0.5 * ops.mean(z_log_var - ops.square(z_mean) - ops.exp(z_log_var)
                                          + 1))
            return self.out(self.dec(z))

    model = Keras3VAE()
    model.compile(k3.optimizers.Adam(learning_rate=1e-3), loss=k3.losses.MeanSquaredError())
    return lambda: model.fit(x, x, batch_size=BATCH, epochs=1, verbose=0)


# --- timing ---------------------------------------------------------------------------------

def _time_interleaved(fns: dict[str, Callable[[], Any]], repeats: int, rounds: int
                      ) -> dict[str, float]:
    """Median seconds per call: per round, `repeats` calls of each function in turn."""
    for f in fns.values():
        f()  # warm-up (builds the model, first allocations)
    per_round: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(rounds):
        for k, f in fns.items():
            samples = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                f()
                samples.append(time.perf_counter() - t0)
            per_round[k].append(statistics.median(samples))
    return {k: statistics.median(v) for k, v in per_round.items()}


def _time_small(fn: Callable[[], Any], repeats: int, rounds: int) -> float:
    from corten.bench.core import time_call
    return statistics.median(time_call(fn, repeats) for _ in range(rounds))


def _selected(args: argparse.Namespace, name: str, shape: str) -> bool:
    filters = [f for f in (args.filter or "").split(",") if f]
    label = f"{GROUP}/{name}"
    return not filters or any(f in label or f in shape for f in filters)


def measure(args: argparse.Namespace) -> list[Result]:
    torch = args.torch
    keras.utils.set_random_seed(0)
    if torch is not None:
        torch.manual_seed(0)
    x, y = _data()
    steps = N_SAMPLES // BATCH
    k3 = _keras3(torch)
    k3_note = k3 if isinstance(k3, str) else f"keras {k3.__version__} (torch backend)"
    results = []

    def fit_result(name, fns, extra):
        t = _time_interleaved(fns, args.repeats, args.rounds)
        extra = dict(extra)
        for lib, sec in t.items():
            extra[f"{lib}_samples_per_s"] = round(N_SAMPLES / sec)
        extra["keras3_torch"] = (f"{t['keras3'] / steps * 1e3:.3f} ms/step"
                                 if "keras3" in t else k3_note)
        return Result(GROUP, name, f"{N_SAMPLES}x784 b{BATCH}", "float32",
                      t["corten"] / steps * 1e3, None,
                      None if "torch" not in t else t["torch"] / steps * 1e3, extra)

    shape = f"{N_SAMPLES}x784 b{BATCH}"
    if _selected(args, "fit MLP 784-64-64-10 RMSprop", shape):
        fns = {"corten": _corten_fit_mlp(x, y)}
        if torch is not None:
            fns["torch"] = _torch_fit_mlp(torch, x, y)
        if not isinstance(k3, str):
            fns["keras3"] = _keras3_fit_mlp(k3, x, y)
        results.append(fit_result("fit MLP 784-64-64-10 RMSprop", fns,
                                  {"unit": "ms per step", "steps_per_epoch": steps}))
    if _selected(args, "fit VAE 784-64-32 Adam", shape):
        fns = {"corten": _corten_fit_vae(x)}
        if torch is not None:
            fns["torch"] = _torch_fit_vae(torch, x)
        if not isinstance(k3, str):
            fns["keras3"] = _keras3_fit_vae(k3, x)
        results.append(fit_result("fit VAE 784-64-32 Adam", fns,
                                  {"unit": "ms per step", "steps_per_epoch": steps}))

    pshape = f"{PREDICT_BATCH}x784"
    want_predict = _selected(args, "predict MLP", pshape)
    want_call = _selected(args, "call MLP", pshape)
    if want_predict or want_call:
        model = MLP()
        xb = x[:PREDICT_BATCH]
        txb = tf.constant(xb)
        model(txb)
        np.testing.assert_allclose(model.predict(xb, verbose=0), model(txb).numpy(),
                                   rtol=1e-5, atol=1e-6)
        call_ms = _time_small(lambda: model(txb), args.repeats, args.rounds) * 1e3
        torch_ms = None
        if torch is not None:
            nn = torch.nn
            tm = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                               nn.Linear(64, 10))
            pxb = torch.from_numpy(xb)

            def torch_call():
                with torch.no_grad():
                    return tm(pxb)

            torch_ms = _time_small(torch_call, args.repeats, args.rounds) * 1e3
        if want_predict:
            predict_ms = _time_small(lambda: model.predict(xb, verbose=0), args.repeats,
                                     args.rounds) * 1e3
            results.append(Result(GROUP, "predict MLP", pshape, "float32", predict_ms, None,
                                  torch_ms, {"unit": "ms per call",
                                             "model(x)_ms": round(call_ms, 4),
                                             "predict_over_call": round(predict_ms / call_ms, 2),
                                             "torch": "module(x) under no_grad"}))
        if want_call:
            results.append(Result(GROUP, "call MLP", pshape, "float32", call_ms, None, torch_ms,
                                  {"unit": "ms per call", "torch": "module(x) under no_grad"}))
    return results


def cases(args: argparse.Namespace):
    # Measured here (see the module docstring); the runner reports them with the other results.
    args.precomputed = getattr(args, "precomputed", [])
    args.precomputed.extend(measure(args))
    return iter(())


register(GROUP, cases)
