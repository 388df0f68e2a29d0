"""Test helpers shared by corten's own tests and by anyone writing a layer:
``run_layer_test`` checks a layer end to end (see ``corten.testing.layer_test``);
``mse_train_step`` is a custom loop's training step."""

from corten.testing.layer_test import run_layer_test
from corten.testing.steps import mse_train_step

__all__ = ["mse_train_step", "run_layer_test"]
