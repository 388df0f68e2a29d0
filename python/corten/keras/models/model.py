"""keras.Model: a Layer with training, evaluation, prediction and saving."""

from __future__ import annotations

from typing import Any

from corten.keras.layers.base_layer import Layer

__all__ = ["Model"]

from corten.keras.trainers.trainer import Trainer  # compile/fit/evaluate/predict


class Model(Trainer, Layer):
    """A Layer with built-in training loops and saving (tf.keras.Model).

    Subclass it and define layers in ``__init__`` and the forward pass in ``call``; then
    ``compile``, ``fit``, ``evaluate``, ``predict``, ``save_weights``.
    """

    def __new__(cls, *args: Any, **kwargs: Any):
        # keras.Model(inputs, outputs) builds a functional model (as Keras).
        if _is_functional_init(args, kwargs):
            from corten.keras.models.functional import Functional

            if cls is Model:
                return Functional.__new__(Functional, *args, **kwargs)
            if not issubclass(cls, Functional):
                # A subclass called with inputs and outputs (a custom train_step over a
                # functional graph) is that subclass with Functional's graph behind it, as
                # tf.keras makes it.
                return Functional.__new__(_functional_subclass(cls, Functional))
        return super().__new__(cls, *args, **kwargs)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        Layer.__init__(self, **{k: v for k, v in kwargs.items()
                                if k in ("trainable", "name", "dtype", "dynamic")})
        Trainer.__init__(self)

    def compile(self, *args: Any, **kwargs: Any) -> None:
        """Configures the model for training (see ``Trainer.compile``); the arguments are kept
        for ``get_compile_config`` (model.save)."""
        import inspect

        Trainer.compile(self, *args, **kwargs)
        bound = inspect.signature(Trainer.compile).bind(self, *args, **kwargs)
        bound.apply_defaults()
        args = dict(bound.arguments)
        self.__dict__["_compile_args"] = {
            "optimizer": self.optimizer, "loss": args.get("loss"),
            "metrics": args.get("metrics"), "loss_weights": args.get("loss_weights"),
            "weighted_metrics": args.get("weighted_metrics"),
            "steps_per_execution": self.steps_per_execution}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> Model:
        """A model from its config: a functional graph config (``layers``, ``input_layers``,
        ``output_layers``) builds a Functional model; otherwise ``cls(**config)``."""
        from corten.keras.models import functional

        if functional.is_functional_config(config) and _revivable_as_functional(cls):
            target = functional.Functional if cls is Model else cls
            return functional._functional_from_config(target, config, custom_objects)
        return cls(**config)

    def get_compile_config(self) -> dict | None:
        """The serialized ``compile`` arguments (optimizer config, loss and metric
        identifiers, loss_weights...), or None if the model is not compiled."""
        compile_args = self.__dict__.get("_compile_args")
        if not getattr(self, "_is_compiled", False) or compile_args is None:
            return None
        from corten.keras.saving import serialization_lib  # saving sits above models

        return serialization_lib.serialize_keras_object(compile_args)

    def compile_from_config(self, config: dict, custom_objects: dict | None = None) -> None:
        """Compiles the model from ``get_compile_config`` output.

        Raises:
            ValueError: for a malformed config or an unknown optimizer, loss or metric.
        """
        from corten.keras.saving import serialization_lib

        if not isinstance(config, dict):
            raise ValueError(f"compile_from_config expects a dict. Received: config={config!r}")
        allowed = {"optimizer", "loss", "metrics", "loss_weights", "weighted_metrics",
                   "steps_per_execution"}
        kwargs = serialization_lib.deserialize_keras_object(
            {k: v for k, v in config.items() if k in allowed}, custom_objects=custom_objects)
        if kwargs.get("optimizer") is None:
            kwargs.pop("optimizer", None)
        self.compile(**kwargs)

    def save(self, filepath: Any, overwrite: bool = True, save_format: Any = None,
             **kwargs: Any) -> None:
        """Saves the model (architecture, compile configuration, weights and optimizer state)
        to one .keras zip file, atomically; see ``keras.models.load_model``. In a data-parallel
        job only rank 0 writes (corten.distribute).

        Raises:
            NotImplementedError: if the architecture cannot be described (a subclassed model
                whose get_config does not work), saying what to implement.
        """
        from corten import distribute
        from corten.keras.saving import saving_lib

        if not distribute.is_chief(self):
            return  # Under a data-parallel strategy only rank 0 writes (same weights on all).
        saving_lib.save_model(self, filepath, overwrite=overwrite, save_format=save_format,
                              **kwargs)

    @property
    def weights(self) -> list[Any]:
        """Every weight, layer by layer in ``layers`` order (each layer's trainable weights,
        then its non-trainable ones), then the model's own: tf.keras 2's ``Model.weights``
        order, so that ``get_weights``/``set_weights`` lists are interchangeable with Keras's
        (a BatchNormalization's moving statistics sit right after its gamma and beta)."""
        out: list[Any] = []
        seen: set[int] = set()
        own = self._own_vars()
        for v in [w for layer in self._sublayers() for w in layer.weights] + [
                v for v in own if v.trainable] + [v for v in own if not v.trainable]:
            if id(v) not in seen:
                seen.add(id(v))
                out.append(v)
        return out

    @property
    def layers(self) -> list[Layer]:
        """The direct sublayers, in the order they were assigned."""
        return [l for l in self._sublayers() if not _is_metric(l)]

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """A sublayer by name or index.

        Raises:
            ValueError: if no such layer exists.
        """
        if index is not None:
            if len(self.layers) <= index:
                raise ValueError(f"Was asked to retrieve layer at index {index} but model only "
                                 f"has {len(self.layers)} layers.")
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}. Existing layers are: "
                         f"{[l.name for l in self.layers]}.")

    def summary(self, line_length: int | None = None, positions: Any = None,
                print_fn: Any = None, expand_nested: bool = False,
                show_trainable: bool = False, layer_range: Any = None) -> None:
        """Prints a table of the layers, their output shapes and parameter counts (tf.keras 2
        layout), then the total, trainable and non-trainable parameter counts.

        Args:
            line_length: the table width (65, or 98 with a "Connected to" column).
            positions: the right edges of the columns, as fractions or absolute positions.
            print_fn: called with each line (``print`` by default).
            expand_nested: also list the layers of nested models.
            show_trainable: add a "Trainable" column.
            layer_range: a pair of layer names: print only the layers between them.

        Raises:
            ValueError: if the model has not been built yet.
        """
        if not self.built:
            raise ValueError(
                "This model has not yet been built. Build the model first by calling `build()` "
                "or by calling the model on a batch of data.")
        from corten.keras.utils import summary_utils  # utils sit above models

        summary_utils.print_summary(self, line_length=line_length, positions=positions,
                                    print_fn=print_fn, expand_nested=expand_nested,
                                    show_trainable=show_trainable, layer_range=layer_range)

    def save_weights(self, filepath: Any, overwrite: bool = True, save_format: Any = None,
                     options: Any = None) -> None:
        """Saves ``weights`` to exactly ``filepath`` (atomically): in the safetensors layout,
        or in tf.keras 2's HDF5 layout for a name ending in ``.h5`` or ``save_format="h5"``.

        Raises:
            ValueError: if the model has not created its weights yet.
            ImportError: for an HDF5 file without h5py (``pip install corten[h5]``).
        """
        from corten import distribute
        from corten.keras.saving import weights_file  # saving sits above models

        if not distribute.is_chief(self):
            return  # Under a data-parallel strategy only rank 0 writes (same weights on all).
        weights_file.save_weights(self, filepath, overwrite=overwrite, save_format=save_format)

    def load_weights(self, filepath: Any, skip_mismatch: bool = False, by_name: bool = False,
                     options: Any = None) -> None:
        """Loads weights written by ``save_weights`` (safetensors, or HDF5 from corten or
        tf.keras 2, matched by layer position or, with ``by_name``, by layer name); nothing
        changes if loading fails.

        Raises:
            ValueError: for a truncated or corrupted file, or a weight whose shape differs
                (naming the layer and both shapes) unless ``skip_mismatch`` (then skipped with
                a warning).
        """
        from corten.keras.saving import weights_file

        weights_file.load_weights(self, filepath, skip_mismatch=skip_mismatch, by_name=by_name)


