"""SimpleRNN, LSTM, GRU and RNN(cell): numpy references, gradients through time, masks."""

import numpy as np
import pytest

import corten as tf
from corten import _C, keras
from corten.bench.peers import keras_models
from corten.keras import layers
from corten.testing import run_layer_test

RNG = np.random.default_rng(7)
CELLS = [("simple_rnn", 1), ("lstm", 4), ("gru", 3), ("gru_reset_before", 3)]


def _sig(x):
    return 1 / (1 + np.exp(-x))


def np_sequence(cell, xw, h0, c0, u, rb, mask, go_backwards=False, zero_output=False):
    """float64 reference of rnn_sequence: xw (T, B, G*H) time-major; Keras gate order."""
    steps, batch = xw.shape[:2]
    units = u.shape[0]
    h, c = h0.copy(), None if c0 is None else c0.copy()
    prev, ys = np.zeros_like(h), []
    for s in range(steps):
        t = steps - 1 - s if go_backwards else s
        x = xw[t]
        if cell == "lstm":
            i, f, g, o = np.split(x + h @ u, 4, axis=-1)
            cn = _sig(f) * c + _sig(i) * np.tanh(g)
            hn = _sig(o) * np.tanh(cn)
        elif cell == "simple_rnn":
            hn, cn = np.tanh(x + h @ u), None
        elif cell == "gru":
            xz, xr, xh = np.split(x, 3, axis=-1)
            iz, ir, ih = np.split(h @ u + (0 if rb is None else rb), 3, axis=-1)
            z, r = _sig(xz + iz), _sig(xr + ir)
            hn, cn = z * h + (1 - z) * np.tanh(xh + r * ih), None
        else:
            xz, xr, xh = np.split(x, 3, axis=-1)
            iz, ir = np.split(h @ u[:, :2 * units], 2, axis=-1)
            z, r = _sig(xz + iz), _sig(xr + ir)
            hn, cn = z * h + (1 - z) * np.tanh(xh + (r * h) @ u[:, 2 * units:]), None
        m = np.ones((batch, 1), bool) if mask is None else mask[:, t:t + 1]
        out = np.where(m, hn, 0 if zero_output else prev)
        h = np.where(m, hn, h)
        if c is not None:
            c = np.where(m, cn, c)
        prev = out
        ys.append(out)
    return np.stack(ys), h, c


def _op_args(cell, gates, steps=5, batch=3, units=4):
    xw = RNG.normal(size=(steps, batch, gates * units))
    h0 = RNG.normal(size=(batch, units))
    c0 = RNG.normal(size=(batch, units)) if cell == "lstm" else None
    u = RNG.normal(size=(units, gates * units)) * 0.5
    rb = RNG.normal(size=(gates * units,)) if cell == "gru" else None
    return xw, h0, c0, u, rb


# ---------------------------------------------------------------------------- the fused op

@pytest.mark.parametrize(("cell", "gates"), CELLS)
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("zero_output", [False, True])
def test_op_matches_numpy(cell, gates, go_backwards, zero_output):
    xw, h0, c0, u, rb = _op_args(cell, gates)
    mask = RNG.random((3, 5)) > 0.4
    outs = _C.rnn_sequence(cell, xw, h0, c0, u, rb, mask, None, "tanh", "sigmoid",
                           go_backwards, zero_output)
    want = np_sequence(cell, xw, h0, c0, u, rb, mask, go_backwards, zero_output)
    for got, ref in zip(outs, want, strict=False):
        np.testing.assert_allclose(np.asarray(got), ref, rtol=1e-10, atol=1e-12)


def _loss(cell, args, mask, rdrop, weights, go_backwards, zero_output):
    xw, h0, c0, u, rb = args
    outs = _C.rnn_sequence(cell, xw, h0, c0, u, rb, mask, rdrop, "tanh", "sigmoid",
                           go_backwards, zero_output)
    return sum(tf.reduce_sum(o * w) for o, w in zip(outs, weights, strict=False))


@pytest.mark.parametrize(("cell", "gates"), CELLS)
@pytest.mark.parametrize(("go_backwards", "zero_output", "dropout"),
                         [(False, False, False), (True, True, False), (False, False, True),
                          (True, False, True)])
