"""Test helpers shared by corten's own tests and by anyone writing a layer:
``run_layer_test`` checks a layer end to end (see ``corten.testing.layer_test``)."""

from corten.testing.layer_test import run_layer_test

__all__ = ["run_layer_test"]
