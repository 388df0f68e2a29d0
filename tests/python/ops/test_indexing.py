"""Basic indexing (Tensor.__getitem__) against numpy on the same keys: ints, slices with any
step, ellipsis and newaxis; views sharing storage; reshape as view or copy; errors."""

from __future__ import annotations

import numpy as np
import pytest
from cases import ALL_DTYPES, LAYOUTS, as_layout, check_close, random_array
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import corten as tf

KEYS_3D = [
    0, -1, 2, -3, (1, 2), (-1, -2, -3), (0, 0, 0),
    slice(None), slice(1, None), slice(None, 2), slice(None, None, -1), slice(None, None, 2),
    slice(None, None, -2), slice(-1, None, -1), slice(5, -10, -1), slice(-100, 100),
    slice(100, None), slice(None, -100), slice(2, 1), slice(1, 2, 5), slice(2, None, -3),
    (slice(None), 1), (slice(None), slice(None), -1), (slice(None, None, -1), 2, slice(1, 4, 2)),
    Ellipsis, (Ellipsis, 0), (0, Ellipsis), (1, Ellipsis, -1), (Ellipsis, slice(None, None, -2)),
    None, (None, 0), (0, None), (None, Ellipsis, None), (slice(None), None, 1, None),
    (Ellipsis, None), (None, None, 1, slice(2, None), None, Ellipsis),
    (), (0, 1, slice(None, None, -1)), (slice(0, 0), 0), (-2, slice(-3, -1), None, -5),
    (Ellipsis, 1, 2, 3),
]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("key", KEYS_3D, ids=repr)
def test_getitem_matches_numpy(key, layout, rng):
    for dtype in ALL_DTYPES:
        a = random_array(rng, (3, 4, 5), dtype)
        t = as_layout(a, layout)
        got = t[key]
        check_close(got, np.asarray(a[key]), dtype)
        assert got._storage_id == t._storage_id  # always a view


@pytest.mark.parametrize("key", [(), Ellipsis, None, (None, Ellipsis), (Ellipsis, None, None)],
                         ids=repr)
def test_getitem_0d(key):
    a = np.array(2.5)
    t = tf.constant(a)
    check_close(t[key], np.asarray(a[key]), "float32")


@pytest.mark.parametrize("key", [slice(None), slice(1, None), (slice(None), 1), (Ellipsis, -1),
                                 (slice(None, None, -1), slice(0, 2)), None, (None, slice(1, 0))],
                         ids=repr)
def test_getitem_empty(key):
    a = np.zeros((0, 3), dtype=np.float32)
    t = tf.constant(a)
    check_close(t[key], np.asarray(a[key]), "float32")


def test_getitem_size1_and_tensor_indices():
    a = np.arange(7.0)
    t = tf.constant(a)
    check_close(t[tf.constant(3)], a[3], "float64")
    check_close(t[tf.constant(-2, dtype=tf.int64)], a[-2], "float64")
    check_close(t[np.int64(1):tf.constant(5):np.int32(2)], a[1:5:2], "float64")
    one = tf.constant(np.array([4.0]))
    check_close(one[0], np.array(4.0), "float64")
    check_close(one[-1:], np.array([4.0]), "float64")


def test_views_share_storage_and_see_writes():
    base_np = np.arange(24.0).reshape(4, 6)
    t = tf.convert_to_tensor(base_np)
    for view in (t[1:], t[:, ::-2], t[..., 3], t[None, 2, 1:5], tf.transpose(t)[::2]):
        assert view._storage_id == t._storage_id
    v = t[1:, ::-2]
    np.asarray(t)[2, 5] = -7.0  # written through the base
    assert np.asarray(v)[1, 0] == -7.0
    np.asarray(v)[0, 0] = 99.0  # and through the view
    assert np.asarray(t)[1, 5] == 99.0
    w = t[1:][1:][::2]  # views of views
    assert w._storage_id == t._storage_id
    np.testing.assert_array_equal(np.asarray(w), np.asarray(t)[2::2])