def test_op_gradients_through_time(cell, gates, go_backwards, zero_output, dropout):
    """Central differences of every input (xw, h0, c0, recurrent kernel, recurrent bias)."""
    steps, batch, units = 4, 2, 3
    args = list(_op_args(cell, gates, steps, batch, units))
    mask = np.array([[1, 0, 1, 1], [0, 1, 1, 0]], bool)
    rdrop = (RNG.random((gates, batch, units)) > 0.3) / 0.7 if dropout else None
    weights = [RNG.normal(size=(steps, batch, units)), RNG.normal(size=(batch, units)),
               RNG.normal(size=(batch, units))]
    tensors = [None if a is None else tf.constant(a) for a in args]
    with tf.GradientTape() as tape:
        for t in tensors:
            if t is not None:
                tape.watch(t)
        loss = _loss(cell, tensors, mask, rdrop, weights, go_backwards, zero_output)
    grads = tape.gradient(loss, [t for t in tensors if t is not None])
    k = 0
    for i, a in enumerate(args):
        if a is None:
            continue
        got = np.asarray(grads[k])
        k += 1
        num = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            plus = [None if v is None else v.copy() for v in args]
            minus = [None if v is None else v.copy() for v in args]
            plus[i][idx] += 1e-6
            minus[i][idx] -= 1e-6
            num[idx] = (float(_loss(cell, plus, mask, rdrop, weights, go_backwards, zero_output))
                        - float(_loss(cell, minus, mask, rdrop, weights, go_backwards,
                                      zero_output))) / 2e-6
        np.testing.assert_allclose(got, num, rtol=1e-6, atol=1e-8, err_msg=f"input {i}")


