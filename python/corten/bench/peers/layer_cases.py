"""Layer cases: one Keras layer (and its PyTorch counterpart) forward, or forward and backward,
on the same inputs and the same weights in every library.

A layer case is built once per worker, not per call: ``builds["keras"](tf, keras, *inputs)``
serves every Keras-API library (corten and tf.keras 2 run the same code) and
``builds["torch"](torch, *inputs)`` builds the ``torch.nn`` module a PyTorch user would write.
Both return the zero-argument callable that one timed call runs. The weights are inputs of the
case, so every library computes the same function and the forward result is checked against
numpy's float64 ``reference`` before timing.

Fairness: tf.keras runs the call inside ``tf.function``, as its ``fit``/``predict`` do; PyTorch
and corten run eagerly, as their users do by default. The attention cases also name
``corten.function``: corten's worker started with ``--function`` runs the same Keras build
inside ``corten.function``, as tf.keras's runs inside ``tf.function``. Keras layouts are
channels-last; PyTorch gets the same data as NCHW tensors, in whichever of its two memory
layouts (contiguous, or ``channels_last`` with the module converted) is faster for the case,
picked when it is built.
Forward-and-backward cases compute the gradients of ``sum(y)`` for the input and every weight,
return the input's, and are not checked (the forward is).

Imports only the standard library, as ``cases.py`` does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

if __package__:
    from .case_types import Case, Input
else:  # imported by a worker script, with peers/ on sys.path
    from case_types import Case, Input

LAYER_LIBRARIES = ("corten", "torch", "tf.keras")
#: The attention cases add corten with the call inside corten.function (see compile_calls).
ATTENTION_LIBRARIES = ("corten", "corten.function", "torch", "tf.keras")

#: The modules (by name) whose Keras builds run the timed call inside their ``function``:
#: TensorFlow always, as tf.keras's fit does; corten when its worker runs as corten.function.
_COMPILED = {"tensorflow"}


def compile_calls(module_name: str) -> None:
    """From now on, this process's Keras builds run their timed call inside
    ``module.function`` for the module named `module_name` (one library per process)."""
    _COMPILED.add(module_name)


def _compiled(tf: Any) -> bool:
    return getattr(tf, "__name__", "") in _COMPILED


def _f32(*shape: int, scale: float = 1.0) -> Input:
    return Input(tuple(shape), scale=scale)


# ---------------------------------------------------------------------------- Keras side
def _first_dense(tf: Any, grads: list[Any]) -> Any:
    g = grads[0]
    return g.values if type(g).__name__ == "IndexedSlices" else g


def _keras_runner(tf: Any, keras: Any, layer: Any, x: Any, backward: bool) -> Callable[[], Any]:
    """The timed call of a built layer: forward, or forward + gradients of sum(y) w.r.t. the
    input and every trainable weight. A compiled one (tf.keras's under tf.function, corten's
    under corten.function) returns the loss and every gradient, so that the graph optimiser
    cannot prune any of the work."""
    compiled = _compiled(tf)
    if not backward:
        def forward():
            return layer(x, training=False)

        return tf.function(forward) if compiled else forward
    weights = layer.trainable_weights

    def step():
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            loss = tf.reduce_sum(y)
        return [loss, *tape.gradient(loss, [x, *weights])]

    if not compiled:
        return lambda: step()[1]
    graph = tf.function(step)
    return lambda: _first_dense(tf, graph()[1:])


def keras_layer(name: str, backward: bool, **kwargs: Any) -> Callable[..., Callable[[], Any]]:
    """The Keras build of a case: layer `name`(**kwargs), weights set from the case's inputs
    after the first (in Keras's get_weights order)."""

    def build(tf: Any, keras: Any, x: Any, *weights: Any) -> Callable[[], Any]:
        layer = getattr(keras.layers, name)(**kwargs)
        layer(x)
        if weights:
            layer.set_weights([w.numpy() for w in weights])
        return _keras_runner(tf, keras, layer, x, backward)

    return build


# ---------------------------------------------------------------------------- PyTorch side
def _torch_call(torch: Any, module: Any, x: Any, backward: bool,
                out: Callable[[Any], Any]) -> Callable[[], Any]:
    params = [p for p in module.parameters() if p.requires_grad]
    if not backward:
        module.eval()

        def forward():
            with torch.no_grad():
                return out(module(x))

        return forward
    module.train()
    xg = x.detach().requires_grad_(True)

    def step():
        y = out(module(xg))
        return torch.autograd.grad(y.sum(), [xg, *params])[0]

    return step


def _torch_runner(torch: Any, module: Any, x: Any, backward: bool,
                  out: Callable[[Any], Any]) -> Callable[[], Any]:
    """PyTorch's timed call. Image cases run in whichever of PyTorch's two layouts is faster
    for the case, as a PyTorch user tuning a model would pick: contiguous NCHW, or
    channels_last with the module converted to it; each is timed at build (best of 5 calls
    after one) and the faster one kept."""
    if x.dim() != 4:
        return _torch_call(torch, module, x, backward, out)
    import copy
    import time

    def best(fn):
        fn()
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times)

    nchw = _torch_call(torch, module, x.contiguous(), backward, out)
    cl_module = copy.deepcopy(module).to(memory_format=torch.channels_last)
    channels_last = _torch_call(torch, cl_module, x.contiguous(memory_format=torch.channels_last),
                                backward, out)
    return nchw if best(nchw) <= best(channels_last) else channels_last


