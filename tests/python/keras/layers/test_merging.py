"""Merge layers and their functional forms, against numpy, with tf.keras 2's shape and mask rules."""

import numpy as np
import pytest

import corten as tf
from corten import keras
from corten.keras import layers

rng = np.random.default_rng(0)
A = rng.normal(size=(3, 4)).astype("float32")
B = rng.normal(size=(3, 4)).astype("float32")
C = rng.normal(size=(3, 4)).astype("float32")

CASES = [
    (layers.Add, layers.add, lambda xs: xs[0] + xs[1] + xs[2]),
    (layers.Multiply, layers.multiply, lambda xs: xs[0] * xs[1] * xs[2]),
    (layers.Average, layers.average, lambda xs: (xs[0] + xs[1] + xs[2]) / 3),
    (layers.Maximum, layers.maximum, lambda xs: np.maximum(np.maximum(xs[0], xs[1]), xs[2])),
    (layers.Minimum, layers.minimum, lambda xs: np.minimum(np.minimum(xs[0], xs[1]), xs[2])),
]


@pytest.mark.parametrize(("cls", "fn", "ref"), CASES, ids=[c[0].__name__ for c in CASES])
def test_elementwise_merges_in_a_functional_model(cls, fn, ref, tmp_path):
    inputs = [keras.Input(shape=(4,)) for _ in range(3)]
    out = fn(inputs)
    model = keras.Model(inputs, out)
    got = model.predict([A, B, C], verbose=0)
    np.testing.assert_allclose(got, ref([A, B, C]), rtol=1e-6)
    assert isinstance(model.layers[-1], cls)
    path = str(tmp_path / "m.keras")
    model.save(path)
    np.testing.assert_allclose(keras.models.load_model(path).predict([A, B, C], verbose=0), got)


def test_subtract_takes_exactly_two_inputs():
    np.testing.assert_allclose(layers.subtract([A, B]).numpy(), A - B, rtol=1e-6)
    with pytest.raises(ValueError, match="exactly 2 inputs"):
        layers.Subtract()([A, B, C])


def test_merges_broadcast_and_expand_lower_ranks_after_the_batch_axis():
    x = rng.normal(size=(3, 2, 4)).astype("float32")
    y = rng.normal(size=(3, 4)).astype("float32")
    np.testing.assert_allclose(layers.add([x, y]).numpy(), x + y[:, None, :], rtol=1e-6)
    np.testing.assert_allclose(layers.add([x, x[:, :1]]).numpy(), x + x[:, :1], rtol=1e-6)


def test_incompatible_shapes_name_both():
    with pytest.raises(ValueError, match=r"incompatible shapes.*\(3, 4\).*\(3, 5\)"):
        layers.add([A, np.ones((3, 5), "float32")])
    with pytest.raises(ValueError, match="list of at least 2 inputs"):
        layers.Add()([A])
    with pytest.raises(ValueError, match="called on a list"):
        layers.Add()(A)


def test_concatenate_and_its_shape_errors():
    np.testing.assert_allclose(layers.concatenate([A, B]).numpy(), np.concatenate([A, B], -1))
    np.testing.assert_allclose(layers.Concatenate(axis=0)([A, B]).numpy(),
                               np.concatenate([A, B], 0))
    with pytest.raises(ValueError, match=r"matching shapes except for the concatenation axis"):
        layers.concatenate([A, np.ones((2, 4), "float32")])
    a, b = keras.Input(shape=(None, 3)), keras.Input(shape=(5, 2))
    assert tuple(layers.concatenate([a, b]).shape) == (None, 5, 5)


def test_concatenate_concatenates_masks_as_tf_keras_2():
    ids = np.array([[3, 1, 0, 0], [2, 0, 0, 0]])
    emb = layers.Embedding(5, 2, mask_zero=True)
    dense = rng.normal(size=(2, 4, 3)).astype("float32")
    out = layers.Concatenate()([emb(ids), tf.constant(dense)])
    # the unmasked input counts as all True: the result is the embedding's mask
    np.testing.assert_array_equal(out._keras_mask.numpy(), ids != 0)


def test_add_ands_the_masks():
    ids_a = np.array([[1, 1, 0]])
    ids_b = np.array([[1, 0, 1]])
    emb = layers.Embedding(3, 2, mask_zero=True)
    out = layers.add([emb(ids_a), emb(ids_b)])
    np.testing.assert_array_equal(out._keras_mask.numpy(), [[True, False, False]])


@pytest.mark.parametrize(("sa", "sb", "axes", "ref"), [
    ((3, 4), (3, 4), 1, lambda a, b: (a * b).sum(1, keepdims=True)),
    ((3, 2, 4), (3, 4, 5), (2, 1), lambda a, b: a @ b),
    ((3, 4, 2), (3, 4, 5), (1, 1), lambda a, b: np.swapaxes(a, 1, 2) @ b),
    ((3, 2, 4), (3, 5, 4), (2, 2), lambda a, b: a @ np.swapaxes(b, 1, 2)),
    ((3, 4), (3, 4, 5), (1, 1), lambda a, b: np.einsum("bk,bkn->bn", a, b)),
    ((3, 2, 4), (3, 4), (2, 1), lambda a, b: np.einsum("bmk,bk->bm", a, b)),
])
def test_dot(sa, sb, axes, ref):
    a = rng.normal(size=sa).astype("float32")
    b = rng.normal(size=sb).astype("float32")
    np.testing.assert_allclose(layers.dot([a, b], axes=axes).numpy(), ref(a, b), rtol=1e-5,
                               atol=1e-6)


def test_dot_normalize_is_the_cosine():
    got = layers.Dot(axes=1, normalize=True)([A, B]).numpy()
    cos = (A * B).sum(1) / np.linalg.norm(A, axis=1) / np.linalg.norm(B, axis=1)
    np.testing.assert_allclose(got[:, 0], cos, rtol=1e-5)
    with pytest.raises(ValueError, match="Dimension incompatibility: 4 != 5"):
        layers.dot([A, np.ones((3, 5), "float32")], axes=1)


def test_gradients_flow_through_every_merge():
    a, b = tf.Variable(A), tf.Variable(B)
    for fn in (layers.add, layers.multiply, layers.average, layers.maximum, layers.concatenate,
               lambda xs: layers.dot(xs, axes=1)):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(fn([a, b]))
        ga, gb = tape.gradient(loss, [a, b])
        assert ga is not None and gb is not None


def test_configs_round_trip():
    for layer in (layers.Add(name="x"), layers.Concatenate(axis=1),
                  layers.Dot(axes=(1, 2), normalize=True)):
        clone = type(layer).from_config(layer.get_config())
        assert clone.get_config() == layer.get_config()


def test_the_functional_guide_ensemble():
    # the functional guide's ensemble: layers.average of three models' outputs
    def get_model():
        inputs = keras.Input(shape=(128,))
        return keras.Model(inputs, layers.Dense(1)(inputs))

    model1, model2, model3 = get_model(), get_model(), get_model()
    inputs = keras.Input(shape=(128,))
    outputs = layers.average([model1(inputs), model2(inputs), model3(inputs)])
    ensemble = keras.Model(inputs=inputs, outputs=outputs)
    x = rng.normal(size=(2, 128)).astype("float32")
    want = (model1.predict(x, verbose=0) + model2.predict(x, verbose=0)
            + model3.predict(x, verbose=0)) / 3
    np.testing.assert_allclose(ensemble.predict(x, verbose=0), want, rtol=1e-5, atol=1e-6)
