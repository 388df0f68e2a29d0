"""MultiHeadAttention (tf.keras 2.21's), built from EinsumDense projections and ``einsum``."""

from __future__ import annotations

import collections.abc
import math
import string
from typing import Any

import corten
from corten import _C
from corten.keras import constraints, initializers, regularizers
from corten.keras.layers.activation_layers import Softmax
from corten.keras.layers.base_layer import Layer
from corten.keras.layers.core import Dropout
from corten.keras.layers.einsum_dense import EinsumDense
from corten.ops.einsum import einsum
from corten.ops.linalg import band_part

Tensor = corten.Tensor

__all__ = ["MultiHeadAttention"]

_CHR_IDX = string.ascii_lowercase


def _build_attention_equation(rank: int, attn_axes: tuple) -> tuple[str, str, int]:
    """The einsum equations of the query-key product and of the value combination.

    Projected query, key and value have shape ``(batch, <non-attention axes>, <attention
    axes>, num_heads, channels)``; batch, the non-attention axes and the heads are batch axes
    of both products. Returns (dot product equation, combine equation, rank of the scores).
    """
    target_notation = _CHR_IDX[:rank]
    # the batch axes include the heads' axis
    batch_dims = tuple(i for i in range(rank) if i not in attn_axes + (rank - 1,))
    letter_offset = rank
    source_notation = ""
    for i in range(rank):
        if i in batch_dims or i == rank - 1:
            source_notation += target_notation[i]
        else:
            source_notation += _CHR_IDX[letter_offset]
            letter_offset += 1
    product_notation = "".join([target_notation[i] for i in batch_dims]
                               + [target_notation[i] for i in attn_axes]
                               + [source_notation[i] for i in attn_axes])
    dot_product_equation = f"{source_notation},{target_notation}->{product_notation}"
    combine_equation = f"{product_notation},{source_notation}->{target_notation}"
    return dot_product_equation, combine_equation, len(product_notation)


def _build_proj_equation(free_dims: int, bound_dims: int, output_dims: int) -> tuple[str, str,
                                                                                     int]:
    """The einsum equation of a projection: (equation, bias axes, output rank)."""
    input_str = kernel_str = output_str = bias_axes = ""
    for i in range(free_dims):
        input_str += _CHR_IDX[i]
        output_str += _CHR_IDX[i]
    for i in range(bound_dims):
        char = _CHR_IDX[free_dims + i]
        input_str += char
        kernel_str += char
    for i in range(output_dims):
        char = _CHR_IDX[free_dims + bound_dims + i]
        kernel_str += char
        output_str += char
        bias_axes += char
    return f"{input_str},{kernel_str}->{output_str}", bias_axes, len(output_str)


def _get_output_shape(output_rank: int, known_last_dims: Any) -> list:
    return [None] * (output_rank - len(known_last_dims)) + list(known_last_dims)


def _shape_list(value: Any) -> list | None:
    """A shape (tensor, TensorShape, tuple or list) as a JSON-ready list."""
    if value is None:
        return None
    shape = value.shape if hasattr(value, "shape") and not isinstance(value, (list, tuple)) \
        else value
    return [None if d is None else int(d) for d in shape]


def _maybe(fn: Any, value: Any) -> Any:
    return None if value is None else fn(value)


def _as_tensor(x: Any) -> Any:
    return x if x is None or isinstance(x, Tensor) else corten.convert_to_tensor(x)


