"""Dot-product and additive attention (tf.keras 2's Attention and AdditiveAttention)."""

from __future__ import annotations

from typing import Any

import corten
from corten import _C
from corten.keras.layers.base_layer import Layer
from corten.ops.linalg import band_part

__all__ = ["Attention", "AdditiveAttention"]


class _BaseDenseAttention(Layer):
    """What Attention and AdditiveAttention share (tf.keras 2's BaseDenseAttention): masks,
    the softmax over the value axis, dropout of the probabilities, the product with value.

    Args:
        dropout: fraction of the attention probabilities dropped in training.
        causal: deprecated (tf.keras 2 accepts it); use ``use_causal_mask`` in ``call``.

    Call arguments:
        inputs: ``[query (B, Tq, dim), value (B, Tv, dim)]`` or ``[query, value, key (B, Tv,
            dim)]``; key defaults to value.
        mask: ``[query_mask (B, Tq), value_mask (B, Tv)]``: outputs at masked query positions
            are zero, masked values get no probability. Taken from the inputs' Keras masks
            when not given.
        training: whether dropout is active.
        return_attention_scores: also return the probabilities ``(B, Tq, Tv)``.
        use_causal_mask: query position i sees values j <= i only.
    """

    def __init__(self, dropout: float = 0.0, **kwargs: Any) -> None:
        causal = kwargs.pop("causal", False)
        super().__init__(**kwargs)
        self.causal = causal
        self.dropout = dropout
        self.supports_masking = True

    def _calculate_scores(self, query: Any, key: Any) -> Any:
        raise NotImplementedError

    def _apply_scores(self, scores: Any, value: Any, scores_mask: Any = None,
                      training: Any = None) -> tuple[Any, Any]:
        """softmax(scores with masked positions lowered by 1e9) @ value, and the weights."""
        if scores_mask is not None:
            padding_mask = corten.cast(corten.logical_not(scores_mask), scores.dtype)
            # float16 cannot hold 1e9: tf.keras subtracts its largest value instead.
            big = 65504.0 if scores.dtype.name == "float16" else 1.0e9
            scores = corten.subtract(scores, corten.multiply(padding_mask, big))
        weights = corten.nn.softmax(scores)
        if self.dropout > 0 and training:
            weights = corten.nn.dropout(weights, rate=self.dropout)
        return corten.matmul(weights, value), weights

    def call(self, inputs: Any, mask: Any = None, training: Any = None,
             return_attention_scores: bool = False, use_causal_mask: bool = False) -> Any:
        self._validate_call_args(inputs=inputs, mask=mask)
        q = inputs[0]
        v = inputs[1]
        k = inputs[2] if len(inputs) > 2 else v
        q_mask = mask[0] if _given(mask) else None
        v_mask = mask[1] if _given(mask) else None
        scores = self._calculate_scores(query=q, key=k)
        if v_mask is not None:
            v_mask = corten.expand_dims(corten.cast(v_mask, corten.bool), axis=-2)
        causal_mask = _lower_triangular_mask(scores) if self.causal or use_causal_mask \
            else None
        scores_mask = _merge_masks(v_mask, causal_mask)
        result, attention_scores = self._apply_scores(scores=scores, value=v,
                                                      scores_mask=scores_mask,
                                                      training=training)
        if q_mask is not None:
            q_mask = corten.expand_dims(q_mask, axis=-1)
            result = corten.multiply(result, corten.cast(q_mask, result.dtype))
        if return_attention_scores:
            return result, attention_scores
        return result

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The query's mask (the output has the query's positions), or None."""
        self._validate_call_args(inputs=inputs, mask=mask)
        if _given(mask):
            q_mask = mask[0]
            if q_mask is None:
                return None
            return corten.convert_to_tensor(q_mask)
        return None

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The query's shape."""
        return corten.TensorShape(tuple(input_shape[0]))

    def _validate_call_args(self, inputs: Any, mask: Any) -> None:
        class_name = type(self).__name__
        if not isinstance(inputs, list):
            raise ValueError(f"{class_name} layer must be called on a list of inputs, namely "
                             f"[query, value] or [query, value, key]. Received: {inputs}.")
        if len(inputs) < 2 or len(inputs) > 3:
            raise ValueError(f"{class_name} layer accepts inputs list of length 2 or 3, namely "
                             "[query, value] or [query, value, key]. Received length: "
                             f"{len(inputs)}.")
        if _given(mask):
            if not isinstance(mask, list):
                raise ValueError(f"{class_name} layer mask must be a list, namely "
                                 f"[query_mask, value_mask]. Received: {mask}.")
            if len(mask) < 2 or len(mask) > len(inputs):
                raise ValueError(f"{class_name} layer mask must be a list of length 2, namely "
                                 f"[query_mask, value_mask]. Received length: {len(mask)}.")

    def get_config(self) -> dict:
        config = super().get_config()
        config["dropout"] = self.dropout
        return config


def _given(mask: Any) -> bool:
    """tf.keras's ``if mask:``, without asking a tensor or array for its truth value."""
    if isinstance(mask, (list, tuple)):
        return len(mask) > 0
    return mask is not None