def _nchw(torch: Any, x: Any) -> Any:
    # NHWC data seen as NCHW (a view; _torch_runner picks the memory layout).
    return x.permute(0, x.dim() - 1, *range(1, x.dim() - 1))


def _nhwc(y: Any) -> Any:
    return y.permute(0, *range(2, y.dim()), 1)


def torch_conv2d(backward: bool, transpose: bool = False) -> Callable[..., Callable[[], Any]]:
    def build(torch: Any, x: Any, kernel: Any, bias: Any) -> Callable[[], Any]:
        kh, kw = kernel.shape[0], kernel.shape[1]
        if transpose:  # Keras (h, w, out, in) -> torch (in, out, h, w)
            m = torch.nn.ConvTranspose2d(kernel.shape[3], kernel.shape[2], (kh, kw),
                                         padding=(kh // 2, kw // 2))
            w = kernel.permute(3, 2, 0, 1)
        else:  # Keras (h, w, in, out) -> torch (out, in, h, w)
            m = torch.nn.Conv2d(kernel.shape[2], kernel.shape[3], (kh, kw), padding="same")
            w = kernel.permute(3, 2, 0, 1)
        with torch.no_grad():
            m.weight.copy_(w)
            m.bias.copy_(bias)
        return _torch_runner(torch, m, _nchw(torch, x), backward, _nhwc)

    return build


def torch_depthwise2d(backward: bool) -> Callable[..., Callable[[], Any]]:
    def build(torch: Any, x: Any, kernel: Any, bias: Any) -> Callable[[], Any]:
        c = kernel.shape[2]
        m = torch.nn.Conv2d(c, c, tuple(kernel.shape[:2]), padding="same", groups=c)
        with torch.no_grad():  # Keras (h, w, c, 1) -> torch (c, 1, h, w)
            m.weight.copy_(kernel.permute(2, 3, 0, 1))
            m.bias.copy_(bias)
        return _torch_runner(torch, m, _nchw(torch, x), backward, _nhwc)

    return build


def torch_separable2d(backward: bool) -> Callable[..., Callable[[], Any]]:
    def build(torch: Any, x: Any, depthwise: Any, pointwise: Any, bias: Any):
        c, f = depthwise.shape[2], pointwise.shape[3]
        m = torch.nn.Sequential(
            torch.nn.Conv2d(c, c, tuple(depthwise.shape[:2]), padding="same", groups=c,
                            bias=False),
            torch.nn.Conv2d(c, f, 1))
        with torch.no_grad():
            m[0].weight.copy_(depthwise.permute(2, 3, 0, 1))
            m[1].weight.copy_(pointwise.permute(3, 2, 0, 1))
            m[1].bias.copy_(bias)
        return _torch_runner(torch, m, _nchw(torch, x), backward, _nhwc)

    return build


def torch_max_pool2d(backward: bool) -> Callable[..., Callable[[], Any]]:
    def build(torch: Any, x: Any) -> Callable[[], Any]:
        return _torch_runner(torch, torch.nn.MaxPool2d(2), _nchw(torch, x), backward, _nhwc)

    return build


def torch_batch_norm(backward: bool) -> Callable[..., Callable[[], Any]]:
    def build(torch: Any, x: Any, gamma: Any, beta: Any, mean: Any, var: Any):
        m = torch.nn.BatchNorm2d(x.shape[-1], eps=1e-3, momentum=0.01)
        with torch.no_grad():
            m.weight.copy_(gamma)
            m.bias.copy_(beta)
            m.running_mean.copy_(mean)
            m.running_var.copy_(var)
        return _torch_runner(torch, m, _nchw(torch, x), backward, _nhwc)

    return build


def torch_layer_norm(backward: bool) -> Callable[..., Callable[[], Any]]:
    def build(torch: Any, x: Any, gamma: Any, beta: Any) -> Callable[[], Any]:
        m = torch.nn.LayerNorm(x.shape[-1], eps=1e-3)
        with torch.no_grad():
            m.weight.copy_(gamma)
            m.bias.copy_(beta)
        return _torch_runner(torch, m, x, backward, lambda y: y)

    return build


def torch_recurrent(kind: str, backward: bool) -> Callable[..., Callable[[], Any]]:
    """nn.LSTM / nn.GRU with Keras's weights: LSTM gates i, f, c, o are PyTorch's i, f, g, o;
    Keras's GRU (reset_after) gates z, r, h become PyTorch's r, z, n."""

    def build(torch: Any, x: Any, kernel: Any, recurrent: Any, bias: Any):
        units = recurrent.shape[0]
        cls = torch.nn.LSTM if kind == "LSTM" else torch.nn.GRU
        m = cls(kernel.shape[0], units, batch_first=True)
        w_ih, w_hh = kernel.t(), recurrent.t()
        if kind == "LSTM":
            b_ih, b_hh = bias, torch.zeros_like(bias)
        else:
            def order(t):
                z, r, h = t.split(units, 0)
                return torch.cat([r, z, h], 0)
            w_ih, w_hh, b_ih, b_hh = order(w_ih), order(w_hh), order(bias[0]), order(bias[1])
        with torch.no_grad():
            m.weight_ih_l0.copy_(w_ih)
            m.weight_hh_l0.copy_(w_hh)
            m.bias_ih_l0.copy_(b_ih)
            m.bias_hh_l0.copy_(b_hh)
        return _torch_runner(torch, m, x, backward, lambda y: y[0][:, -1])

    return build


def torch_embedding(backward: bool) -> Callable[..., Callable[[], Any]]:
    def build(torch: Any, ids: Any, table: Any) -> Callable[[], Any]:
        m = torch.nn.Embedding(table.shape[0], table.shape[1])
        with torch.no_grad():
            m.weight.copy_(table)
        ids = ids.long()
        if not backward:
            return _torch_runner(torch, m, ids, False, lambda y: y)
        weight = m.weight

        def step():  # the gradient w.r.t. the table: ids are not differentiable
            return torch.autograd.grad(m(ids).sum(), [weight])[0]

        return step

    return build


def keras_embedding(backward: bool) -> Callable[..., Callable[[], Any]]:
    def build(tf: Any, keras: Any, ids: Any, table: Any) -> Callable[[], Any]:
        layer = keras.layers.Embedding(table.shape[0], table.shape[1])
        layer(ids)
        layer.set_weights([table.numpy()])
        if not backward:
            return _keras_runner(tf, keras, layer, ids, False)

        def step():
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(layer(ids))
            return [loss, *tape.gradient(loss, layer.trainable_weights)]

        if not _compiled(tf):
            return lambda: step()[1]
        graph = tf.function(step)
        return lambda: _first_dense(tf, graph()[1:])

    return build


class _SelfAttention:
    """A Keras MultiHeadAttention called as self-attention, ``layer(x, x)``, behind the one-input
    call and ``trainable_weights`` that :func:`_keras_runner` uses."""

    def __init__(self, layer: Any) -> None:
        self.layer = layer

    def __call__(self, x: Any, training: bool | None = None) -> Any:
        return self.layer(x, x, training=training)

    @property
    def trainable_weights(self) -> list[Any]:
        return self.layer.trainable_weights


def keras_self_attention(backward: bool, **kwargs: Any) -> Callable[..., Callable[[], Any]]:
    """MultiHeadAttention(**kwargs) on (x, x), its weights set from the case's inputs (Keras's
    get_weights order: query, key, value kernel and bias, then the output's)."""

    def build(tf: Any, keras: Any, x: Any, *weights: Any) -> Callable[[], Any]:
        layer = keras.layers.MultiHeadAttention(**kwargs)
        layer(x, x)
        layer.set_weights([w.numpy() for w in weights])
        return _keras_runner(tf, keras, _SelfAttention(layer), x, backward)

    return build


def torch_self_attention(backward: bool) -> Callable[..., Callable[[], Any]]:
    """nn.MultiheadAttention(d_model, heads, batch_first=True) called as ``m(x, x, x,
    need_weights=False)``: its training path runs F.scaled_dot_product_attention, and in eval
    mode under no_grad it takes PyTorch's fused inference fast path. Keras's (d_model, heads,
    key_dim) kernels become the rows of in_proj_weight; the output kernel (heads, key_dim,
    d_model) out_proj.weight's transpose."""

    def build(torch: Any, x: Any, wq: Any, bq: Any, wk: Any, bk: Any, wv: Any, bv: Any,
              wo: Any, bo: Any) -> Callable[[], Any]:
        d_model, heads, key_dim = wq.shape
        inner = heads * key_dim

        class SelfAttention(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.mha = torch.nn.MultiheadAttention(d_model, heads, batch_first=True)

            def forward(self, x):
                return self.mha(x, x, x, need_weights=False)[0]

        m = SelfAttention()
        with torch.no_grad():
            m.mha.in_proj_weight.copy_(torch.cat([w.reshape(d_model, inner).t()
                                                  for w in (wq, wk, wv)], 0))
            m.mha.in_proj_bias.copy_(torch.cat([b.reshape(inner) for b in (bq, bk, bv)]))
            m.mha.out_proj.weight.copy_(wo.reshape(inner, d_model).t())
            m.mha.out_proj.bias.copy_(bo)
        return _torch_runner(torch, m, x, backward, lambda y: y)

    return build


# ---------------------------------------------------------------------------- numpy references
def np_conv2d_same(np: Any, x: Any, kernel: Any, bias: Any) -> Any:
    kh, kw = kernel.shape[:2]
    n, h, w, _ = x.shape
    p = np.pad(x, ((0, 0), ((kh - 1) // 2, kh // 2), ((kw - 1) // 2, kw // 2), (0, 0)))
    y = np.zeros((n, h, w, kernel.shape[3]))
    for i in range(kh):
        for j in range(kw):
            y += p[:, i:i + h, j:j + w, :] @ kernel[i, j]
    return y + bias


def np_conv2d_transpose_same(np: Any, x: Any, kernel: Any, bias: Any) -> Any:
    # stride 1: the transpose of a 'same' conv is a 'same' conv with the flipped, swapped kernel
    # (kernel (h, w, out, in) -> (h, w, in, out)); odd kernels only.
    return np_conv2d_same(np, x, kernel[::-1, ::-1].transpose(0, 1, 3, 2), bias)


def np_depthwise2d_same(np: Any, x: Any, kernel: Any, bias: Any) -> Any:
    kh, kw = kernel.shape[:2]
    n, h, w, c = x.shape
    p = np.pad(x, ((0, 0), ((kh - 1) // 2, kh // 2), ((kw - 1) // 2, kw // 2), (0, 0)))
    y = np.zeros((n, h, w, c))
    for i in range(kh):
        for j in range(kw):
            y += p[:, i:i + h, j:j + w, :] * kernel[i, j, :, 0]
    return y + bias


def np_separable2d_same(np: Any, x: Any, depthwise: Any, pointwise: Any, bias: Any) -> Any:
    zero = np.zeros(depthwise.shape[2])
    return np_depthwise2d_same(np, x, depthwise, zero) @ pointwise[0, 0] + bias


def np_max_pool2d(np: Any, x: Any) -> Any:
    n, h, w, c = x.shape
    return x[:, :h // 2 * 2, :w // 2 * 2].reshape(n, h // 2, 2, w // 2, 2, c).max((2, 4))


def np_batch_norm_inference(np: Any, x: Any, gamma: Any, beta: Any, mean: Any, var: Any):
    return (x - mean) / np.sqrt(var + 1e-3) * gamma + beta


def np_layer_norm(np: Any, x: Any, gamma: Any, beta: Any) -> Any:
    m = x.mean(-1, keepdims=True)
    return (x - m) / np.sqrt(x.var(-1, keepdims=True) + 1e-3) * gamma + beta


def _sigmoid(np: Any, v: Any) -> Any:
    return 1 / (1 + np.exp(-v))


def np_lstm(np: Any, x: Any, kernel: Any, recurrent: Any, bias: Any) -> Any:
    units = recurrent.shape[0]
    h = np.zeros((x.shape[0], units))
    c = np.zeros_like(h)
    for t in range(x.shape[1]):
        z = x[:, t] @ kernel + h @ recurrent + bias
        i, f = _sigmoid(np, z[:, :units]), _sigmoid(np, z[:, units:2 * units])
        g, o = np.tanh(z[:, 2 * units:3 * units]), _sigmoid(np, z[:, 3 * units:])
        c = f * c + i * g
        h = o * np.tanh(c)
    return h


def np_gru(np: Any, x: Any, kernel: Any, recurrent: Any, bias: Any) -> Any:
    units = recurrent.shape[0]
    h = np.zeros((x.shape[0], units))
    for t in range(x.shape[1]):
        xi = x[:, t] @ kernel + bias[0]
        hr = h @ recurrent + bias[1]
        z = _sigmoid(np, xi[:, :units] + hr[:, :units])
        r = _sigmoid(np, xi[:, units:2 * units] + hr[:, units:2 * units])
        hh = np.tanh(xi[:, 2 * units:] + r * hr[:, 2 * units:])
        h = z * h + (1 - z) * hh
    return h


def np_embedding(np: Any, ids: Any, table: Any) -> Any:
    return table[ids]


def np_self_attention(np: Any, x: Any, wq: Any, bq: Any, wk: Any, bk: Any, wv: Any, bv: Any,
                      wo: Any, bo: Any) -> Any:
    """Keras's MultiHeadAttention(x, x) without masks or dropout."""
    q = np.einsum("btd,dhk->bthk", x, wq) + bq
    k = np.einsum("btd,dhk->bthk", x, wk) + bk
    v = np.einsum("btd,dhk->bthk", x, wv) + bv
    scores = np.einsum("bshk,bthk->bhts", k, q / np.sqrt(wq.shape[-1]))
    p = np.exp(scores - scores.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    return np.einsum("bthk,hkd->btd", np.einsum("bhts,bshk->bthk", p, v), wo) + bo


# ---------------------------------------------------------------------------- the cases
def _layer(name: str, shape: str, inputs: tuple[Input, ...], reference: Callable[..., Any],
           keras: Callable[..., Any], torch: Callable[..., Any], backward: bool,
           flops: float | None = None, tol: tuple[float, float] = (2e-4, 2e-4),
           note: str = "", libraries: tuple[str, ...] = LAYER_LIBRARIES) -> Case:
    mode = "fwd+bwd" if backward else "fwd"
    return Case("layers", f"{name} {mode}", shape, libraries, inputs,
                {"numpy": reference}, None if backward else tol, flops=flops, note=note,
                builds={"keras": keras, "torch": torch})


def _conv_cases() -> list[Case]:
    out = []
    for batch in (32, 1):
        for h, cin, cout in ((32, 3, 32), (32, 32, 64), (16, 64, 64), (28, 1, 32)):
            shape = f"b{batch} {h}x{h}x{cin}->{cout}"
            inputs = (_f32(batch, h, h, cin), _f32(3, 3, cin, cout, scale=0.1), _f32(cout))
            flops = 2.0 * batch * h * h * 9 * cin * cout
            for backward in (False, True):
                out.append(_layer("Conv2D 3x3 same", shape, inputs, np_conv2d_same,
                                  keras_layer("Conv2D", backward, filters=cout,
                                              kernel_size=3, padding="same"),
                                  torch_conv2d(backward), backward,
                                  flops=flops * (3 if backward else 1)))
    for batch, h, c in ((32, 32, 32), (32, 16, 64)):
        shape = f"b{batch} {h}x{h}x{c}"
        x = _f32(batch, h, h, c)
        out.append(_layer("DepthwiseConv2D 3x3 same", shape,
                          (x, _f32(3, 3, c, 1, scale=0.3), _f32(c)), np_depthwise2d_same,
                          keras_layer("DepthwiseConv2D", False, kernel_size=3, padding="same"),
                          torch_depthwise2d(False), False))
        out.append(_layer("SeparableConv2D 3x3 same", f"{shape}->{2 * c}",
                          (x, _f32(3, 3, c, 1, scale=0.3), _f32(1, 1, c, 2 * c, scale=0.1),
                           _f32(2 * c)), np_separable2d_same,
                          keras_layer("SeparableConv2D", False, filters=2 * c,
                                      kernel_size=3, padding="same"),
                          torch_separable2d(False), False))
        out.append(_layer("MaxPooling2D 2x2", shape, (x,), np_max_pool2d,
                          keras_layer("MaxPooling2D", False), torch_max_pool2d(False), False,
                          tol=(0, 0)))
        out.append(_layer("Conv2DTranspose 3x3 same", f"{shape}->{c}",
                          (x, _f32(3, 3, c, c, scale=0.1), _f32(c)), np_conv2d_transpose_same,
                          keras_layer("Conv2DTranspose", False, filters=c, kernel_size=3,
                                      padding="same"),
                          torch_conv2d(False, transpose=True), False,
                          flops=2.0 * batch * h * h * 9 * c * c))
    return out


def _norm_cases() -> list[Case]:
    bn = (_f32(64, 16, 16, 64), _f32(64), _f32(64), _f32(64), Input((64,), positive=True))
    ln = (_f32(32, 128, 512), _f32(512), _f32(512))
    out = []
    for backward in (False, True):
        out.append(_layer("BatchNormalization", "64x16x16x64", bn, np_batch_norm_inference,
                          keras_layer("BatchNormalization", backward),
                          torch_batch_norm(backward), backward,
                          note="fwd: inference (moving statistics); fwd+bwd: training mode"))
        out.append(_layer("LayerNormalization", "32x128x512", ln, np_layer_norm,
                          keras_layer("LayerNormalization", backward),
                          torch_layer_norm(backward), backward))
    return out


def _recurrent_cases() -> list[Case]:
    out = []
    for kind, gates, reference in (("LSTM", 4, np_lstm), ("GRU", 3, np_gru)):
        for steps in (10, 100):
            bias = _f32(4 * 128) if kind == "LSTM" else _f32(2, 3 * 128)
            inputs = (_f32(32, steps, 64), _f32(64, gates * 128, scale=0.1),
                      _f32(128, gates * 128, scale=0.1), bias)
            for backward in (False, True):
                out.append(_layer(f"{kind}(128)", f"b32 t{steps} f64", inputs, reference,
                                  keras_layer(kind, backward, units=128),
                                  torch_recurrent(kind, backward), backward,
                                  note=f"last step's output; torch: nn.{kind}(batch_first=True)"))
    emb = (Input((32, 200), "int32", high=20000), _f32(20000, 128))
    for backward in (False, True):
        out.append(_layer("Embedding(20000, 128)", "b32 len200", emb, np_embedding,
                          keras_embedding(backward), torch_embedding(backward), backward,
                          tol=(0, 0),
                          note="fwd+bwd: the gradient of sum(embedding(ids)) w.r.t. the table"))
    return out


def _attention_cases() -> list[Case]:
    """MultiHeadAttention(num_heads=8, key_dim=32) as self-attention on batch 32, d_model 256
    (issue 21's speed point), at sequence lengths 128 and 512; the forward at 128 is checked
    against numpy (so PyTorch's weight mapping is), and the forward+backward cases are timed."""
    batch, d_model, heads, key_dim = 32, 256, 8, 32
    weights = (_f32(d_model, heads, key_dim, scale=0.06), _f32(heads, key_dim, scale=0.1)) * 3
    weights += (_f32(heads, key_dim, d_model, scale=0.06), _f32(d_model, scale=0.1))
    note = ("self-attention, no mask, dropout 0; torch: nn.MultiheadAttention(256, 8, "
            "batch_first=True)(x, x, x, need_weights=False); corten.function: corten's call "
            "inside corten.function")
    out = []
    for steps, modes in ((128, (False, True)), (512, (True,))):
        inputs = (_f32(batch, steps, d_model), *weights)
        flops = (4 * 2.0 * batch * steps * d_model * heads * key_dim
                 + 2 * 2.0 * batch * heads * steps * steps * key_dim)
        for backward in modes:
            out.append(_layer("MultiHeadAttention(8, 32)", f"b{batch} t{steps} d{d_model}",
                              inputs, np_self_attention,
                              keras_self_attention(backward, num_heads=heads, key_dim=key_dim),
                              torch_self_attention(backward), backward,
                              flops=flops * (3 if backward else 1), tol=(1e-3, 1e-3), note=note,
                              libraries=ATTENTION_LIBRARIES))
    return out


LAYERS: list[Case] = _conv_cases() + _norm_cases() + _recurrent_cases() + _attention_cases()


# ---------------------------------------------------------------------------- augmentation
def keras_augment(tf: Any, keras: Any, x: Any) -> Callable[[], Any]:
    """RandomFlip then RandomRotation(0.1) in training mode (fresh draws every call); tf.keras
    under tf.function, as its fit runs them."""
    model = keras.Sequential([keras.layers.RandomFlip(seed=1),
                              keras.layers.RandomRotation(0.1, seed=2)])
    model(x, training=True)

    def call():
        return model(x, training=True)

    return tf.function(call) if _compiled(tf) else call


def torch_augment(torch: Any, x: Any) -> Callable[[], Any]:
    """What a PyTorch user writes for per-image flips and rotations (torch.nn has no such
    layers): flips by torch.where, the rotation by affine_grid + grid_sample (bilinear,
    reflection padding), on NCHW data, without autograd."""
    import math

    functional = torch.nn.functional
    xb = _nchw(torch, x).contiguous()
    n = xb.shape[0]
    gen = torch.Generator().manual_seed(1)

    def call():
        with torch.no_grad():
            y = torch.where(torch.rand(n, 1, 1, 1, generator=gen) < 0.5, xb.flip(3), xb)
            y = torch.where(torch.rand(n, 1, 1, 1, generator=gen) < 0.5, y.flip(2), y)
            angle = (torch.rand(n, generator=gen) * 2 - 1) * (0.1 * 2 * math.pi)
            cos, sin, zero = angle.cos(), angle.sin(), torch.zeros(n)
            theta = torch.stack([torch.stack([cos, -sin, zero], 1),
                                 torch.stack([sin, cos, zero], 1)], 1)
            grid = functional.affine_grid(theta, list(y.shape), align_corners=False)
            return functional.grid_sample(y, grid, mode="bilinear", padding_mode="reflection",
                                          align_corners=False)

    return call


def _augment_cases() -> list[Case]:
    # Random outputs: not checked against numpy (tol None); the identity stands in as reference.
    return [Case("layers", "RandomFlip+RandomRotation train", "b64 224x224x3",
                 LAYER_LIBRARIES, (_f32(64, 224, 224, 3),),
                 {"numpy": lambda np, x: x}, None,
                 note="training=True: per-image flips, then a bilinear rotation with reflect "
                      "fill (corten: the image_transform op; torch: grid_sample)",
                 builds={"keras": keras_augment, "torch": torch_augment})]


LAYERS += _augment_cases()