class MultiHeadAttention(Layer):
    """Multi-head attention (Vaswani et al., 2017), as tf.keras 2.

    ``query``, ``key`` and ``value`` are projected to ``num_heads`` heads by EinsumDense layers
    named ``query``, ``key`` and ``value`` (kernels of shape ``(dim, num_heads, key_dim)``,
    and ``(dim, num_heads, value_dim)`` for the value); the scaled query-key products are
    softmaxed over the attention axes (masked positions get -1e9 added first), dropped out,
    used to combine the values, and the heads are projected back by ``attention_output``
    (kernel ``(num_heads, value_dim, out)``). Weights come in tf.keras's ``get_weights()``
    order: query kernel and bias, key, value, attention_output.

    Args:
        num_heads: number of attention heads.
        key_dim: size of each head for query and key.
        value_dim: size of each head for value (default: key_dim).
        dropout: dropout rate on the attention probabilities.
        use_bias: whether the projections have biases.
        output_shape: the output's last axes (an int or a tuple); default the query's last
            dimension.
        attention_axes: the axes attention runs over (default: all but batch, heads and
            features).
        kernel_initializer, bias_initializer: initializers of the projections.
        kernel_regularizer, bias_regularizer, activity_regularizer: penalties.
        kernel_constraint, bias_constraint: constraints of the projections.
        softmax_robust_masking: replace masked scores by -1e9 instead of adding -1e9
            (tf.keras 2.21's option).

    Call arguments:
        query: ``(B, T, dim)`` (or ``(B, ..., dim)`` with attention_axes).
        value: ``(B, S, dim)``.
        key: ``(B, S, dim)``; default ``value``.
        attention_mask: a boolean ``(B, T, S)`` mask (1: attend), broadcast over missing
            batch axes and the heads. Combined with the Keras masks of query, value and key
            and the causal mask by logical AND.
        return_attention_scores: also return the attention probabilities ``(B, N, T, S)``.
        training: whether dropout is active.
        use_causal_mask: mask positions ``s > t`` (a decoder's self-attention).

    Example:
        >>> mha = MultiHeadAttention(num_heads=2, key_dim=2)
        >>> out, scores = mha(corten.ones((1, 8, 16)), corten.ones((1, 4, 16)),
        ...                   return_attention_scores=True)
        >>> out.shape, scores.shape
        (TensorShape([1, 8, 16]), TensorShape([1, 2, 8, 4]))
    """

    def __init__(self, num_heads: int, key_dim: int, value_dim: int | None = None,
                 dropout: float = 0.0, use_bias: bool = True, output_shape: Any = None,
                 attention_axes: Any = None, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None,
                 softmax_robust_masking: bool = False, **kwargs: Any) -> None:
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.supports_masking = True
        self._num_heads = num_heads
        self._key_dim = key_dim
        self._value_dim = value_dim if value_dim else key_dim
        self._dropout = dropout
        self._use_bias = use_bias
        self._output_shape = output_shape
        self._kernel_initializer = initializers.get(kernel_initializer)
        self._bias_initializer = initializers.get(bias_initializer)
        self._kernel_regularizer = regularizers.get(kernel_regularizer)
        self._bias_regularizer = regularizers.get(bias_regularizer)
        self._kernel_constraint = constraints.get(kernel_constraint)
        self._bias_constraint = constraints.get(bias_constraint)
        self._softmax_robust_masking = softmax_robust_masking
        if attention_axes is not None and not isinstance(attention_axes,
                                                         collections.abc.Sized):
            self._attention_axes = (attention_axes,)
        else:
            self._attention_axes = attention_axes
        self._built_from_signature = False
        self._query_shape = self._key_shape = self._value_shape = None

    # tf.keras 2's read-only properties of the sublayers and arguments.
    @property
    def num_heads(self) -> int:
        return self._num_heads

    @property
    def key_dim(self) -> int:
        return self._key_dim

    @property
    def value_dim(self) -> int:
        return self._value_dim

    @property
    def use_bias(self) -> bool:
        return self._use_bias

    @property
    def attention_axes(self) -> Any:
        return self._attention_axes

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({
            "num_heads": self._num_heads,
            "key_dim": self._key_dim,
            "value_dim": self._value_dim,
            "dropout": self._dropout,
            "use_bias": self._use_bias,
            "output_shape": self._output_shape,
            "attention_axes": self._attention_axes,
            "kernel_initializer": initializers.serialize(self._kernel_initializer),
            "bias_initializer": initializers.serialize(self._bias_initializer),
            "kernel_regularizer": _maybe(regularizers.serialize, self._kernel_regularizer),
            "bias_regularizer": _maybe(regularizers.serialize, self._bias_regularizer),
            "activity_regularizer": _maybe(regularizers.serialize, self.activity_regularizer),
            "kernel_constraint": _maybe(constraints.serialize, self._kernel_constraint),
            "bias_constraint": _maybe(constraints.serialize, self._bias_constraint),
            "query_shape": self._query_shape,
            "key_shape": self._key_shape,
            "value_shape": self._value_shape,
            "softmax_robust_masking": self._softmax_robust_masking,
        })
        return config

    _from_config_keys = ("query_shape", "key_shape", "value_shape")

    @classmethod
    def from_config(cls, config: dict) -> MultiHeadAttention:
        """The layer of ``config``, with its weights created when the config records the
        input shapes (as tf.keras 2, so that saved weights can be loaded before a call)."""
        config = dict(config)
        query_shape = config.pop("query_shape", None)
        key_shape = config.pop("key_shape", None)
        value_shape = config.pop("value_shape", None)
        layer = cls(**config)
        if None not in (query_shape, key_shape, value_shape):
            layer._build_from_signature(query_shape, value_shape, key_shape)
        return layer

    def build_from_config(self, config: dict) -> None:
        """Nothing: the weights come from ``from_config``'s recorded shapes, or the first call
        (a build config records the query's shape only)."""

    def _build_from_signature(self, query: Any, value: Any, key: Any = None) -> None:
        """Creates the projections and their weights for inputs (or shapes) query, value, key.

        tf.keras 2 creates the EinsumDense layers here and their weights at their first call;
        corten builds them at once, in the same order, so ``weights`` is complete right after
        ``from_config``.
        """
        self._built_from_signature = True
        self._query_shape = _shape_list(query)
        self._value_shape = _shape_list(value)
        self._key_shape = self._value_shape if key is None else _shape_list(key)
        free_dims = len(self._query_shape) - 1
        equation, bias_axes, output_rank = _build_proj_equation(free_dims, bound_dims=1,
                                                                output_dims=2)
        self._query_dense = EinsumDense(
            equation, output_shape=_get_output_shape(output_rank - 1,
                                                     [self._num_heads, self._key_dim]),
            bias_axes=bias_axes if self._use_bias else None, name="query",
            **self._get_common_kwargs_for_sublayer())
        equation, bias_axes, output_rank = _build_proj_equation(len(self._key_shape) - 1,
                                                                bound_dims=1, output_dims=2)
        self._key_dense = EinsumDense(
            equation, output_shape=_get_output_shape(output_rank - 1,
                                                     [self._num_heads, self._key_dim]),
            bias_axes=bias_axes if self._use_bias else None, name="key",
            **self._get_common_kwargs_for_sublayer())
        equation, bias_axes, output_rank = _build_proj_equation(len(self._value_shape) - 1,
                                                                bound_dims=1, output_dims=2)
        self._value_dense = EinsumDense(
            equation, output_shape=_get_output_shape(output_rank - 1,
                                                     [self._num_heads, self._value_dim]),
            bias_axes=bias_axes if self._use_bias else None, name="value",
            **self._get_common_kwargs_for_sublayer())
        self._build_attention(output_rank)
        self._output_dense = self._make_output_dense(
            free_dims, self._get_common_kwargs_for_sublayer(), "attention_output")
        self._query_dense.build(tuple(self._query_shape))
        self._key_dense.build(tuple(self._key_shape))
        self._value_dense.build(tuple(self._value_shape))
        self._output_dense.build(tuple(self._query_shape[:-1])
                                 + (self._num_heads, self._value_dim))
        self.__dict__["built"] = True

    def _get_common_kwargs_for_sublayer(self) -> dict:
        # Fresh initializer objects per sublayer, as tf.keras (a shared seeded initializer
        # object would otherwise be reused).
        kernel_initializer = self._kernel_initializer.__class__.from_config(
            self._kernel_initializer.get_config())
        bias_initializer = self._bias_initializer.__class__.from_config(
            self._bias_initializer.get_config())
        return {"kernel_regularizer": self._kernel_regularizer,
                "bias_regularizer": self._bias_regularizer,
                "activity_regularizer": self.activity_regularizer,
                "kernel_constraint": self._kernel_constraint,
                "bias_constraint": self._bias_constraint,
                "dtype": self._dtype_policy,
                "kernel_initializer": kernel_initializer,
                "bias_initializer": bias_initializer}

    def _make_output_dense(self, free_dims: int, common_kwargs: dict,
                           name: str | None = None) -> EinsumDense:
        """The output projection, from (heads, value_dim) to ``output_shape``."""
        if self._output_shape:
            output_shape = list(self._output_shape) if isinstance(
                self._output_shape, collections.abc.Sized) else [self._output_shape]
        else:
            output_shape = [self._query_shape[-1]]
        equation, bias_axes, output_rank = _build_proj_equation(
            free_dims, bound_dims=2, output_dims=len(output_shape))
        return EinsumDense(equation, output_shape=_get_output_shape(output_rank - 1,
                                                                     output_shape),
                           bias_axes=bias_axes if self._use_bias else None, name=name,
                           **common_kwargs)

    def _build_attention(self, rank: int) -> None:
        """The attention equations, the softmax over the attention axes, and the dropout."""
        if self._attention_axes is None:
            self._attention_axes = tuple(range(1, rank - 2))
        else:
            self._attention_axes = tuple(self._attention_axes)
        self._dot_product_equation, self._combine_equation, attn_scores_rank = \
            _build_attention_equation(rank, attn_axes=self._attention_axes)
        norm_axes = tuple(range(attn_scores_rank - len(self._attention_axes),
                                attn_scores_rank))
        self._softmax = Softmax(axis=norm_axes, robust_masking=self._softmax_robust_masking,
                                dtype=self._dtype_policy)
        self._dropout_layer = Dropout(rate=self._dropout, dtype=self._dtype_policy)

    def _masked_softmax(self, attention_scores: Any, attention_mask: Any = None) -> Any:
        if attention_mask is not None:
            # The mask's missing axes are inserted before the attention axes: at the heads'
            # axis of (<batch axes>, num_heads, <query attention axes>, <key attention axes>).
            mask_expansion_axis = -len(self._attention_axes) * 2 - 1
            for _ in range(attention_scores.ndim - attention_mask.ndim):
                attention_mask = corten.expand_dims(attention_mask, axis=mask_expansion_axis)
        return self._softmax(attention_scores, mask=attention_mask)

    def _compute_attention(self, query: Any, key: Any, value: Any, attention_mask: Any = None,
                           training: Any = None) -> tuple[Any, Any]:
        """Scaled dot-product attention of the projected query (B, T, N, key_dim), key
        (B, S, N, key_dim) and value (B, S, N, value_dim): (output, probabilities)."""
        # The scale is applied to the query, the smaller end of the product, as tf.keras.
        query = corten.multiply(query, 1.0 / math.sqrt(float(self._key_dim)))
        attention_scores = einsum(self._dot_product_equation, key, query)
        attention_scores = self._masked_softmax(attention_scores, attention_mask)
        # Dropping whole tokens to attend to, as in the original Transformer.
        attention_scores_dropout = self._dropout_layer(attention_scores, training=training)
        attention_output = einsum(self._combine_equation, attention_scores_dropout, value)
        return attention_output, attention_scores

    def call(self, query: Any, value: Any, key: Any = None, attention_mask: Any = None,
             return_attention_scores: bool = False, training: Any = None,
             use_causal_mask: bool = False) -> Any:
        value = _as_tensor(value)
        key = _as_tensor(key)
        attention_mask = _as_tensor(attention_mask)
        if not self._built_from_signature:
            self._build_from_signature(query=query, value=value, key=key)
        if key is None:
            key = value
        attention_mask = self._compute_attention_mask(query, value, key=key,
                                                      attention_mask=attention_mask,
                                                      use_causal_mask=use_causal_mask)
        query = self._query_dense(query)  # (B, T, N, key_dim)
        key = self._key_dense(key)  # (B, S, N, key_dim)
        value = self._value_dense(value)  # (B, S, N, value_dim)
        if not return_attention_scores and self._fusable(training):
            attention_output = self._fused_attention(query, key, value, attention_mask,
                                                     training)
            return self._output_dense(attention_output)
        attention_output, attention_scores = self._compute_attention(
            query, key, value, attention_mask, training)
        attention_output = self._output_dense(attention_output)
        if return_attention_scores:
            return attention_output, attention_scores
        return attention_output

    def _fusable(self, training: Any) -> bool:
        # The fused kernel takes (B, T, N, depth) with attention over T, the default axes of a
        # rank-3 input; it draws its own dropout mask, so it needs to know whether this call
        # trains (a dropout rate of 1 keeps the layer's path).
        return (self._attention_axes == (1,) and len(self._query_shape) == 3
                and (self._dropout == 0 or (training is not None and self._dropout < 1)))

    def _fused_attention(self, query: Any, key: Any, value: Any, attention_mask: Any,
                         training: Any) -> Any:
        """_compute_attention's output through one fused kernel each way
        (corten.nn.scaled_dot_product_attention): no (T, S) score tensor is kept."""
        mask = None
        if attention_mask is not None:
            # (B, T, S) -> (B, 1, T, S), (T, S) -> (1, T, S): one mask for every head, as
            # _masked_softmax expands it.
            mask = corten.expand_dims(corten.cast(attention_mask, "bool"), -3)
        rate = float(self._dropout) if training else 0.0
        return corten.nn.scaled_dot_product_attention(
            query, key, value, attention_mask=mask, scale=1.0 / math.sqrt(float(self._key_dim)),
            dropout_rate=rate)

    def _compute_attention_mask(self, query: Any, value: Any, key: Any = None,
                                attention_mask: Any = None,
                                use_causal_mask: bool = False) -> Any:
        """The Keras masks of query ``(B, T)`` -> ``(B, T, 1)``, value and key ``(B, S)`` ->
        ``(B, 1, S)``, the causal mask ``(1, T, S)`` and ``attention_mask``, ANDed (tf.keras
        2's rule). None when there is no mask at all."""
        query_mask = getattr(query, "_keras_mask", None)
        value_mask = getattr(value, "_keras_mask", None)
        key_mask = getattr(key, "_keras_mask", None)
        auto_mask = None
        if query_mask is not None:
            query_mask = corten.cast(query_mask, corten.bool)
            auto_mask = corten.expand_dims(query_mask, 2)  # query_mask[:, :, newaxis]
        if value_mask is not None:
            value_mask = corten.cast(value_mask, corten.bool)
            mask = corten.expand_dims(value_mask, 1)  # value_mask[:, newaxis, :]
            auto_mask = mask if auto_mask is None else corten.logical_and(auto_mask, mask)
        if key_mask is not None:
            key_mask = corten.cast(key_mask, corten.bool)
            mask = corten.expand_dims(key_mask, 1)
            auto_mask = mask if auto_mask is None else corten.logical_and(auto_mask, mask)
        if use_causal_mask:
            mask = self._compute_causal_mask(query, value)
            auto_mask = mask if auto_mask is None else corten.logical_and(auto_mask, mask)
        if auto_mask is not None:
            attention_mask = auto_mask if attention_mask is None else corten.logical_and(
                corten.cast(attention_mask, corten.bool), auto_mask)
        return attention_mask

    def _compute_causal_mask(self, query: Any, value: Any = None) -> Any:
        """The lower-triangular ``(1, T, S)`` boolean mask: query position t sees s <= t."""
        q_seq_length = query.shape[1]
        v_seq_length = q_seq_length if value is None else value.shape[1]
        if q_seq_length is None or v_seq_length is None or any(
                getattr(t, "device", None) == "meta" for t in (query, value)):
            return _C.empty_meta((1, q_seq_length, v_seq_length), corten.bool)
        return band_part(corten.ones((1, q_seq_length, v_seq_length), corten.bool), -1, 0)

    def compute_output_shape(self, query_shape: Any, value_shape: Any = None,
                             key_shape: Any = None) -> Any:
        """``query_shape`` with the last axis replaced by ``output_shape`` (when given).

        ``value_shape`` defaults to ``query_shape`` (self-attention). As tf.keras 2, the
        query's and value's last dimensions must agree here, and key and value must agree in
        all but the last axis.
        """
        if value_shape is None:
            value_shape = query_shape
        if key_shape is None:
            key_shape = value_shape
        query_shape = tuple(query_shape)
        value_shape = tuple(value_shape)
        key_shape = tuple(key_shape)
        if query_shape[-1] != value_shape[-1]:
            raise ValueError("The last dimension of `query_shape` and `value_shape` must be "
                             f"equal, but are {query_shape[-1]}, {value_shape[-1]}. Received: "
                             f"query_shape={query_shape}, value_shape={value_shape}")
        if value_shape[1:-1] != key_shape[1:-1]:
            raise ValueError("All dimensions of `value` and `key`, except the last one, must "
                             f"be equal. Received {value_shape} and {key_shape}")
        if self._output_shape:
            extra = tuple(self._output_shape) if isinstance(
                self._output_shape, collections.abc.Sized) else (self._output_shape,)
            return corten.TensorShape(query_shape[:-1] + extra)
        return corten.TensorShape(query_shape)
