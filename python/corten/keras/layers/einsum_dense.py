"""EinsumDense: a dense layer whose product is any ``einsum`` equation (tf.keras 2's)."""

from __future__ import annotations

import re
from typing import Any

import corten
from corten.keras import activations, constraints, initializers, regularizers
from corten.keras.layers.base_layer import Layer
from corten.ops.einsum import einsum

__all__ = ["EinsumDense"]


def _maybe(fn: Any, value: Any) -> Any:
    return None if value is None else fn(value)


class EinsumDense(Layer):
    """A layer computing ``activation(einsum(equation, inputs, kernel) + bias)``.

    The kernel's shape is read off the equation: each of its subscripts takes the size of the
    same subscript in the input or in ``output_shape``. ``MultiHeadAttention`` builds its
    projections from this layer.

    Args:
        equation: an equation of the form ``"ab,bc->ac"``, ``"...ab,bc->...ac"`` or
            ``"ab...,bc->ac..."``: the input's subscripts, the kernel's, and the output's.
        output_shape: the output's shape without the batch axis and the ellipsis axes (an int
            for one axis); None entries are taken from the input.
        activation: a name or callable (None: linear).
        bias_axes: the output subscripts the bias spans (None: no bias); its shape is 1 on the
            other axes from the first of them on, so it broadcasts against the output.
        kernel_initializer, bias_initializer: initializers (glorot_uniform and zeros).
        kernel_regularizer, bias_regularizer, activity_regularizer: penalties added to losses.
        kernel_constraint, bias_constraint: projections applied after optimizer updates.

    Example:
        >>> layer = EinsumDense("abc,cde->abde", output_shape=(None, 4, 8), bias_axes="de")
        >>> layer(corten.ones((2, 5, 16))).shape
        TensorShape([2, 5, 4, 8])
        >>> layer.kernel.shape, layer.bias.shape
        (TensorShape([16, 4, 8]), TensorShape([4, 8]))
    """

    def __init__(self, equation: str, output_shape: Any, activation: Any = None,
                 bias_axes: str | None = None, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.equation = equation
        if isinstance(output_shape, int):
            self.partial_output_shape = [output_shape]
        else:
            self.partial_output_shape = list(output_shape)
        self.bias_axes = bias_axes
        self.activation = activations.get(activation)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def build(self, input_shape: Any) -> None:
        input_shape = tuple(input_shape)
        _check_rank(self.equation, input_shape)
        kernel_shape, bias_shape, full_output_shape = _analyze_einsum_string(
            self.equation, self.bias_axes, input_shape, self.partial_output_shape)
        self.full_output_shape = tuple(full_output_shape)
        self.kernel = self.add_weight("kernel", shape=kernel_shape,
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, dtype=self.dtype,
                                      trainable=True)
        if bias_shape is not None:
            self.bias = self.add_weight("bias", shape=bias_shape,
                                        initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint, dtype=self.dtype,
                                        trainable=True)
        else:
            self.bias = None
        self.__dict__["built"] = True

    def call(self, inputs: Any) -> Any:
        out = einsum(self.equation, inputs, self.kernel)
        if self.bias is not None:
            out = corten.add(out, self.bias)
        return self.activation(out)

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The output's shape for inputs of ``input_shape``.

        tf.keras 2 returns the shape worked out at build time, in which ``output_shape``'s None
        entries stay None and several left-elided axes come out in reverse order; here the
        shared subscripts take the input's sizes and the elided axes keep their order, which
        is the shape ``call`` returns.
        """
        input_shape = tuple(input_shape)
        _check_rank(self.equation, input_shape)
        _analyze_einsum_string(self.equation, self.bias_axes, input_shape,
                               self.partial_output_shape)
        return corten.TensorShape(_output_shape(self.equation, input_shape,
                                                self.partial_output_shape))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({
            "output_shape": self.partial_output_shape,
            "equation": self.equation,
            "activation": activations.serialize(self.activation),
            "bias_axes": self.bias_axes,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": _maybe(regularizers.serialize, self.kernel_regularizer),
            "bias_regularizer": _maybe(regularizers.serialize, self.bias_regularizer),
            "activity_regularizer": _maybe(regularizers.serialize, self.activity_regularizer),
            "kernel_constraint": _maybe(constraints.serialize, self.kernel_constraint),
            "bias_constraint": _maybe(constraints.serialize, self.bias_constraint),
        })
        return config


# The three forms tf.keras 2 accepts, with "..." written as "0".
_FORMS = (("([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)", False),
          ("0([a-zA-Z]+),([a-zA-Z]+)->0([a-zA-Z]+)", True),
          ("([a-zA-Z]{2,})0,([a-zA-Z]+)->([a-zA-Z]+)0", False))


def _split(equation: str) -> tuple[str, str, str, bool]:
    """(input, kernel and output subscripts, whether the ellipsis is on the left)."""
    dot_replaced = re.sub(r"\.\.\.", "0", equation)
    for pattern, left_elided in _FORMS:
        match = re.match(pattern, dot_replaced)
        if match:
            return match.group(1), match.group(2), match.group(3), left_elided
    raise ValueError(f"Invalid einsum equation '{equation}'. Equations must be in the form "
                     "[X],[Y]->[Z], ...[X],[Y]->...[Z], or [X]...,[Y]->[Z]....")


def _check_rank(equation: str, input_shape: tuple) -> None:
    input_spec, _, _, _ = _split(equation)
    elided = "..." in equation.split(",")[0]
    if len(input_shape) < len(input_spec) or (
            not elided and len(input_shape) != len(input_spec)):
        want = f"at least {len(input_spec)}" if elided else str(len(input_spec))
        raise ValueError(f"EinsumDense: the equation {equation!r} takes inputs of rank {want}. "
                         f"Received: input_shape={input_shape}")


def _analyze_einsum_string(equation: str, bias_axes: str | None, input_shape: tuple,
                           output_shape: Any) -> tuple[list, list | None, list]:
    """(kernel shape, bias shape or None, full output shape) as tf.keras 2 works them out,
    with its error messages.

    Raises:
        ValueError: an equation of another form, an output size that contradicts the input's
            at a shared subscript, or a kernel/output/bias subscript with no size.
    """
    input_spec, weight_spec, output_spec, left_elided = _split(equation)
    elided = len(input_shape) - len(input_spec)
    output_shape = [output_shape] if isinstance(output_shape, int) else list(output_shape)
    output_shape.insert(0, input_shape[0])
    if elided > 0 and left_elided:
        # tf.keras 2 inserts each elided axis at 1, which reverses several of them; kept so
        # that the kernel and bias shapes (which never depend on it) are computed the same.
        for i in range(1, elided):
            output_shape.insert(1, input_shape[i])
    elif elided > 0 and not left_elided:
        for i in range(len(input_shape) - elided, len(input_shape)):
            output_shape.append(input_shape[i])

    if left_elided:
        input_dim_map = {dim: (i + elided) - len(input_shape) for i, dim in enumerate(input_spec)}
        output_dim_map = {dim: (i + elided) for i, dim in enumerate(output_spec)}
    else:
        input_dim_map = {dim: i for i, dim in enumerate(input_spec)}
        output_dim_map = {dim: i for i, dim in enumerate(output_spec)}

    for dim in input_spec:
        input_shape_at_dim = input_shape[input_dim_map[dim]]
        if dim in output_dim_map:
            output_shape_at_dim = output_shape[output_dim_map[dim]]
            if output_shape_at_dim is not None and output_shape_at_dim != input_shape_at_dim:
                raise ValueError(
                    "Input shape and output shape do not match at shared dimension "
                    f"'{dim}'. Input shape is {input_shape_at_dim}, and output shape is "
                    f"{output_shape[output_dim_map[dim]]}.")

    for dim in output_spec:
        if dim not in input_spec and dim not in weight_spec:
            raise ValueError(f"Dimension '{dim}' was specified in the output '{output_spec}' "
                             f"but has no corresponding dim in the input spec '{input_spec}' "
                             f"or weight spec '{output_spec}'")

    weight_shape = []
    for dim in weight_spec:
        if dim in input_dim_map:
            weight_shape.append(input_shape[input_dim_map[dim]])
        elif dim in output_dim_map:
            weight_shape.append(output_shape[output_dim_map[dim]])
        else:
            raise ValueError(f"Weight dimension '{dim}' did not have a match in either the "
                             f"input spec '{input_spec}' or the output spec '{output_spec}'. "
                             "For this layer, the weight must be fully specified.")

    bias_shape = None
    if bias_axes is not None:
        num_left_elided = elided if left_elided else 0
        idx_map = {char: output_shape[i + num_left_elided] for i, char in enumerate(output_spec)}
        for char in bias_axes:
            if char not in output_spec:
                raise ValueError(f"Bias dimension '{char}' was requested, but is not part of "
                                 f"the output spec '{output_spec}'")
        first_bias_location = min(output_spec.find(char) for char in bias_axes)
        bias_output_spec = output_spec[first_bias_location:]
        bias_shape = [idx_map[char] if char in bias_axes else 1 for char in bias_output_spec]
        if not left_elided:
            bias_shape.extend([1] * max(elided, 0))
    return weight_shape, bias_shape, output_shape


def _output_shape(equation: str, input_shape: tuple, partial: Any) -> tuple:
    """The shape ``call`` returns: the output subscripts' sizes (the input's where it has the
    subscript, else ``partial``'s), with the elided axes in place."""
    input_spec, _, output_spec, left_elided = _split(equation)
    elided = len(input_shape) - len(input_spec)
    partial = [partial] if isinstance(partial, int) else list(partial)
    # tf.keras's partial shape leaves out the batch axis: the first output subscript's size.
    known = [input_shape[0]] + partial
    if left_elided:
        ell = list(input_shape[:elided])
        own_in = input_shape[elided:]
        known = partial[len(partial) - len(output_spec):] if len(partial) >= len(output_spec) \
            else [None] * (len(output_spec) - len(partial)) + partial
    else:
        ell = list(input_shape[len(input_shape) - elided:]) if elided > 0 else []
        own_in = input_shape[:len(input_spec)]
    sizes = {dim: own_in[i] for i, dim in enumerate(input_spec)}
    dims = []
    for i, dim in enumerate(output_spec):
        size = sizes.get(dim)
        if size is None and i < len(known):
            size = known[i]
        dims.append(size)
    return tuple(ell + dims) if left_elided else tuple(dims + ell)
