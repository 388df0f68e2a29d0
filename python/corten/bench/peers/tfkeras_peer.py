"""tf.keras 2 (TensorFlow 2.21 with the tf_keras package) in a process of its own.

``import tf_keras`` is the Keras 2 that ``TF_USE_LEGACY_KERAS=1`` makes ``tf.keras`` resolve
to; importing it directly needs no environment variable. fit() compiles its step with
tf.function, tf.keras's default. Threads: tf.config.threading's intra- and inter-op settings.
With ``--policy mixed_bfloat16`` the worker is ``tf.keras.mixed_bfloat16``: the global Keras
dtype policy is set before any model is built.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import cases
import keras_models
import protocol


class TfKerasPeer(protocol.Peer):
    library = "tf.keras"

    def __init__(self, threads: int, options: argparse.Namespace) -> None:
        super().__init__(threads, options)
        import tensorflow as tf
        import tf_keras

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
        self.tf, self.keras = tf, tf_keras
        self.version = f"{tf_keras.__version__} (tensorflow {tf.__version__})"
        tf_keras.utils.set_random_seed(0)
        if getattr(options, "policy", None):
            self.library = f"tf.keras.{options.policy}"
            tf_keras.mixed_precision.set_global_policy(options.policy)

    def cases(self) -> list[str]:
        return cases.cases_for(self.library)

    def to_numpy(self, value: Any) -> Any:
        return value.numpy()

    def setup(self, case: str, inputs: list[Any], data: str | None) -> Callable[[], Any]:
        spec = cases.BY_KEY[case]
        if spec.builds:
            return cases.kernel_call(spec, self.library, self.tf,
                                     [self.tf.constant(a) for a in inputs], keras=self.keras)
        return keras_models.keras_case(self.keras, keras_models.tf_math(self.tf, self.keras),
                                       case, protocol.load_training_data(data), cases.BATCH,
                                       cases.predict_rows(case))


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--policy", help="run as tf.keras.POLICY under this global Keras dtype "
                        "policy (mixed_bfloat16)")


if __name__ == "__main__":
    protocol.serve(TfKerasPeer, _arguments)