@pytest.mark.parametrize(("cell", "gates"), CELLS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fast_kernel_matches_reference_kernel(cell, gates, dtype):
    steps, batch, units = 6, 9, 20
    args = [None if a is None else a.astype(dtype)
            for a in _op_args(cell, gates, steps, batch, units)]
    mask = RNG.random((batch, steps)) > 0.3
    rdrop = ((RNG.random((gates, batch, units)) > 0.3) / 0.7).astype(dtype)
    # float32: the GEMM's blocked sums and the vectorised tanh/sigmoid (a few ulp) differ from
    # the plain loops, and the differences grow through time.
    tol = dict(rtol=2e-4, atol=2e-4) if dtype == "float32" else dict(rtol=1e-11, atol=1e-11)
    for acts in [("tanh", "sigmoid"), ("relu", "hard_sigmoid")]:
        res = []
        for reference in (False, True):
            tensors = [None if a is None else tf.constant(a) for a in args]
            with tf.GradientTape() as tape:
                for t in tensors:
                    if t is not None:
                        tape.watch(t)
                outs = _C.rnn_sequence(cell, *tensors[:3], tensors[3], tensors[4], mask, rdrop,
                                       *acts, True, False, reference)
                loss = sum(tf.reduce_sum(o * o) for o in outs)
            grads = tape.gradient(loss, [t for t in tensors if t is not None])
            res.append([np.asarray(o) for o in outs] + [np.asarray(g) for g in grads])
        for fast, ref in zip(*res, strict=True):
            np.testing.assert_allclose(fast, ref, **tol)


def _run_threads(fn):
    from corten.config import threading

    before = threading.get_intra_op_parallelism_threads()
    try:
        out = []
        for n in (1, 2):
            threading.set_intra_op_parallelism_threads(n)
            out.append(fn())
        return out
    finally:
        threading.set_intra_op_parallelism_threads(before)


@pytest.mark.parametrize(("cell", "gates"), CELLS)
def test_thread_count_invariance(cell, gates):
    args = [None if a is None else a.astype("float32")
            for a in _op_args(cell, gates, 7, 37, 33)]
    mask = RNG.random((37, 7)) > 0.3

    def run():
        tensors = [None if a is None else tf.constant(a) for a in args]
        with tf.GradientTape() as tape:
            for t in tensors:
                if t is not None:
                    tape.watch(t)
            outs = _C.rnn_sequence(cell, *tensors, mask, None, "tanh", "sigmoid", False, False)
            loss = sum(tf.reduce_sum(o * o) for o in outs)
        grads = tape.gradient(loss, [t for t in tensors if t is not None])
        return [np.asarray(o) for o in outs] + [np.asarray(g) for g in grads]

    one, two = _run_threads(run)
    for a, b in zip(one, two, strict=True):
        np.testing.assert_array_equal(a, b)


def test_op_errors_name_shapes():
    xw, h0, c0, u, _ = _op_args("lstm", 4)
    with pytest.raises(ValueError, match=r"rnn_sequence: h0 must have shape \(3, 4\); got "
                                         r"h0.shape=\(2, 4\)"):
        _C.rnn_sequence("lstm", xw, h0[:2], c0, u)
    with pytest.raises(ValueError, match=r"recurrent_kernel.shape=\(4, 12\)"):
        _C.rnn_sequence("lstm", xw, h0, c0, u[:, :12])
    with pytest.raises(ValueError, match=r"mask.shape=\(3, 4\)"):
        _C.rnn_sequence("lstm", xw, h0, c0, u, None, np.ones((3, 4), bool))
    with pytest.raises(ValueError, match="c0 is required"):
        _C.rnn_sequence("lstm", xw, h0, None, u)
    with pytest.raises(ValueError, match="cell must be one of"):
        _C.rnn_sequence("lstmx", xw, h0, c0, u)
    with pytest.raises(ValueError, match="activation must be one of"):
        _C.rnn_sequence("lstm", xw, h0, c0, u, activation="softsign")
    with pytest.raises(TypeError, match="dtype"):
        _C.rnn_sequence("lstm", xw, tf.constant(h0.astype("float32")), c0, u)


# ---------------------------------------------------------------------------- layers

def _layer_reference(layer, x, mask=None, initial=None):
    """The numpy reference of a built SimpleRNN/LSTM/GRU layer on batch-major x."""
    cell = layer.cell
    w = [np.asarray(v, dtype=np.float64) for v in cell.get_weights()]
    kernel, rk = w[0], w[1]
    bias = w[2] if cell.use_bias else None
    kind = {"SimpleRNNCell": "simple_rnn", "LSTMCell": "lstm"}.get(type(cell).__name__)
    if kind is None:
        kind = "gru" if cell.reset_after else "gru_reset_before"
    rb = None
    if bias is not None and kind == "gru":
        bias, rb = bias[0], bias[1]
    xw = np.transpose(x, (1, 0, 2)) @ kernel + (0 if bias is None else bias)
    batch, units = x.shape[0], cell.units
    h0 = np.zeros((batch, units)) if initial is None else initial[0]
    c0 = None if kind != "lstm" else (np.zeros((batch, units)) if initial is None else initial[1])
    return np_sequence(kind, xw, h0, c0, rk, rb, mask, layer.go_backwards,
                       layer.zero_output_for_mask)


@pytest.mark.parametrize(("layer_cls", "kwargs"), [
    (cls, kwargs) for cls in (layers.SimpleRNN, layers.LSTM, layers.GRU)
    for kwargs in ({}, {"go_backwards": True}, {"use_bias": False}, {"reset_after": False},
                   {"zero_output_for_mask": True})
    if "reset_after" not in kwargs or cls is layers.GRU])  # reset_after is GRU's alone
def test_layer_matches_numpy_float64(layer_cls, kwargs):
    x = RNG.normal(size=(3, 6, 5))
    mask = RNG.random((3, 6)) > 0.3
    layer = layer_cls(4, return_sequences=True, return_state=True, dtype="float64", **kwargs)
    layer.build((None, 6, 5))
    # Non-trivial biases (the default initial ones are zeros / ones).
    weights = layer.get_weights()
    layer.set_weights(weights[:2] + [RNG.normal(size=w.shape) for w in weights[2:]])
    initial = [RNG.normal(size=(3, 4)) for _ in layer.cell.state_size] \
        if isinstance(layer.cell.state_size, list) else [RNG.normal(size=(3, 4))]
    outs = layer(x, mask=tf.constant(mask), initial_state=[tf.constant(s) for s in initial])
    ys, h, c = _layer_reference(layer, x, mask, initial)
    np.testing.assert_allclose(np.asarray(outs[0]), np.transpose(ys, (1, 0, 2)), rtol=1e-10,
                               atol=1e-12)
    np.testing.assert_allclose(np.asarray(outs[1]), h, rtol=1e-10, atol=1e-12)
    if c is not None:
        np.testing.assert_allclose(np.asarray(outs[2]), c, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("layer_cls", [layers.SimpleRNN, layers.LSTM, layers.GRU])
def test_fused_layer_matches_python_step_loop(layer_cls):
    """RNN(cell) over the cell's Python step (the path of user cells) gives the fused result,
    values and gradients."""
    x = tf.constant(RNG.normal(size=(4, 5, 3)))
    mask = tf.constant(RNG.random((4, 5)) > 0.3)
    fused = layer_cls(6, return_sequences=True, return_state=True, dtype="float64",
                      go_backwards=True)
    fused.build((None, 5, 3))
    loop = layers.RNN(fused.cell, return_sequences=True, return_state=True, go_backwards=True,
                      dtype="float64")
    loop.__dict__["_fusable"] = lambda: False
    results = []
    for layer in (fused, loop):
        with tf.GradientTape() as tape:
            tape.watch(x)
            outs = layer(x, mask=mask)
            loss = sum(tf.reduce_sum(o * o) for o in outs)
        grads = tape.gradient(loss, [x, *fused.cell.trainable_weights])
        results.append([np.asarray(o) for o in outs] + [np.asarray(g) for g in grads])
    for a, b in zip(*results, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("layer_cls", [layers.SimpleRNN, layers.LSTM, layers.GRU])
def test_layer_gradients_finite_differences(layer_cls):
    x = RNG.normal(size=(2, 3, 2))
    layer = layer_cls(2, return_sequences=True, dtype="float64")
    layer.build((None, 3, 2))
    layer.set_weights([RNG.normal(size=w.shape) * 0.5 for w in layer.get_weights()])
    wts = RNG.normal(size=(2, 3, 2))

    def loss_value():
        return float(tf.reduce_sum(layer(tf.constant(x)) * wts))

    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        loss = tf.reduce_sum(layer(xt) * wts)
    grads = tape.gradient(loss, [xt, *layer.trainable_weights])
    num_x = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        x[idx] += 1e-6
        hi = loss_value()
        x[idx] -= 2e-6
        lo = loss_value()
        x[idx] += 1e-6
        num_x[idx] = (hi - lo) / 2e-6
    np.testing.assert_allclose(np.asarray(grads[0]), num_x, rtol=1e-6, atol=1e-8)
    for var, g in zip(layer.trainable_weights, grads[1:], strict=True):
        base = np.asarray(var).copy()
        num = np.zeros_like(base)
        for idx in np.ndindex(base.shape):
            for sign in (1, -1):
                v = base.copy()
                v[idx] += sign * 1e-6
                var.assign(v)
                num[idx] += sign * loss_value() / 2e-6
        var.assign(base)
        np.testing.assert_allclose(np.asarray(g), num, rtol=1e-6, atol=1e-8, err_msg=var.name)


@pytest.mark.parametrize(("layer_cls", "kwargs", "n_weights"), [
    (layers.SimpleRNN, {"units": 3}, 3),
    (layers.SimpleRNN, {"units": 3, "return_sequences": True, "use_bias": False}, 2),
    (layers.LSTM, {"units": 3}, 3),
    (layers.LSTM, {"units": 3, "return_sequences": True, "go_backwards": True}, 3),
    (layers.LSTM, {"units": 2, "activation": "relu", "recurrent_activation": "hard_sigmoid",
                   "unit_forget_bias": False}, 3),
    (layers.LSTM, {"units": 3, "dropout": 0.2, "recurrent_dropout": 0.3}, 3),
    (layers.GRU, {"units": 3}, 3),
    (layers.GRU, {"units": 3, "reset_after": False, "return_sequences": True}, 3),
    (layers.GRU, {"units": 3, "time_major": True, "return_sequences": True}, 3),
    (layers.LSTM, {"units": 3, "activation": "softsign"}, 3),  # the Python step path
])
def test_run_layer_test(layer_cls, kwargs, n_weights):
    out_steps = 4 if kwargs.get("return_sequences") else None
    expected = (2, out_steps, kwargs["units"]) if out_steps else (2, kwargs["units"])
    if kwargs.get("time_major"):
        expected = (2, 4, kwargs["units"])  # (timesteps, batch, units)
    run_layer_test(layer_cls, kwargs, input_shape=(2, 4, 5), expected_output_shape=expected,
                   expected_num_trainable_weights=n_weights,
                   supports_masking=True if out_steps else None)


def test_weight_names_shapes_and_config():
    layer = layers.LSTM(8, name="lstm")
    layer.build((None, 5, 3))
    assert [w.name.split("/")[-1] for w in layer.weights] == ["kernel:0", "recurrent_kernel:0",
                                                               "bias:0"]
    assert [tuple(w.shape) for w in layer.weights] == [(3, 32), (8, 32), (32,)]
    bias = np.asarray(layer.cell.bias)
    np.testing.assert_array_equal(bias, np.r_[np.zeros(8), np.ones(8), np.zeros(16)])
    gru = layers.GRU(8)
    gru.build((None, 5, 3))
    assert [tuple(w.shape) for w in gru.weights] == [(3, 24), (8, 24), (2, 24)]
    config = layers.LSTM(8, dropout=0.1, return_sequences=True).get_config()
    for key in ("units", "activation", "recurrent_activation", "use_bias", "kernel_initializer",
                "recurrent_initializer", "bias_initializer", "unit_forget_bias",
                "kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
                "activity_regularizer", "kernel_constraint", "recurrent_constraint",
                "bias_constraint", "dropout", "recurrent_dropout", "return_sequences",
                "return_state", "go_backwards", "stateful", "unroll", "time_major",
                "implementation"):
        assert key in config, key
    assert "cell" not in config
    assert layers.GRU(3).get_config()["reset_after"] is True
    assert layers.LSTM(3, recurrent_dropout=0.1).get_config()["implementation"] == 1


# ---------------------------------------------------------------------------- masks

@pytest.mark.parametrize("side", ["right", "left", "middle"])
def test_masked_batch_equals_each_sequence_alone(side):
    """Embedding(mask_zero=True) + LSTM: padding anywhere leaves outputs and states as if each
    sequence ran alone."""
    seqs = [[3, 9, 4, 7, 2], [5, 1], [8, 6, 2]]
    length = 7
    rows = []
    for s in seqs:
        pad = [0] * (length - len(s))
        if side == "right":
            rows.append(s + pad)
        elif side == "left":
            rows.append(pad + s)
        else:
            rows.append(s[:1] + pad + s[1:])
    ids = keras.Input((None,), dtype="int32")
    emb = layers.Embedding(12, 6, mask_zero=True)(ids)
    out, h, c = layers.LSTM(5, return_state=True)(emb)
    model = keras.Model(ids, [out, h, c])
    batch = [np.asarray(t) for t in model(np.array(rows))]
    for i, s in enumerate(seqs):
        alone = [np.asarray(t) for t in model(np.array([s]))]
        for got, want in zip(batch, alone, strict=True):
            np.testing.assert_allclose(got[i], want[0], rtol=1e-5, atol=1e-6)


def test_zero_output_for_masking():
    """tf_keras base_rnn_test.test_zero_output_for_masking."""
    for unroll in (True, False):
        cell = layers.SimpleRNNCell(5)
        x = keras.Input((5, 5))
        masked = layers.Masking()(x)
        y = layers.RNN(cell, return_sequences=True, zero_output_for_mask=True,
                       unroll=unroll)(masked)
        model = keras.Model(x, y)
        model.compile(optimizer="rmsprop", loss="mse")
        np_x = np.ones((6, 5, 5))
        result_1 = model.predict(np_x)
        np_x[5, 3:] = 0
        result_2 = model.predict(np_x)
        result_1[5, 3:] = 0
        np.testing.assert_allclose(result_1, result_2, rtol=1e-6, atol=1e-6)


def test_masked_steps_repeat_previous_output():
    x = RNG.normal(size=(2, 4, 3)).astype("float32")
    mask = np.array([[0, 1, 0, 1], [1, 1, 0, 0]], bool)
    y = np.asarray(layers.GRU(2, return_sequences=True)(x, mask=tf.constant(mask)))
    np.testing.assert_array_equal(y[0, 0], 0)
    np.testing.assert_array_equal(y[0, 2], y[0, 1])
    np.testing.assert_array_equal(y[1, 3], y[1, 1])


def test_mask_propagation():
    ids = keras.Input((None,), dtype="int32")
    emb = layers.Embedding(10, 4, mask_zero=True)(ids)
    seq = layers.LSTM(3, return_sequences=True)(emb)
    assert seq._keras_mask is not None
    last = layers.LSTM(3)(seq)
    assert getattr(last, "_keras_mask", None) is None


# ---------------------------------------------------------------------------- states, dropout

def test_stateful_and_reset_states():
    layer = layers.LSTM(3, stateful=True, batch_input_shape=(2, 4, 5))
    x = RNG.normal(size=(2, 4, 5)).astype("float32")
    first = np.asarray(layer(x))
    second = np.asarray(layer(x))
    assert not np.allclose(first, second)
    layer.reset_states()
    np.testing.assert_allclose(np.asarray(layer(x)), first, rtol=1e-6)
    with pytest.raises(ValueError, match=r"expected shape=\(2, 3\) but found shape=\(1, 3\)"):
        layer.reset_states([np.zeros((1, 3)), np.zeros((1, 3))])
    with pytest.raises(AttributeError, match="stateful"):
        layers.LSTM(3).reset_states()


def test_dropout_only_in_training_and_reproducible():
    x = RNG.normal(size=(4, 6, 5)).astype("float32")
    layer = layers.LSTM(3, dropout=0.5, recurrent_dropout=0.5)
    infer = np.asarray(layer(x))
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), infer)
    tf.random.set_seed(3)
    a = np.asarray(layer(x, training=True))
    tf.random.set_seed(3)
    b = np.asarray(layer(x, training=True))
    assert not np.allclose(a, infer)
    np.testing.assert_array_equal(a, b)


def test_regularizers_and_constraints():
    layer = layers.GRU(3, kernel_regularizer="l2", recurrent_regularizer="l1",
                       bias_regularizer="l2", recurrent_constraint="non_neg")
    layer(RNG.normal(size=(2, 4, 5)).astype("float32"))
    assert len(layer.losses) == 3
    assert layer.cell.recurrent_constraint is not None


def test_layer_errors():
    with pytest.raises(ValueError, match=r"expected ndim=3, found ndim=2"):
        layers.LSTM(3)(np.zeros((2, 5), "float32"))
    with pytest.raises(ValueError, match=r"state 0 must have shape \(2, 3\); received "
                                         r"shape=\(2, 4\)"):
        layers.GRU(3)(np.zeros((2, 4, 5), "float32"), initial_state=[np.zeros((2, 4),
                                                                              "float32")])
    with pytest.raises(ValueError, match="expects 2 state"):
        layers.LSTM(3)(np.zeros((2, 4, 5), "float32"), initial_state=[np.zeros((2, 3),
                                                                               "float32")])
    with pytest.raises(ValueError, match="units"):
        layers.LSTM(0)
    with pytest.raises(ValueError, match="state_size"):
        layers.RNN(layers.Dense(3))


# ---------------------------------------------------------------------------- user cells

class MinimalRNNCell(layers.Layer):
    """The tf.keras RNN guide's cell."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units),
                                      initializer="uniform", name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, self.units),
                                                initializer="uniform", name="recurrent_kernel")
        self.built = True

    def call(self, inputs, states):
        prev_output = states[0]
        h = tf.matmul(inputs, self.kernel)
        output = h + tf.matmul(prev_output, self.recurrent_kernel)
        return output, [output]

    def get_config(self):
        config = super().get_config()
        config["units"] = self.units
        return config


def test_user_cell_and_stacked_cells():
    x = RNG.normal(size=(2, 4, 5)).astype("float32")
    layer = layers.RNN(MinimalRNNCell(3), return_sequences=True)
    y = layer(x)
    assert tuple(y.shape) == (2, 4, 3)
    k, rk = (np.asarray(w) for w in layer.weights)
    h = np.zeros((2, 3))
    for t in range(4):
        h = x[:, t] @ k + h @ rk
        np.testing.assert_allclose(np.asarray(y)[:, t], h, rtol=1e-5, atol=1e-6)
    stacked = layers.RNN([MinimalRNNCell(3), MinimalRNNCell(4)], return_state=True)
    out = stacked(x)
    assert [tuple(o.shape) for o in out] == [(2, 4), (2, 3), (2, 4)]
    inp = keras.Input((None, 5))
    model = keras.Model(inp, layers.RNN(MinimalRNNCell(3))(inp))
    assert tuple(model(x).shape) == (2, 3)
    run_layer_test(layers.RNN, {"cell": MinimalRNNCell(3)}, input_shape=(2, 4, 5),
                   expected_output_shape=(2, 3), custom_objects={"MinimalRNNCell":
                                                                 MinimalRNNCell})


def test_stacked_builtin_cells_match_layers():
    x = RNG.normal(size=(3, 5, 4)).astype("float32")
    mask = tf.constant(RNG.random((3, 5)) > 0.3)
    cells = [layers.LSTMCell(3), layers.GRUCell(2)]
    stacked = layers.RNN(cells, return_sequences=True, go_backwards=True)
    y = np.asarray(stacked(x, mask=mask))
    loop = layers.RNN(layers.StackedRNNCells(cells), return_sequences=True, go_backwards=True)
    loop.__dict__["_fusable"] = lambda: False
    np.testing.assert_allclose(np.asarray(loop(x, mask=mask)), y, rtol=1e-5, atol=1e-6)


def test_cells_alone():
    cell = layers.LSTMCell(4)
    x = tf.constant(RNG.normal(size=(2, 3)).astype("float32"))
    h, (h2, c) = cell(x, [tf.zeros((2, 4)), tf.zeros((2, 4))])
    assert tuple(h.shape) == (2, 4)
    assert tuple(c.shape) == (2, 4)
    np.testing.assert_array_equal(np.asarray(h), np.asarray(h2))
    gru = layers.GRUCell(4)
    out, state = gru(x, [tf.zeros((2, 4))])
    assert tuple(out.shape) == (2, 4)
    assert tuple(layers.SimpleRNNCell(4).get_initial_state(batch_size=2, dtype="float32")
                 .shape) == (2, 4)


# ---------------------------------------------------------------------------- the guide's model

def test_functional_guide_ticket_model():
    """The functional guide's multi-input, multi-output model: shapes, parameters (as tf.keras
    counts them) and two epochs of fit on the guide's dummy data (fewer samples)."""
    num_tags, num_words, num_departments = 12, 10000, 4
    model = keras_models.ticket_classifier(keras, num_tags, num_words, num_departments)
    lstms = [layer for layer in model.layers if isinstance(layer, layers.LSTM)]
    assert [tuple(layer.output.shape) for layer in lstms] == [(None, 128), (None, 32)]
    merged = next(layer for layer in model.layers if isinstance(layer, layers.Concatenate))
    assert tuple(merged.output.shape) == (None, 172)
    # tf.keras: 2 x 640000 (embeddings) + 4 * (64 * 128 + 128 * 128 + 128) + 4 * (64 * 32 +
    # 32 * 32 + 32) + 173 + 692.
    assert model.count_params() == 1_392_097
    model.compile(optimizer=keras.optimizers.RMSprop(1e-3),
                  loss={"priority": keras.losses.BinaryCrossentropy(from_logits=True),
                        "department": keras.losses.CategoricalCrossentropy(from_logits=True)},
                  loss_weights={"priority": 1.0, "department": 0.2})
    rng = np.random.default_rng(0)
    n = 64
    history = model.fit(
        {"title": rng.integers(num_words, size=(n, 10)),
         "body": rng.integers(num_words, size=(n, 20)),
         "tags": rng.integers(2, size=(n, num_tags)).astype("float32")},
        {"priority": rng.random(size=(n, 1)),
         "department": rng.integers(2, size=(n, num_departments))},
        epochs=2, batch_size=32, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))


def test_cells_with_a_build_config_deserialize_by_building():
    # tf.keras's saved RNN configs carry a build_config for every cell; a cell cannot be
    # called on zeros without its states, so it is built from the shape.
    config = {"class_name": "RNN", "config": {
        "name": "rnn", "return_sequences": True,
        "cell": {"class_name": "StackedRNNCells", "config": {
            "name": "stacked_rnn_cells", "cells": [
                {"class_name": "GRUCell", "config": {"name": "gru_cell", "units": 3},
                 "build_config": {"input_shape": [2, 4]}},
                {"class_name": "LSTMCell", "config": {"name": "lstm_cell", "units": 2},
                 "build_config": {"input_shape": [2, 3]}}]},
            "build_config": {"input_shape": [2, 4]}}}}
    layer = layers.deserialize(config)
    assert layer.cell.cells[0].built
    assert layer.cell.cells[1].built
    assert [tuple(w.shape) for w in layer.cell.cells[1].weights] == [(3, 8), (2, 8), (8,)]
    assert layer(np.zeros((1, 5, 4), "float32")).shape == (1, 5, 2)
