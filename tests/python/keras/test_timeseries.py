"""keras.utils.timeseries_dataset_from_array against a numpy reference, and the tf.keras 2
import paths of the data helpers (to_categorical, pad_sequences, Input)."""

import numpy as np
import pytest
from corten import keras

DATA = np.arange(40, dtype="float32").reshape(20, 2)
TARGETS = np.arange(20) * 10


def _ref(data, targets, length, stride=1, rate=1, start=0, end=None):
    end = len(data) if end is None else end
    num = end - start - (length - 1) * rate
    if targets is not None:
        num = min(num, len(targets))
    starts = np.arange(0, num, stride)
    windows = np.stack([data[start:end][s + np.arange(length) * rate] for s in starts])
    return windows, None if targets is None else targets[start:end][starts]


def _collect(ds, with_targets=True):
    xs, ys = [], []
    for element in ds:
        if with_targets:
            xs.append(element[0].numpy())
            ys.append(element[1].numpy())
        else:
            xs.append(element.numpy())
    return np.concatenate(xs), (np.concatenate(ys) if ys else None)


@pytest.mark.parametrize(("length", "stride", "rate", "start", "end", "batch"), [
    (3, 1, 1, None, None, 4), (4, 2, 3, None, None, 5), (2, 3, 1, 2, 17, 128),
    (5, 1, 2, 1, None, None)])
def test_windows_and_targets_match_numpy(length, stride, rate, start, end, batch):
    ds = keras.utils.timeseries_dataset_from_array(
        DATA, TARGETS, length, sequence_stride=stride, sampling_rate=rate, batch_size=batch,
        start_index=start, end_index=end)
    if batch is None:
        x = np.stack([e[0].numpy() for e in ds])
        y = np.stack([e[1].numpy() for e in ds])
    else:
        first = next(iter(ds))
        assert first[0].shape[0] <= batch
        x, y = _collect(ds)
    want_x, want_y = _ref(DATA, TARGETS, length, stride, rate, start or 0, end)
    np.testing.assert_array_equal(x, want_x)
    np.testing.assert_array_equal(y, want_y)
    assert x.dtype == np.float32


def test_without_targets_and_shuffled():
    ds = keras.utils.timeseries_dataset_from_array(DATA, None, 3, batch_size=6)
    x, _ = _collect(ds, with_targets=False)
    np.testing.assert_array_equal(x, _ref(DATA, None, 3)[0])
    shuffled = keras.utils.timeseries_dataset_from_array(DATA, TARGETS, 3, batch_size=6,
                                                         shuffle=True, seed=4)
    sx, sy = _collect(shuffled)
    order = np.argsort(sy)
    np.testing.assert_array_equal(sx[order], _ref(DATA, TARGETS, 3)[0])
    assert not np.array_equal(sy, np.sort(sy))


def test_trains_a_model():
    ds = keras.utils.timeseries_dataset_from_array(DATA, TARGETS.astype("float32"), 3,
                                                   batch_size=8)
    model = keras.Sequential([keras.Input(shape=(3, 2)), keras.layers.Flatten(),
                              keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    model.fit(ds, epochs=1, verbose=0)


def test_errors_name_the_function_and_argument():
    f = keras.utils.timeseries_dataset_from_array
    with pytest.raises(ValueError, match=r"timeseries_dataset_from_array.*start_index=30"):
        f(DATA, None, 3, start_index=30)
    with pytest.raises(ValueError, match="`end_index` must be higher than `start_index`"):
        f(DATA, None, 3, start_index=5, end_index=4)
    with pytest.raises(ValueError, match="sampling_rate=0"):
        f(DATA, None, 3, sampling_rate=0)
    with pytest.raises(ValueError, match="sequence_stride=20"):
        f(DATA, None, 3, sequence_stride=20)


def test_tf_keras_2_import_paths():
    from corten.keras.preprocessing.sequence import pad_sequences
    from corten.keras.utils import timeseries_dataset_from_array, to_categorical

    assert keras.layers.Input is keras.Input
    assert keras.preprocessing.sequence.pad_sequences is keras.utils.pad_sequences
    assert pad_sequences is keras.utils.pad_sequences
    assert keras.preprocessing.timeseries_dataset_from_array is timeseries_dataset_from_array
    np.testing.assert_array_equal(to_categorical([0, 2], 3), [[1, 0, 0], [0, 0, 1]])
    np.testing.assert_array_equal(pad_sequences([[1], [2, 3]]), [[0, 1], [2, 3]])