_FUNCTIONAL_SUBCLASSES: dict[type, type] = {}


def _functional_subclass(cls: type, functional: type) -> type:
    """``cls`` combined with the Functional model (one class per ``cls``): ``cls``'s methods
    first, then Functional's graph call, building and config."""
    combined = _FUNCTIONAL_SUBCLASSES.get(cls)
    if combined is None:
        combined = type(cls.__name__, (cls, functional),
                        {"__module__": cls.__module__, "__qualname__": cls.__qualname__})
        _FUNCTIONAL_SUBCLASSES[cls] = combined
    return combined


def _revivable_as_functional(cls: type) -> bool:
    """Whether ``cls(inputs=..., outputs=..., name=...)`` rebuilds a functional config, as
    tf.keras decides: Model, Functional and their subclasses whose ``__init__`` is theirs, takes
    Functional's arguments, or passes ``*args, **kwargs`` on."""
    import inspect

    from corten.keras.models.functional import Functional

    if cls is Model or issubclass(cls, Functional) or cls.__init__ is Model.__init__:
        return True
    spec = inspect.getfullargspec(cls.__init__)
    wanted = inspect.getfullargspec(Functional.__init__).args[1:]
    return spec.args[1:] == wanted or (spec.varargs is not None and spec.varkw is not None)


def _is_functional_init(args: tuple, kwargs: dict) -> bool:
    return (len(args) == 2 or (len(args) == 1 and "outputs" in kwargs)
            or ("inputs" in kwargs and "outputs" in kwargs))


def _is_metric(layer: Layer) -> bool:
    from corten.keras.metrics import Metric  # imported late: keras.metrics imports the layers

    return isinstance(layer, Metric)