def _lower_triangular_mask(scores: Any) -> Any:
    """True where the row index is >= the column index over the last two axes of ``scores``,
    of shape (1, ..., 1, Tq, Tv)."""
    shape = (1,) * (scores.ndim - 2) + tuple(scores.shape[-2:])
    if scores.device == "meta" or None in shape:
        return _C.empty_meta(shape, corten.bool)
    return band_part(corten.ones(shape, corten.bool), -1, 0)


def _merge_masks(x: Any, y: Any) -> Any:
    if x is None:
        return y
    if y is None:
        return x
    return corten.logical_and(x, y)


class Attention(_BaseDenseAttention):
    """Dot-product attention (Luong style): ``softmax(query @ key^T) @ value``.

    Args:
        use_scale: learn a scalar ``scale`` multiplying the scores.
        score_mode: ``"dot"`` (query-key dot products) or ``"concat"``
            (``sum(tanh(query + key))``, times a learned scalar ``concat_score_weight``).
        dropout: fraction of the attention probabilities dropped in training.

    The call arguments are those of ``AdditiveAttention``: ``inputs=[query, value(, key)]``,
    ``mask``, ``training``, ``return_attention_scores``, ``use_causal_mask``.

    Raises:
        ValueError: a score_mode other than "dot" and "concat".

    Example:
        >>> q, v = corten.ones((2, 3, 4)), corten.ones((2, 5, 4))
        >>> Attention()([q, v]).shape
        TensorShape([2, 3, 4])
    """

    def __init__(self, use_scale: bool = False, score_mode: str = "dot",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.use_scale = use_scale
        self.score_mode = score_mode
        if self.score_mode not in ["dot", "concat"]:
            raise ValueError(f"Received: score_mode={score_mode}. Acceptable values are: "
                             '["dot", "concat"]')

    def build(self, input_shape: Any) -> None:
        if self.use_scale:
            self.scale = self.add_weight(name="scale", shape=(), initializer="ones",
                                         dtype=self.dtype, trainable=True)
        else:
            self.scale = None
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight(name="concat_score_weight", shape=(),
                                                       initializer="ones", dtype=self.dtype,
                                                       trainable=True)
        else:
            self.concat_score_weight = None
        self.__dict__["built"] = True

    def _calculate_scores(self, query: Any, key: Any) -> Any:
        """(B, Tq, Tv) scores of query (B, Tq, dim) against key (B, Tv, dim)."""
        if self.score_mode == "dot":
            scores = corten.matmul(query, key, transpose_b=True)
            if self.scale is not None:
                scores = corten.multiply(scores, self.scale)
            return scores
        q_reshaped = corten.expand_dims(query, axis=-2)  # (B, Tq, 1, dim)
        k_reshaped = corten.expand_dims(key, axis=-3)  # (B, 1, Tv, dim)
        summed = corten.add(q_reshaped, k_reshaped)
        if self.scale is not None:
            summed = corten.multiply(self.scale, summed)
        return corten.multiply(self.concat_score_weight,
                               corten.reduce_sum(corten.tanh(summed), axis=-1))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"use_scale": self.use_scale, "score_mode": self.score_mode})
        return config


class AdditiveAttention(_BaseDenseAttention):
    """Additive attention (Bahdanau style): scores ``sum(scale * tanh(query + key))``.

    Args:
        use_scale: learn a ``scale`` vector of the value's last dimension (glorot_uniform);
            without it the tanh terms are summed as they are.
        dropout: fraction of the attention probabilities dropped in training.

    Call arguments:
        inputs: ``[query (B, Tq, dim), value (B, Tv, dim)]`` or ``[query, value, key]``.
        mask: ``[query_mask (B, Tq), value_mask (B, Tv)]`` (default: the inputs' Keras masks).
        training: whether dropout is active.
        return_attention_scores: also return the probabilities ``(B, Tq, Tv)``.
        use_causal_mask: query position i sees values j <= i only.

    Example:
        >>> q, v = corten.ones((2, 3, 4)), corten.ones((2, 5, 4))
        >>> AdditiveAttention()([q, v]).shape
        TensorShape([2, 3, 4])
    """

    def __init__(self, use_scale: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.use_scale = use_scale

    def build(self, input_shape: Any) -> None:
        dim = tuple(input_shape[1])[-1]
        if self.use_scale:
            self.scale = self.add_weight(name="scale", shape=[dim],
                                         initializer="glorot_uniform", dtype=self.dtype,
                                         trainable=True)
        else:
            self.scale = None
        self.__dict__["built"] = True

    def _calculate_scores(self, query: Any, key: Any) -> Any:
        """(B, Tq, Tv) scores: ``sum(scale * tanh(query[:, :, None] + key[:, None]), -1)``."""
        q_reshaped = corten.expand_dims(query, axis=-2)  # (B, Tq, 1, dim)
        k_reshaped = corten.expand_dims(key, axis=-3)  # (B, 1, Tv, dim)
        terms = corten.tanh(corten.add(q_reshaped, k_reshaped))
        if self.use_scale:
            terms = corten.multiply(self.scale, terms)
        return corten.reduce_sum(terms, axis=-1)

    def get_config(self) -> dict:
        config = super().get_config()
        config["use_scale"] = self.use_scale
        return config
