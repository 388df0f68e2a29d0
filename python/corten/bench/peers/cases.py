"""The bench's one case table: every case, the libraries that run it, and how each runs it.

Imported by the parent (to plan the run and compute references) and by every worker (to
build the case in its own library), so, like ``protocol.py``, it imports only the standard
library at module level.

Kernel cases are written here in full: ``calls[library](module, *inputs)`` is what one timed
call runs, with `module` the library's module (``corten``, ``numpy``, ``torch``) and `inputs`
the case's arrays already converted to that library's tensors. numpy's entry, run by the
parent on float64 copies of the inputs, is the reference every library's result is checked
against (``tol``). Training cases name their libraries only: each peer script builds the same
model, optimizer, data and loop in its own API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

if __package__:  # imported by the parent as corten.bench.peers.cases
    from .case_types import Case, Input
    from .layer_cases import LAYER_LIBRARIES, LAYERS
    from .text_cases import text_cases
else:  # imported by a worker script, with peers/ on sys.path
    from case_types import Case, Input
    from layer_cases import LAYER_LIBRARIES, LAYERS
    from text_cases import text_cases

KERNEL_LIBRARIES = ("corten", "numpy", "torch")
TRAINING_LIBRARIES = ("corten", "torch", "torch.compile", "keras3-torch", "keras3-jax",
                      "tf.keras")
#: The libraries that run the Keras API (and so share the Keras builds of layer cases);
#: corten.function is corten's worker running those builds inside corten.function.
KERAS_API_LIBRARIES = ("corten", "corten.function", "tf.keras", "keras3-torch", "keras3-jax")
INFERENCE_LIBRARIES = ("corten", "torch", "keras3-torch", "keras3-jax", "tf.keras")
#: corten and tf.keras under the global policy mixed_bfloat16 (the training cases that issue
#: 21 compares with float32: the toy ResNet and the transformer classifier).
MIXED_PRECISION_LIBRARIES = ("corten.mixed_bfloat16", "tf.keras.mixed_bfloat16")

#: Training data: the first N_SAMPLES images of corten's bundled MNIST subset, in [0, 1].
N_SAMPLES = 4096
BATCH = 64
PREDICT_BATCH = 32


def predict_rows(case: str) -> int:
    """The rows an inference case predicts on."""
    return 1 if "one sample" in case else PREDICT_BATCH


TAPE_STEPS = 100


def _same(fn: Callable[..., Any]) -> dict[str, Callable[..., Any]]:
    """The same expression in every kernel library (operators, methods and names they share)."""
    return {lib: fn for lib in KERNEL_LIBRARIES}


def _f32(*shape: int) -> Input:
    return Input(tuple(shape))


def _np_softmax(np, x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _np_logsumexp(np, x):
    m = x.max(-1, keepdims=True)
    return (np.log(np.exp(x - m).sum(-1, keepdims=True)) + m)[..., 0]


def _op(name, shape, inputs, calls, tol=(2e-4, 1e-4), note=""):
    return Case("ops", name, shape, KERNEL_LIBRARIES, tuple(inputs), calls, tol, note=note)


_M = (_f32(1_000_000), _f32(1_000_000))
_X = (_f32(1000, 1000),)

OPS = [
    _op("add", "1M", _M, _same(lambda m, a, b: a + b)),
    _op("multiply", "1M", _M, _same(lambda m, a, b: a * b)),
    _op("exp", "1M", _M[:1], _same(lambda m, a: m.exp(a))),
    _op("tanh", "1M", _M[:1], _same(lambda m, a: m.tanh(a))),
    _op("relu", "1M", _M[:1], {"corten": lambda tf, a: tf.nn.relu(a),
                               "numpy": lambda np, a: np.maximum(a, 0),
                               "torch": lambda torch, a: torch.relu(a)}),
    _op("sigmoid", "1M", _M[:1], {"corten": lambda tf, a: tf.sigmoid(a),
                                  "numpy": lambda np, a: 1 / (1 + np.exp(-a)),
                                  "torch": lambda torch, a: torch.sigmoid(a)}),
    _op("reduce_sum", "1M", _M[:1], {"corten": lambda tf, a: tf.reduce_sum(a),
                                     "numpy": lambda np, a: a.sum(),
                                     "torch": lambda torch, a: a.sum()}, tol=(1e-5, 1e-2)),
    _op("reduce_sum(axis=-1)", "1000x1000", _X,
        {"corten": lambda tf, x: tf.reduce_sum(x, axis=-1), "numpy": lambda np, x: x.sum(-1),
         "torch": lambda torch, x: x.sum(-1)}),
    _op("reduce_max", "1M", _M[:1], {"corten": lambda tf, a: tf.reduce_max(a),
                                     "numpy": lambda np, a: a.max(),
                                     "torch": lambda torch, a: a.max()}),
    _op("reduce_max(axis=-1)", "1000x1000", _X,
        {"corten": lambda tf, x: tf.reduce_max(x, axis=-1), "numpy": lambda np, x: x.max(-1),
         "torch": lambda torch, x: x.amax(-1)}),
    _op("argmax(axis=-1)", "1000x1000", _X,
        {"corten": lambda tf, x: tf.argmax(x, axis=-1), "numpy": lambda np, x: x.argmax(-1),
         "torch": lambda torch, x: x.argmax(-1)}, tol=(0, 0)),
    _op("reduce_logsumexp(axis=-1)", "1000x1000", _X,
        {"corten": lambda tf, x: tf.reduce_logsumexp(x, axis=-1), "numpy": _np_logsumexp,
         "torch": lambda torch, x: torch.logsumexp(x, -1)}),
    _op("softmax(axis=-1)", "1000x1000", _X,
        {"corten": lambda tf, x: tf.nn.softmax(x), "numpy": _np_softmax,
         "torch": lambda torch, x: torch.softmax(x, -1)}),
]

# A bias added over the leading dimensions (EinsumDense's, of a MultiHeadAttention projection),
# and dropout at training time on a transformer block's activations: each library's own op.
OPS += [
    _op("add (bias over leading dims)", "32x200x2x32 + 2x32", (_f32(32, 200, 2, 32), _f32(2, 32)),
        _same(lambda m, a, b: a + b)),
    Case("ops", "dropout(rate=0.1)", "32x200x32", KERNEL_LIBRARIES, (_f32(32, 200, 32),),
         {"corten": lambda tf, a: tf.nn.dropout(a, 0.1),
          "numpy": lambda np, a: a * (np.random.default_rng().random(a.shape) >= 0.1) / 0.9,
          "torch": lambda torch, a: torch.nn.functional.dropout(a, 0.1, training=True)},
         tol=None, note="random masks: outputs not compared"),
]


def _np_layer_norm(np, x, g, b):
    m = x.mean(-1, keepdims=True)
    return (x - m) / np.sqrt(x.var(-1, keepdims=True) + 1e-3) * g + b


def _corten_layer_norm(tf, x, g, b):
    from corten.ops.nn import layer_norm

    return layer_norm(x, g, b, 1e-3)


OPS.append(_op("layer_norm", "32x128x512", (_f32(32, 128, 512), _f32(512), _f32(512)),
               {"corten": _corten_layer_norm, "numpy": _np_layer_norm,
                "torch": lambda torch, x, g, b: torch.nn.functional.layer_norm(
                    x, (512,), g, b, 1e-3)}, tol=(1e-4, 1e-4)))


def _np_depthwise3x3(np, x, w, b):
    n, h, wd, c = x.shape
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    y = np.zeros_like(x)
    for i in range(3):
        for j in range(3):
            y += xp[:, i:i + h, j:j + wd, :] * w[i, j, :, 0]
    return y + b


def _corten_depthwise3x3(tf, x, w, b):
    from corten.ops.pooling import depthwise_conv

    return depthwise_conv(x, w, b, 1, "same")


def _torch_depthwise3x3(torch, x, w, b):
    # NHWC data seen as NCHW (channels_last memory format, oneDNN's native layout); the
    # Keras kernel (3, 3, C, 1) seen as torch's (C, 1, 3, 3).
    y = torch.nn.functional.conv2d(x.permute(0, 3, 1, 2), w.permute(2, 3, 0, 1), b,
                                   padding=1, groups=x.shape[-1])
    return y.permute(0, 2, 3, 1)


def _np_maxpool2x2(np, x):
    n, h, w, c = x.shape
    return x.reshape(n, h // 2, 2, w // 2, 2, c).max((2, 4))


def _torch_maxpool2x2(torch, x):
    return torch.nn.functional.max_pool2d(x.permute(0, 3, 1, 2), 2).permute(0, 2, 3, 1)


_WINDOW_NOTE = ("NHWC float32; torch runs the same data as an NCHW view in channels_last "
                "memory format")
for _n, _h, _c in ((32, 32, 32), (32, 16, 64)):
    OPS.append(Case("ops", "DepthwiseConv2D 3x3 same +bias", f"{_n}x{_h}x{_h}x{_c}",
                    KERNEL_LIBRARIES, (_f32(_n, _h, _h, _c), _f32(3, 3, _c, 1), _f32(_c)),
                    {"corten": _corten_depthwise3x3, "numpy": _np_depthwise3x3,
                     "torch": _torch_depthwise3x3}, (1e-4, 1e-4),
                    flops=2.0 * 9 * _n * _h * _h * _c, note=_WINDOW_NOTE))
    OPS.append(Case("ops", "MaxPooling2D 2x2", f"{_n}x{_h}x{_h}x{_c}", KERNEL_LIBRARIES,
                    (_f32(_n, _h, _h, _c),),
                    {"corten": lambda tf, x: tf.nn.max_pool2d(x, 2, 2, "VALID"),
                     "numpy": _np_maxpool2x2, "torch": _torch_maxpool2x2}, (0, 0),
                    note=_WINDOW_NOTE))
def _np_bn_stats(np, x):
    return x.mean((0, 1, 2)), x.var((0, 1, 2))


def _np_batch_norm(np, x, g, b, mm, mv):
    m, v = _np_bn_stats(np, x)
    return (x - m) / np.sqrt(v + 1e-3) * g + b


def _np_batch_norm_grad(np, x, g, b, dy):
    m, v = _np_bn_stats(np, x)
    s = 1 / np.sqrt(v + 1e-3)
    xhat = (x - m) * s
    d = dy * g
    return s * (d - d.mean((0, 1, 2)) - xhat * (d * xhat).mean((0, 1, 2)))


def _corten_batch_norm(tf, x, g, b, mm, mv):
    from corten.ops.nn import batch_norm

    return batch_norm(x, g, b, mm, mv, -1, True, 0.99, 1e-3, True)


def _corten_batch_norm_grad(tf, x, g, b, dy):
    from corten.ops.nn import batch_norm

    with tf.GradientTape() as tape:
        tape.watch([x, g, b])
        y = batch_norm(x, g, b, None, None, -1, True, 0.99, 1e-3)
    return tape.gradient(y, [x, g, b], output_gradients=dy)[0]


def _torch_batch_norm(torch, x, g, b, mm, mv):
    # NHWC data as an NCHW tensor in channels_last memory format (PyTorch's fast path).
    y = torch.nn.functional.batch_norm(x.permute(0, 3, 1, 2), mm, mv, g, b, True, 0.01, 1e-3)
    return y.permute(0, 2, 3, 1)


def _torch_batch_norm_grad(torch, x, g, b, dy):
    x, g, b = (t.detach().requires_grad_() for t in (x, g, b))
    y = torch.nn.functional.batch_norm(x.permute(0, 3, 1, 2), None, None, g, b, True, 0.0, 1e-3)
    y.backward(dy.permute(0, 3, 1, 2))
    return x.grad


def _np_layer_norm_grad(np, x, g, b, dy):
    s = 1 / np.sqrt(x.var(-1, keepdims=True) + 1e-3)
    xhat = (x - x.mean(-1, keepdims=True)) * s
    d = dy * g
    return s * (d - d.mean(-1, keepdims=True) - xhat * (d * xhat).mean(-1, keepdims=True))


def _corten_layer_norm_grad(tf, x, g, b, dy):
    from corten.ops.nn import layer_norm

    with tf.GradientTape() as tape:
        tape.watch([x, g, b])
        y = layer_norm(x, g, b, 1e-3)
    return tape.gradient(y, [x, g, b], output_gradients=dy)[0]


def _torch_layer_norm_grad(torch, x, g, b, dy):
    x, g, b = (t.detach().requires_grad_() for t in (x, g, b))
    torch.nn.functional.layer_norm(x, (512,), g, b, 1e-3).backward(dy)
    return x.grad


_BN = (_f32(64, 16, 16, 64), _f32(64), _f32(64))
_LN = (_f32(32, 128, 512), _f32(512), _f32(512))
OPS += [
    _op("batch_norm(training)", "64x16x16x64", _BN + (_f32(64), _f32(64)),
        {"corten": _corten_batch_norm, "numpy": _np_batch_norm, "torch": _torch_batch_norm},
        tol=(1e-4, 1e-4), note="channels last, moving statistics updated (torch: NCHW view in "
        "channels_last memory format)"),
    _op("batch_norm(training) fwd+bwd", "64x16x16x64", _BN + (_f32(64, 16, 16, 64),),
        {"corten": _corten_batch_norm_grad, "numpy": _np_batch_norm_grad,
         "torch": _torch_batch_norm_grad}, tol=(1e-3, 1e-3),
        note="forward, then dx, dgamma, dbeta for a given dy; checks dx"),
    _op("layer_norm fwd+bwd", "32x128x512", _LN + (_f32(32, 128, 512),),
        {"corten": _corten_layer_norm_grad, "numpy": _np_layer_norm_grad,
         "torch": _torch_layer_norm_grad}, tol=(1e-3, 1e-3),
        note="forward, then dx, dgamma, dbeta for a given dy; checks dx"),
]

def _np_separable3x3(np, x, w, p, b):
    return _np_depthwise3x3(np, x, w, 0) @ p[0, 0] + b


def _corten_separable3x3(tf, x, w, p, b):
    # What keras.layers.SeparableConv2D runs: depthwise, then the GEMM with its fused bias.
    from corten.ops.pooling import depthwise_conv, pointwise

    return pointwise(depthwise_conv(x, w, None, 1, "same"), tf.reshape(p, p.shape[2:]), b,
                     None, False)


def _torch_separable3x3(torch, x, w, p, b):
    f = torch.nn.functional
    y = f.conv2d(x.permute(0, 3, 1, 2), w.permute(2, 3, 0, 1), None, padding=1,
                 groups=x.shape[-1])
    return f.conv2d(y, p.permute(3, 2, 0, 1), b).permute(0, 2, 3, 1)


for _n, _h, _c in ((32, 32, 32), (32, 16, 64)):
    OPS.append(Case("ops", "SeparableConv2D 3x3 same ->64 +bias", f"{_n}x{_h}x{_h}x{_c}",
                    KERNEL_LIBRARIES,
                    (_f32(_n, _h, _h, _c), _f32(3, 3, _c, 1), _f32(1, 1, _c, 64), _f32(64)),
                    {"corten": _corten_separable3x3, "numpy": _np_separable3x3,
                     "torch": _torch_separable3x3}, (1e-4, 1e-4),
                    flops=2.0 * _n * _h * _h * _c * (9 + 64), note=_WINDOW_NOTE))

_S = (_f32(64, 64), _f32(64, 64))


OVERHEAD = [
    Case("overhead", "a + b", "64x64", KERNEL_LIBRARIES, _S, _same(lambda m, a, b: a + b)),
    Case("overhead", "add(a, b)", "64x64", KERNEL_LIBRARIES, _S,
         {"corten": lambda tf, a, b: tf.add(a, b), "numpy": lambda np, a, b: np.add(a, b),
          "torch": lambda torch, a, b: torch.add(a, b)}),
    Case("overhead", "a * 2.0", "64x64", KERNEL_LIBRARIES, _S[:1],
         {"corten": lambda tf, a: a * 2.0, "numpy": lambda np, a: a * np.float32(2.0),
          "torch": lambda torch, a: a * 2.0}),
    Case("overhead", "exp(a)", "64x64", KERNEL_LIBRARIES, _S[:1], _same(lambda m, a: m.exp(a))),
    Case("overhead", "a + b", "4", KERNEL_LIBRARIES, (_f32(4), _f32(4)),
         _same(lambda m, a, b: a + b)),
    Case("overhead", "reduce_sum(a)", "64x64", KERNEL_LIBRARIES, _S[:1],
         {"corten": lambda tf, a: tf.reduce_sum(a), "numpy": lambda np, a: a.sum(),
          "torch": lambda torch, a: a.sum()}, tol=(1e-5, 1e-3)),
    # A keras.Input exists while this case runs, so every op call goes
    # through the symbolic-input check (corten/ops/_symbolic.py); compare with "add(a, b)".
    Case("overhead", "add(a, b), symbolic dispatch on", "64x64", ("corten",), _S,
         {"corten": lambda tf, a, b: tf.add(a, b), "numpy": lambda np, a, b: np.add(a, b)},
         prepare={"corten": lambda tf: tf.keras.Input(shape=(1,))}),
]


def _matmul(name, m, n, k, dtype="float32", ta=False, tb=False):
    a = Input((k, m) if ta else (m, k), dtype, ta)
    b = Input((n, k) if tb else (k, n), dtype, tb)
    sa = f"({k}x{m})^T" if ta else f"{m}x{k}"
    sb = f"({n}x{k})^T" if tb else f"{k}x{n}"

    def plain(mod, x, y):
        return (x.T if ta else x) @ (y.T if tb else y)

    calls = _same(plain)
    calls["corten"] = lambda tf, x, y: tf.matmul(x, y, transpose_a=ta, transpose_b=tb)
    tol = (1e-4, 1e-3) if dtype == "float32" else (1e-10, 1e-9)
    return Case("gemm", name, f"{sa} . {sb}", KERNEL_LIBRARIES, (a, b), calls, tol,
                flops=2.0 * m * n * k)


def _dense_relu(tf, x, w, b):
    from corten.ops.linalg import linear

    return linear(x, w, b, "relu")


def _dense_relu_backward(tf, g, w, y):
    from corten.ops.linalg import matmul_activation_grad

    return matmul_activation_grad(g, w, False, True, "relu", y)


def _dense_sigmoid(tf, x, w, b):
    from corten.ops.linalg import linear

    return linear(x, w, b, "sigmoid")


GEMM = [
    _matmul("square", 256, 256, 256), _matmul("square", 512, 512, 512),
    _matmul("square", 1024, 1024, 1024), _matmul("square", 2048, 2048, 2048),
    _matmul("mlp fwd", 64, 64, 784), _matmul("mlp fwd", 64, 64, 64),
    _matmul("mlp fwd", 64, 10, 64),
    _matmul("mlp dW=X^T.G", 784, 64, 64, ta=True), _matmul("mlp dX=G.W^T", 64, 784, 64, tb=True),
    Case("gemm", "dense relu (fused epilogue)", "64x784 . 784x64 +b", KERNEL_LIBRARIES,
         (_f32(64, 784), _f32(784, 64), _f32(64)),
         {"corten": _dense_relu,
          "numpy": lambda np, x, w, b: np.maximum(x @ w + b, 0),
          "torch": lambda torch, x, w, b: torch.relu(torch.addmm(b, x, w))},
         (1e-4, 1e-3), flops=2.0 * 64 * 64 * 784),
    _matmul("square f64", 512, 512, 512, "float64"),
    _matmul("square f64", 1024, 1024, 1024, "float64"),
    _matmul("vae dX=G.W^T (K split)", 64, 64, 784, tb=True),
    Case("gemm", "dense relu backward (fused derivative)", "64x784 . (64x784)^T, y 64x64",
         KERNEL_LIBRARIES, (_f32(64, 784), _f32(64, 784), _f32(64, 64)),
         {"corten": _dense_relu_backward,
          "numpy": lambda np, g, w, y: np.where(y > 0, g @ w.T, 0),
          "torch": lambda torch, g, w, y: torch.where(y > 0, g @ w.T, 0)},
         (1e-4, 1e-3), flops=2.0 * 64 * 64 * 784),
    Case("gemm", "dense sigmoid (fused epilogue)", "64x64 . 64x784 +b", KERNEL_LIBRARIES,
         (_f32(64, 64), _f32(64, 784), _f32(784)),
         {"corten": _dense_sigmoid,
          "numpy": lambda np, x, w, b: 1 / (1 + np.exp(-(x @ w + b))),
          "torch": lambda torch, x, w, b: torch.sigmoid(torch.addmm(b, x, w))},
         (1e-4, 1e-3), flops=2.0 * 64 * 64 * 784),
]

_DATA = f"{N_SAMPLES}x784 b{BATCH}"
TRAINING = [
    Case("training", "fit MLP 784-64-64-10 RMSprop", _DATA, TRAINING_LIBRARIES,
         steps=N_SAMPLES // BATCH, samples=N_SAMPLES,
         note="the seeds' digits MLP; sparse categorical cross-entropy from logits, accuracy "
              "metric; one shuffled epoch per call"),
    Case("training", "fit VAE 784-64-32 Adam", _DATA, TRAINING_LIBRARIES,
         steps=N_SAMPLES // BATCH, samples=N_SAMPLES,
         note="the custom-layers guide's VAE (KL term through add_loss), MSE reconstruction; "
              "one shuffled epoch per call"),
    Case("training", "fit toy ResNet RMSprop", "2000x32x32x3 b64",
         LAYER_LIBRARIES + MIXED_PRECISION_LIBRARIES,
         steps=32, samples=2000,
         note="the functional guide's toy ResNet (223,242 parameters) on CIFAR-shaped random "
              "images, categorical cross-entropy from logits; one shuffled epoch per call"),
    Case("training", "fit BiLSTM classifier Adam", "2000x200 b32", LAYER_LIBRARIES,
         steps=63, samples=2000,
         note="Embedding(20000, 128), two Bidirectional(LSTM(64)), sigmoid output, binary "
              "cross-entropy, random ids; one shuffled epoch per call"),
    Case("training", "fit Transformer text classifier Adam", "2000x200 b32",
         LAYER_LIBRARIES + MIXED_PRECISION_LIBRARIES,
         steps=63, samples=2000,
         note="keras-io's text classification with Transformer: token and position "
              "embeddings (20000 and 200 x 32), one block (MultiHeadAttention(2, 32), "
              "LayerNormalization, feed-forward 32, Dropout 0.1), GlobalAveragePooling1D, "
              "Dense(20, relu), Dense(2, softmax), Adam, sparse categorical cross-entropy; "
              "random ids and labels; one shuffled epoch per call"),
    Case("training", "GradientTape loop 8-16-1 tanh, SGD", "32x8", ("corten", "torch"),
         steps=TAPE_STEPS, samples=32 * TAPE_STEPS,
         note="a custom loop: forward under the tape, gradient, assign_sub per variable"),
]

INFERENCE = [
    Case("inference", "predict MLP", f"{PREDICT_BATCH}x784", INFERENCE_LIBRARIES,
         note="model.predict(x) on one in-memory batch (torch: module(x) under no_grad)"),
    Case("inference", "call MLP", f"{PREDICT_BATCH}x784", INFERENCE_LIBRARIES,
         note="model(x) on one batch (torch: module(x) under no_grad)"),
    Case("inference", "predict MLP one sample", "1x784", INFERENCE_LIBRARIES,
         note="model.predict(x) on a single row (torch: module(x) under no_grad)"),
]

def _np_conv2d_same(np, x, w, b):
    """3x3 (any odd k) 'same' stride-1 convolution, NHWC, as a sum over the kernel taps."""
    kh, kw = w.shape[:2]
    n, h, wd, _ = x.shape
    xp = np.pad(x, ((0, 0), (kh // 2, kh // 2), (kw // 2, kw // 2), (0, 0)))
    y = np.zeros((n, h, wd, w.shape[-1]), x.dtype)
    for i in range(kh):
        for j in range(kw):
            y += xp[:, i:i + h, j:j + wd, :] @ w[i, j]
    return y + b


def _corten_conv2d_same(tf, x, w, b):
    from corten.ops.conv import conv

    return conv(x, w, b, 1, "same")


def _torch_conv2d_same(torch, x, w, b):
    # NHWC data seen as an NCHW tensor in channels_last memory format (a view, no copy): the
    # layout a PyTorch user picks for convnets on CPU; the result is viewed back as NHWC.
    xt = x.permute(0, 3, 1, 2)
    wt = w.permute(3, 2, 0, 1)
    return torch.nn.functional.conv2d(xt, wt, b, padding="same").permute(0, 2, 3, 1)


def _conv_case(batch, h, w, c, f, k=3):
    return Case("conv", "conv2d 3x3 same fwd", f"b{batch} {h}x{w}x{c}->{f}", KERNEL_LIBRARIES,
                (_f32(batch, h, w, c), _f32(k, k, c, f), _f32(f)),
                {"corten": _corten_conv2d_same, "numpy": _np_conv2d_same,
                 "torch": _torch_conv2d_same},
                (1e-4, 1e-3), flops=2.0 * batch * h * w * f * c * k * k)


def _np_conv2d_same_step(np, x, w, g):
    """Forward, dx and dw of conv2d_same; returns dw, the kernel gradient of
    sum(conv2d_same(x, w) * g) (the step's checked result)."""
    _np_conv2d_same(np, x, w, 0.0)
    _np_conv2d_same(np, g, w[::-1, ::-1].swapaxes(2, 3), 0.0)  # dx (stride 1, odd kernel)
    kh, kw = w.shape[:2]
    n, h, wd, c = x.shape
    xp = np.pad(x, ((0, 0), (kh // 2, kh // 2), (kw // 2, kw // 2), (0, 0)))
    gm = g.reshape(-1, g.shape[-1])
    dw = np.zeros(w.shape, x.dtype)
    for i in range(kh):
        for j in range(kw):
            dw[i, j] = xp[:, i:i + h, j:j + wd, :].reshape(-1, c).T @ gm
    return dw


def _corten_conv2d_same_step(tf, x, w, g):
    from corten.ops.conv import conv

    with tf.GradientTape() as tape:
        tape.watch(x)
        tape.watch(w)
        y = conv(x, w, None, 1, "same")
    return tape.gradient(y, [x, w], output_gradients=g)[1]


def _torch_conv2d_same_step(torch, x, w, g):
    # Forward, then both gradients (input and kernel), as in a training step of a hidden layer.
    x.requires_grad_(True)
    w.requires_grad_(True)
    xt = x.permute(0, 3, 1, 2)
    wt = w.permute(3, 2, 0, 1)
    y = torch.nn.functional.conv2d(xt, wt, padding="same")
    return torch.autograd.grad(y, [x, w], g.permute(0, 3, 1, 2))[1]


def _conv_step_case(batch, h, w, c, f, k=3):
    return Case("conv", "conv2d 3x3 same fwd+bwd", f"b{batch} {h}x{w}x{c}->{f}",
                KERNEL_LIBRARIES, (_f32(batch, h, w, c), _f32(k, k, c, f), _f32(batch, h, w, f)),
                {"corten": _corten_conv2d_same_step, "numpy": _np_conv2d_same_step,
                 "torch": _torch_conv2d_same_step},
                (1e-3, 1e-2), flops=3 * 2.0 * batch * h * w * f * c * k * k,
                note="forward, dx and dw; the result checked is dw")


_CONV_SHAPES = ((32, 32, 3, 32), (32, 32, 32, 64), (16, 16, 64, 64), (28, 28, 1, 32))
CONV = [_conv_case(batch, *shape) for batch in (32, 1) for shape in _CONV_SHAPES]
CONV += [_conv_step_case(batch, *shape) for batch in (32, 1) for shape in _CONV_SHAPES]
OPS.extend(CONV)

#: Cases sized for a GPU (run with ``--device GPU`` only): the products and the memory-bound
#: kernels whose speed the GPU build is judged by, beside the device-to-device copy that
#: measures the memory bandwidth in the same run.
GPU_GROUP = "gpu"
_GPU_N = 1 << 26
_GPU_ROWS = (1 << 16, 1 << 10)


def _gpu_case(name, shape, inputs, calls, tol, **kw):
    return Case(GPU_GROUP, name, shape, ("corten", "torch"), tuple(inputs), calls, tol, **kw)


GPU = [
    _gpu_case("copy", "2^26 float32", (_f32(_GPU_N),),
              {"corten": lambda tf, a: a.gpu(), "torch": lambda torch, a: a.clone(),
               "numpy": lambda np, a: a.copy()}, (0, 0), bytes_moved=8.0 * _GPU_N),
    _gpu_case("add", "2^26 float32", (_f32(_GPU_N), _f32(_GPU_N)),
              _same(lambda m, a, b: a + b), (1e-6, 1e-6), bytes_moved=12.0 * _GPU_N),
    _gpu_case("softmax(axis=-1)", f"{_GPU_ROWS[0]}x{_GPU_ROWS[1]} float32",
              (_f32(*_GPU_ROWS),),
              {"corten": lambda tf, x: tf.nn.softmax(x), "numpy": _np_softmax,
               "torch": lambda torch, x: torch.softmax(x, -1)}, (1e-5, 1e-7),
              bytes_moved=8.0 * _GPU_N),
    _gpu_case("matmul", "4096x4096x4096 float32 (TF32 off)", (_f32(4096, 4096), _f32(4096, 4096)),
              _same(lambda m, a, b: a @ b), (1e-4, 1e-3), flops=2.0 * 4096 ** 3),
]

CASES: list[Case] = OPS + OVERHEAD + GEMM + LAYERS + text_cases() + TRAINING + INFERENCE + GPU
BY_KEY: dict[str, Case] = {c.key: c for c in CASES}
if len(BY_KEY) != len(CASES):
    raise RuntimeError("bench case keys must be unique")


def cases_for(library: str) -> list[str]:
    """The keys of the cases `library` runs."""
    return [c.key for c in CASES if library in c.libraries]


def select(filters: str) -> list[Case]:
    """Cases whose key contains any of the comma-separated substrings (all when empty)."""
    wanted = [f for f in filters.split(",") if f]
    return [c for c in CASES if not wanted or any(f in c.key for f in wanted)]


def kernel_call(case: Case, library: str, module: Any, tensors: list[Any],
                keras: Any = None) -> Callable[[], Any]:
    """The zero-argument callable that times `case` in `library` on `tensors` (`keras`: the
    library's Keras module, for layer cases built by the Keras-API libraries)."""
    if case.builds:
        if library in KERAS_API_LIBRARIES:
            return case.builds["keras"](module, keras, *tensors)
        return case.builds[library](module, *tensors)
    keep = [p(module) for lib, p in case.prepare.items() if lib == library]
    fn = case.calls[library]

    def call():
        return fn(module, *tensors)

    call.keep_alive = keep  # type: ignore[attr-defined]
    return call
