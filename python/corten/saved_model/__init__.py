"""``corten.saved_model``: tf.saved_model's save and load for Keras models.

``save(model, export_dir, signatures=...)`` writes the saved-model directory that
``model.save(export_dir)`` writes, with one inference graph per signature, which C++ and C
programs run with no Python (corten::Model::load(export_dir, name), docs/model_format.md).
``load(export_dir)`` gives those graphs back as ``.signatures[name](**inputs)``, run by the same
C++ code, and ``keras.models.load_model(export_dir)`` the model itself.
"""

from __future__ import annotations

from typing import Any

__all__ = ["save", "load", "LoadedSavedModel"]


def save(obj: Any, export_dir: str, signatures: Any = None, options: Any = None) -> None:
    """Saves a Keras model as a directory at `export_dir` (tf.saved_model.save).

    Args:
        obj: a built ``keras.Model``.
        export_dir: the directory to write (replaced if model.save wrote it before).
        signatures: None (the model's call, traced at its inputs, is ``serving_default``), a
            ``corten.function`` with an ``input_signature`` (then it is ``serving_default``),
            or a dict of such functions by signature name (letters, digits, '_' and '-').
            A function returning a dict names its outputs by the keys; its inputs are named
            by the TensorSpecs' names, else by the function's parameters.
        options: accepted for tf.saved_model's signature; no option is used.

    Raises:
        TypeError: if `obj` is not a Keras model.
        ValueError: if a signature cannot be traced or saved (naming it and why).
    """
    from corten import keras
    from corten.keras.saving import saving_lib

    if not isinstance(obj, keras.Model):
        raise TypeError(f"saved_model.save: expected a keras.Model; got {type(obj).__name__}")
    saving_lib.save_model(obj, export_dir, save_format="tf", signatures=signatures)


class _Signature:
    """One saved graph, called with its inputs by name; returns its outputs by name."""

    def __init__(self, graph: Any) -> None:
        self._graph = graph

    @property
    def input_names(self) -> list[str]:
        return list(self._graph.input_names)

    @property
    def output_names(self) -> list[str]:
        return list(self._graph.output_names)

    def __call__(self, **inputs: Any) -> dict[str, Any]:
        import corten

        outputs = self._graph.predict({k: corten.convert_to_tensor(v) for k, v in inputs.items()})
        return dict(zip(self._graph.output_names, outputs, strict=True))


class LoadedSavedModel:
    """What ``load`` returns: ``signatures`` maps each saved signature's name to a callable
    taking its inputs as keyword arguments and returning a dict of its outputs."""

    def __init__(self, export_dir: str) -> None:
        from corten import _C

        names = _C.saved_model_signatures(export_dir)
        if not names:
            _C.SavedModel(export_dir)  # raises, saying why the path holds no graph
        self.signatures = {name: _Signature(_C.SavedModel(export_dir, name)) for name in names}


def load(export_dir: str, tags: Any = None, options: Any = None) -> LoadedSavedModel:
    """The signatures saved at `export_dir` (a directory or .keras file that save or
    model.save wrote), each run by corten's C++ graph runner. ``tags`` and ``options`` are
    accepted for tf.saved_model's signature and unused. Raises ValueError when the path holds
    no graph (saying why) or a graph is damaged."""
    return LoadedSavedModel(export_dir)