def test_reshape_is_a_view_when_strides_allow_else_a_copy():
    t = tf.constant(np.arange(24.0).reshape(4, 6))
    assert tf.reshape(t, [2, 12])._storage_id == t._storage_id
    assert tf.reshape(t[1:3], [12])._storage_id == t._storage_id  # contiguous rows
    assert tf.reshape(t[:, 1:3], [2, 2, 2])._storage_id == t._storage_id  # split the outer axis
    copied = tf.reshape(t[:, 1:3], [8])
    assert copied._storage_id != t._storage_id
    np.testing.assert_array_equal(np.asarray(copied), np.arange(24.0).reshape(4, 6)[:, 1:3].ravel())
    tt = tf.transpose(t)
    assert tf.reshape(tt, [24])._storage_id != t._storage_id
    np.testing.assert_array_equal(np.asarray(tf.reshape(tt, [24])),
                                  np.arange(24.0).reshape(4, 6).T.ravel())


def test_index_errors():
    t = tf.zeros([3, 4])
    with pytest.raises(IndexError, match=r"getitem: index 4 is out of bounds for axis 1 with size "
                                         r"4 \(shape \(3, 4\)\)"):
        t[0, 4]
    with pytest.raises(IndexError, match=r"getitem: index -4 is out of bounds for axis 0 with "
                                         r"size 3"):
        t[-4]
    with pytest.raises(IndexError, match=r"getitem: index 0 is out of bounds for axis 0 with size "
                                         r"0"):
        tf.zeros([0, 2])[0]
    with pytest.raises(IndexError, match=r"getitem: too many indices for a tensor of shape "
                                         r"\(3, 4\): 3 were given"):
        t[0, 0, 0]
    with pytest.raises(IndexError, match=r"getitem: too many indices for a tensor of shape \(\)"):
        tf.zeros([])[0]
    with pytest.raises(ValueError, match=r"getitem: slice step cannot be zero"):
        t[::0]
    with pytest.raises(ValueError, match=r"getitem: an index can only have a single ellipsis"):
        t[..., 0, ...]
    with pytest.raises(TypeError, match=r"boolean indices are not supported"):
        t[True]
    with pytest.raises(TypeError, match=r"only integers, slices .* are valid indices; got 1.5"):
        t[1.5]
    with pytest.raises(TypeError, match=r"only integers, slices .* are valid indices; got \[0, 1\]"):
        t[[0, 1]]
    with pytest.raises(TypeError, match=r"only integer scalars.*got a tensor of shape \(2,\)"):
        t[tf.constant([0, 1])]
    with pytest.raises(TypeError, match=r"got a tensor of shape \(\) and dtype float32"):
        t[tf.constant(1.0)]


def test_getitem_meta():
    m = tf._C.empty_meta([None, 5], tf.float32)
    assert tuple(m[:, 1:4].shape) == (None, 3)
    assert tuple(m[0].shape) == (5,)
    assert tuple(m[::2, None, -1].shape) == (None, 1)
    assert m[1:].device == "meta"


# ---------------------------------------------------------------- property-based


@st.composite
def _shape_and_key(draw):
    shape = tuple(draw(st.lists(st.integers(0, 5), min_size=0, max_size=4)))
    items = []
    dims_left = len(shape)
    used_ellipsis = False
    for _ in range(draw(st.integers(0, len(shape) + 2))):
        kind = draw(st.sampled_from(["int", "slice", "none", "ellipsis"]))
        if kind in ("int", "slice") and dims_left == 0:
            kind = "none"
        if kind == "ellipsis" and used_ellipsis:
            kind = "none"
        d = len(shape) - dims_left
        if kind == "int" and shape[d] == 0:
            kind = "slice"
        if kind == "int":
            items.append(draw(st.integers(-shape[d], shape[d] - 1)))
            dims_left -= 1
        elif kind == "slice":
            bound = st.one_of(st.none(), st.integers(-8, 8))
            step = st.one_of(st.none(), st.integers(-4, 4).filter(lambda s: s != 0))
            items.append(slice(draw(bound), draw(bound), draw(step)))
            dims_left -= 1
        elif kind == "none":
            items.append(None)
        else:
            items.append(Ellipsis)
            used_ellipsis = True
            # the ellipsis takes whatever the remaining items leave; keep later items valid
            dims_left = 0
    return shape, tuple(items)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_shape_and_key(), st.sampled_from(LAYOUTS))
def test_getitem_property(shape_key, layout):
    shape, key = shape_key
    a = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
    t = as_layout(a, layout)
    got = t[key]
    np.testing.assert_array_equal(np.asarray(got), a[key])
