"""Image ops over the C++ image kernels (csrc/ops/image.cpp): the projective transform sampler
of Keras's RandomRotation, RandomZoom and RandomTranslation (TensorFlow's
ImageProjectiveTransformV3)."""

from __future__ import annotations

from typing import Any

from corten import _C
from corten.ops import _symbolic as _sym
from corten.ops.creation import convert_to_tensor

Tensor = _C.Tensor

__all__ = ["image_transform"]


def image_transform(images: Any, transforms: Any, output_shape: Any = None,
                    interpolation: str = "bilinear", fill_mode: str = "reflect",
                    fill_value: float = 0.0) -> Tensor:
    """Samples each image at the points its projective transform maps the output pixels to.

    Args:
        images: (n, height, width, channels), float32 or float64.
        transforms: (8,), (1, 8) or (n, 8) float32; a row [a0, a1, a2, b0, b1, b2, c0, c1]
            maps output point (x, y) to input point ((a0 x + a1 y + a2) / k,
            (b0 x + b1 y + b2) / k) with k = c0 x + c1 y + 1 (the inverse of the image's
            motion, as TensorFlow's).
        output_shape: [out_height, out_width]; None keeps the input's.
        interpolation: 'nearest' or 'bilinear'.
        fill_mode: how points outside the image read: 'reflect' (d c b a | a b c d),
            'wrap' (a b c d | a b c d), 'constant' (fill_value) or 'nearest' (the edge).
        fill_value: the value of outside points under 'constant'.

    Returns:
        (n, out_height, out_width, channels) of the images' dtype; differentiable with
        respect to the images (the exact adjoint of the sampling), not the transforms.

    Raises:
        ValueError: for wrong ranks or shapes, or unknown modes (naming the op and shapes).
        TypeError: for non-floating images.
    """
    if _sym.active and (type(images) is _sym.KT or type(transforms) is _sym.KT):
        return _sym.op_node(image_transform, (images, transforms, output_shape, interpolation,
                                              fill_mode, fill_value), {})
    transforms = convert_to_tensor(transforms, dtype="float32") \
        if not isinstance(transforms, Tensor) else transforms
    if transforms.ndim == 1:
        transforms = _C.reshape(transforms, [1, -1])
    if output_shape is None:
        output_shape = [int(images.shape[1]), int(images.shape[2])]
    return _C.image_transform(images, transforms, [int(s) for s in output_shape],
                              interpolation, fill_mode, float(fill_value))
