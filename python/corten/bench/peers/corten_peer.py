"""corten in a process of its own (see protocol.py): kernels, training and inference cases.

With ``--function`` the worker is the library ``corten.function``: the Keras builds of the layer
cases that name it run their timed call inside ``corten.function``, as tf.keras's run inside
``tf.function`` (``fit`` compiles its steps either way). With ``--policy mixed_bfloat16`` it is
``corten.mixed_bfloat16``: the global Keras dtype policy is set before any model is built.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import cases
import keras_models
import layer_cases
import protocol


class CortenPeer(protocol.Peer):
    library = "corten"

    def __init__(self, threads: int, options: argparse.Namespace) -> None:
        super().__init__(threads, options)
        import corten

        self.tf = corten
        self.version = corten.__version__
        if getattr(options, "function", False):
            self.library = "corten.function"
            layer_cases.compile_calls(corten.__name__)
        if getattr(options, "policy", None):
            self.library = f"corten.{options.policy}"
            corten.keras.mixed_precision.set_global_policy(options.policy)
        corten.config.threading.set_intra_op_parallelism_threads(threads)
        corten.keras.utils.set_random_seed(0)
        # Every case is built and run under the device scope (the request loop's thread).
        self.on_gpu = options.device.upper().startswith("GPU")
        if self.on_gpu and not corten.config.list_physical_devices("GPU"):
            # Soft placement would run the cases on the CPU under a GPU's name.
            raise RuntimeError(f"no GPU: {corten.config.experimental.gpu_unavailable_reason()}")
        self._scope = corten.device(f"/{options.device.upper()}:0")
        self._scope.__enter__()
        if self.on_gpu:
            (gpu,) = corten.config.list_physical_devices("GPU")[:1]
            details = corten.config.experimental.get_device_details(gpu)
            self.version += f" on {details['device_name']}"

    def cases(self) -> list[str]:
        return cases.cases_for(self.library)

    def extra(self) -> dict[str, Any]:
        return {"kernel_isa": self.tf.config.get_cpu_isa()}

    def to_numpy(self, value: Any) -> Any:
        return value.numpy()

    def sync(self) -> None:
        if self.on_gpu:
            self.tf.test.experimental.sync_devices()

    def setup(self, case: str, inputs: list[Any], data: str | None) -> Callable[[], Any]:
        tf = self.tf
        spec = cases.BY_KEY[case]
        if spec.calls:
            return cases.kernel_call(spec, self.library, tf, [tf.constant(a) for a in inputs],
                                     keras=tf.keras)
        d = protocol.load_training_data(data)
        if case.startswith("training/GradientTape loop"):
            return self._tape_loop()
        return keras_models.keras_case(tf.keras, keras_models.tf_math(tf, tf.keras), case, d,
                                       cases.BATCH, cases.predict_rows(case))

    def _tape_loop(self) -> Callable[[], float]:
        import numpy as np

        tf = self.tf
        rng = np.random.default_rng(0)
        x = tf.constant(rng.normal(size=(32, 8)).astype(np.float32))
        y = tf.constant(rng.normal(size=(32, 1)).astype(np.float32))
        params = [tf.Variable(rng.normal(size=(8, 16)).astype(np.float32) * 0.3),
                  tf.Variable(np.zeros(16, np.float32)),
                  tf.Variable(rng.normal(size=(16, 1)).astype(np.float32) * 0.3),
                  tf.Variable(np.zeros(1, np.float32))]
        w1, b1, w2, b2 = params

        def loop() -> float:
            for _ in range(cases.TAPE_STEPS):
                with tf.GradientTape() as tape:
                    pred = tf.tanh(x @ w1 + b1) @ w2 + b2
                    loss = tf.reduce_mean(tf.square(pred - y))
                grads = tape.gradient(loss, params)
                for p, g in zip(params, grads, strict=False):
                    p.assign_sub(0.01 * g)
            return float(loss.numpy())

        return loop


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="CPU", help="the device the cases run on: CPU or GPU")
    parser.add_argument("--function", action="store_true",
                        help="run as corten.function: layer cases' calls inside corten.function")
    parser.add_argument("--policy", help="run as corten.POLICY under this global Keras dtype "
                        "policy (mixed_bfloat16)")


if __name__ == "__main__":
    protocol.serve(CortenPeer, _arguments)
