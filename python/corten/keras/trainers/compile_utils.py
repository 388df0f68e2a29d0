"""The compiled loss and metrics of a model (Keras 2 ``LossesContainer``/``MetricsContainer``).

Losses and metrics are given once for the model and matched to its outputs: a single one
applies to every output, a list to the outputs in order, a dict to the outputs by name.
Output names are the model's ``output_names`` (functional models), the keys of a dict of
outputs, or ``output_1``, ``output_2``, ... as Keras names the outputs of subclassed models.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

import corten
from corten import _C, distribute, nest

__all__ = ["LossesContainer", "MetricsContainer", "match_dtype_and_rank"]

Tensor = _C.Tensor


def _losses_module():
    from corten.keras import losses

    return losses


def _metrics_module():
    from corten.keras import metrics

    return metrics


def _shape(t: Any) -> tuple:
    return tuple(t.shape) if hasattr(t, "shape") else np.shape(t)


def _output_names(model: Any, y_pred: Any) -> list[str]:
    flat = nest.flatten(y_pred)
    if isinstance(y_pred, Mapping):
        return sorted(y_pred)
    names = getattr(model, "output_names", None) if model is not None else None
    if names and len(names) == len(flat):
        return list(names)
    return [f"output_{i + 1}" for i in range(len(flat))]


def _conform(struct: Any, y_pred: Any, names: list[str], what: str,
             broadcast: bool = True) -> list[Any]:
    """``struct`` (a single item, a list by output or a dict by output name) as one entry per
    flattened output (None where an output has none)."""
    n = len(nest.flatten(y_pred))
    if struct is None:
        return [None] * n
    if isinstance(struct, Mapping):
        unknown = [k for k in struct if k not in names]
        if unknown:
            raise ValueError(f"Found unexpected {what} key {unknown[0]!r}. Valid output names: "
                             f"{names}. Received: {what}={_describe(struct)}")
        return [struct.get(name) for name in names]
    if isinstance(struct, (list, tuple)):
        if len(struct) == n:
            return list(struct)
        if n == 1 and broadcast:
            return [struct]
        raise ValueError(f"`{what}` has {len(struct)} entries but the model has {n} outputs "
                         f"({names}). Pass one entry per output, a dict by output name, or a "
                         f"single item for all outputs. Received: {what}={_describe(struct)}")
    if broadcast or n == 1:
        return [struct] * n
    raise ValueError(f"`{what}` must be given per output for a model with {n} outputs.")


def _describe(x: Any) -> str:
    if isinstance(x, Mapping):
        return "{" + ", ".join(f"{k!r}: {_describe(v)}" for k, v in x.items()) + "}"
    if isinstance(x, (list, tuple)):
        return "[" + ", ".join(_describe(v) for v in x) + "]"
    if isinstance(x, (Tensor, np.ndarray)):
        return f"<array shape={_shape(x)}>"
    return repr(x)


def _conform_targets(y_true: Any, y_pred: Any, names: list[str], what: str) -> list[Any]:
    n = len(nest.flatten(y_pred))
    if y_true is None:
        return [None] * n
    if isinstance(y_true, Mapping):
        if isinstance(y_pred, Mapping) or n > 1 or set(y_true) & set(names):
            unknown = [k for k in y_true if k not in names]
            if unknown:
                raise ValueError(f"Found unexpected {what} key {unknown[0]!r}. Valid output "
                                 f"names: {names}.")
            return [y_true.get(name) for name in names]
    if isinstance(y_true, (list, tuple)) and n > 1:
        if len(y_true) != n:
            raise ValueError(f"The model has {n} outputs ({names}) but {len(y_true)} {what} "
                             "arrays were given; pass one per output or a dict by output name.")
        return list(y_true)
    if isinstance(y_true, (list, tuple)) and n == 1 and len(y_true) == 1:
        return [y_true[0]]
    return [y_true] * n


def match_dtype_and_rank(y_t: Any, y_p: Tensor, sw: Any) -> tuple[Any, Any]:
    """As Keras 2: (N,) targets for (N, 1) predictions get a trailing axis; floating targets
    are cast to the prediction's dtype; sample weights to the prediction's dtype."""
    if y_t is not None and isinstance(y_p, Tensor):
        if not isinstance(y_t, Tensor):
            y_t = corten.convert_to_tensor(np.asarray(y_t))
        if y_t.ndim == 1 and y_p.ndim == 2:
            y_t = corten.expand_dims(y_t, -1)
        if (y_t.dtype.is_floating and y_p.dtype.is_floating) or (
                y_t.dtype.is_integer and y_p.dtype.is_integer):
            if y_t.dtype != y_p.dtype:
                y_t = corten.cast(y_t, y_p.dtype)
    if sw is not None and isinstance(y_p, Tensor):
        if not isinstance(sw, Tensor):
            sw = corten.convert_to_tensor(np.asarray(sw))
        if sw.dtype != y_p.dtype:
            sw = corten.cast(sw, y_p.dtype)
    return y_t, sw


def _batch_size(y_pred: Any) -> Any:
    for t in nest.flatten(y_pred):
        if isinstance(t, Tensor) and t.ndim:
            return float(t.shape[0])
    return None


def _object_name(obj: Any) -> str:
    name = getattr(obj, "name", None)
    if isinstance(name, str):
        return name
    name = getattr(obj, "__name__", None)
    if isinstance(name, str):
        return name
    return type(obj).__name__


def _reraise_with_context(e: Exception, what: str, obj: Any, output: str, y_t: Any,
                          y_p: Any) -> Exception:
    if getattr(e, "_corten_loss_context", False):
        return e
    msg = (f"{e}\n\n(while computing {what} {_object_name(obj)!r} of output {output!r} with "
           f"y_true.shape={_shape(y_t)}, y_true.dtype={getattr(y_t, 'dtype', None)}, "
           f"y_pred.shape={_shape(y_p)})")
    new = type(e)(msg)
    new._corten_loss_context = True
    return new


class LossesContainer:
    """The compiled loss: ``total = sum(loss_weight_i * loss_i(y_i, pred_i, sw_i)) +
    sum(regularization_losses)``, tracked by a ``loss`` Mean metric (weighted by the batch
    size, as Keras) and, for several outputs, ``<output>_loss`` metrics."""

    def __init__(self, losses: Any, loss_weights: Any = None, model: Any = None) -> None:
        self._user_losses = losses
        self._user_loss_weights = loss_weights
        self._model = model
        self._built = False
        self._losses: list[Any] = []
        self._loss_weights: list[Any] = []
        self._output_names: list[str] = []
        self._per_output_metrics: list[Any] = []
        self._loss_metric = None
        # Resolve identifiers now, so that typos fail in compile().
        self._resolved = nest.map_structure(self._get_loss_object, losses) \
            if isinstance(losses, (list, tuple, Mapping)) else self._get_loss_object(losses)

    @staticmethod
    def _get_loss_object(loss: Any) -> Any:
        """A ``Loss`` (functions are wrapped so that they take ``sample_weight``)."""
        if loss is None:
            return None
        losses = _losses_module()
        obj = losses.get(loss)
        if isinstance(obj, type) and issubclass(obj, losses.Loss):
            obj = obj()
        if not isinstance(obj, losses.Loss):
            if not callable(obj):
                raise ValueError(f"Could not interpret loss identifier: {loss!r}")
            obj = losses.LossFunctionWrapper(obj, name=_object_name(obj))
        return obj

    @property
    def has_losses(self) -> bool:
        return any(l is not None for l in nest.flatten(self._resolved)) \
            if isinstance(self._resolved, (list, tuple, Mapping)) else self._resolved is not None

    @property
    def metrics(self) -> list[Any]:
        if not self._built:
            return []
        return [self._loss_metric] + [m for m in self._per_output_metrics if m is not None]

    def reset_state(self) -> None:
        for m in self.metrics:
            m.reset_state()

    def build(self, y_pred: Any) -> None:
        metrics = _metrics_module()
        names = _output_names(self._model, y_pred)
        self._output_names = names
        self._losses = _conform(self._resolved, y_pred, names, "loss")
        weights = self._user_loss_weights
        if weights is None:
            self._loss_weights = [None] * len(names)
        else:
            self._loss_weights = _conform(weights, y_pred, names, "loss_weights",
                                          broadcast=False)
        self._loss_metric = metrics.Mean(name="loss")
        if len(names) > 1:
            self._per_output_metrics = [
                metrics.Mean(name=f"{name}_loss") if loss is not None else None
                for name, loss in zip(names, self._losses)]
        else:
            self._per_output_metrics = [None]
        self._built = True

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None,
                 regularization_losses: Any = None) -> Tensor:
        """The total loss (a scalar tensor); updates the loss metrics."""
        if not self._built:
            self.build(y_pred)
        flat_pred = nest.flatten(y_pred)
        names = self._output_names
        y_trues = _conform_targets(y_true, y_pred, names, "target")
        sws = _conform_targets(sample_weight, y_pred, names, "sample_weight")
        batch = _batch_size(y_pred) if y_true is not None else None
        loss_values, mean_values = [], []
        for y_t, y_p, sw, loss_obj, weight, metric, name in zip(
                y_trues, flat_pred, sws, self._losses, self._loss_weights,
                self._per_output_metrics, names):
            if y_t is None or loss_obj is None:
                continue
            y_t, sw = match_dtype_and_rank(y_t, y_p, sw)
            try:
                value = loss_obj(y_t, y_p, sample_weight=sw)
            except (ValueError, TypeError) as e:
                raise _reraise_with_context(e, "loss", loss_obj, name, y_t, y_p) from None
            if not isinstance(value, Tensor):
                value = corten.convert_to_tensor(value, dtype=y_p.dtype)
            if metric is not None:
                metric.update_state(value, sample_weight=batch)
            if weight is not None:
                value = value * float(weight)
            loss_values.append(value)
            mean_values.append(value)
        if regularization_losses:
            reg = regularization_losses[0]
            for r in regularization_losses[1:]:
                reg = reg + r
            reg = corten.reduce_sum(reg) if reg.ndim else reg
            if loss_values and reg.dtype != loss_values[0].dtype:
                reg = corten.cast(reg, loss_values[0].dtype)
            loss_values.append(reg)
            mean_values.append(reg)
        if not loss_values:
            return corten.zeros(())
        total = loss_values[0]
        for v in loss_values[1:]:
            total = total + v
        self._loss_metric.update_state(corten.stop_gradient(total), sample_weight=batch)
        # In a data-parallel replica the gradients are summed over the replicas
        # (apply_gradients), so the loss is the replica's share of the global mean, as
        # tf.distribute scales it.
        replicas = distribute.get_strategy().num_replicas_in_sync
        return total / float(replicas) if replicas > 1 else total


def _is_accuracy_string(m: Any) -> bool:
    return isinstance(m, str) and m in ("accuracy", "acc", "crossentropy", "ce")


class MetricsContainer:
    """The compiled metrics, built on the first batch (string identifiers such as
    ``"accuracy"`` are resolved from the shapes of the targets and predictions)."""

    def __init__(self, metrics: Any = None, weighted_metrics: Any = None, model: Any = None,
                 loss: Any = None) -> None:
        self._user_metrics = metrics
        self._user_weighted = weighted_metrics
        self._model = model
        self._loss = loss
        self._built = False
        self._metrics: list[list[Any]] = []
        self._weighted: list[list[Any]] = []
        # Resolve what can be resolved now, so that unknown identifiers fail in compile().
        for m in nest.flatten(metrics) + nest.flatten(weighted_metrics):
            if m is not None and not _is_accuracy_string(m) and isinstance(m, str):
                _metrics_module().get(m)

    @property
    def metrics(self) -> list[Any]:
        if not self._built:
            return []
        out, seen = [], set()
        for group in (self._metrics, self._weighted):
            for per_output in group:
                for m in per_output:
                    if id(m) not in seen:
                        seen.add(id(m))
                        out.append(m)
        return out

    def reset_state(self) -> None:
        for m in self.metrics:
            m.reset_state()

    def _per_output(self, struct: Any, y_pred: Any, names: list[str]) -> list[list[Any]]:
        n = len(names)
        if struct is None:
            return [[] for _ in range(n)]
        if isinstance(struct, Mapping):
            per = _conform(struct, y_pred, names, "metrics")
        elif isinstance(struct, (list, tuple)) and any(
                isinstance(m, (list, tuple, Mapping)) for m in struct):
            per = _conform(list(struct), y_pred, names, "metrics", broadcast=False)
        else:
            items = list(struct) if isinstance(struct, (list, tuple)) else [struct]
            per = [items] * n  # a flat list applies to every output
        return [[m for m in (nest.flatten(p) if p is not None else []) if m is not None]
                for p in per]

    def build(self, y_true: list[Any], y_pred: Any, losses: list[Any]) -> None:
        names = _output_names(self._model, y_pred)
        flat_pred = nest.flatten(y_pred)
        unweighted = self._per_output(self._user_metrics, y_pred, names)
        weighted = self._per_output(self._user_weighted, y_pred, names)
        self._metrics, self._weighted = [], []
        for i, name in enumerate(names):
            y_t, y_p, loss = y_true[i], flat_pred[i], losses[i] if losses else None
            ms = [self._get_metric_object(m, y_t, y_p, loss) for m in unweighted[i]]
            ws = [self._get_metric_object(m, y_t, y_p, loss) for m in weighted[i]]
            taken = {m.name for m in ms}
            for w, spec in zip(ws, weighted[i]):
                if w.name in taken and isinstance(spec, str):
                    w._name = "weighted_" + w.name
            if len(names) > 1:
                for m, spec in list(zip(ms, unweighted[i])) + list(zip(ws, weighted[i])):
                    if isinstance(spec, str) or not getattr(m, "_corten_prefixed", False):
                        m._name = f"{name}_{m.name}"
                        m._corten_prefixed = True
            self._metrics.append(ms)
            self._weighted.append(ws)
        self._built = True

    def _get_metric_object(self, metric: Any, y_t: Any, y_p: Any, loss: Any) -> Any:
        metrics = _metrics_module()
        if _is_accuracy_string(metric):
            t_shape = _shape(y_t) if y_t is not None else ()
            p_shape = _shape(y_p)
            t_last = t_shape[-1] if t_shape else None
            p_last = p_shape[-1] if p_shape else None
            loss_name = _object_name(loss) if loss is not None else ""
            is_binary = p_last == 1
            is_sparse = (len(t_shape) < len(p_shape) or (t_last == 1 and p_last not in (1, None))
                         or "sparse" in loss_name.lower())
            kind = "accuracy" if metric in ("accuracy", "acc") else "crossentropy"
            if is_binary:
                fname = f"binary_{kind}"
            elif is_sparse:
                fname = f"sparse_categorical_{kind}"
            else:
                fname = f"categorical_{kind}"
            fn = getattr(metrics, fname, None) or getattr(_losses_module(), fname)
            return metrics.MeanMetricWrapper(fn, name=metric)
        obj = metrics.get(metric) if isinstance(metric, str) else metric
        if isinstance(obj, metrics.Metric):
            return obj
        if isinstance(obj, type) and issubclass(obj, metrics.Metric):
            return obj()
        if not callable(obj):
            raise ValueError(f"Could not interpret metric identifier: {metric!r}")
        name = metric if isinstance(metric, str) else _object_name(obj)
        return metrics.MeanMetricWrapper(obj, name=name)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None,
                     losses: list[Any] | None = None) -> None:
        flat_pred = nest.flatten(y_pred)
        names = _output_names(self._model, y_pred)
        y_trues = _conform_targets(y_true, y_pred, names, "target")
        sws = _conform_targets(sample_weight, y_pred, names, "sample_weight")
        if not self._built:
            self.build(y_trues, y_pred, losses or [])
        for i, name in enumerate(names):
            y_t, y_p, sw = y_trues[i], flat_pred[i], sws[i]
            if y_t is None:
                continue
            y_t, sw = match_dtype_and_rank(y_t, y_p, sw)
            for m in self._metrics[i]:
                try:
                    m.update_state(y_t, y_p)
                except (ValueError, TypeError) as e:
                    raise _reraise_with_context(e, "metric", m, name, y_t, y_p) from None
            for m in self._weighted[i]:
                try:
                    m.update_state(y_t, y_p, sample_weight=sw)
                except (ValueError, TypeError) as e:
                    raise _reraise_with_context(e, "metric", m, name, y_t, y_p) from None
