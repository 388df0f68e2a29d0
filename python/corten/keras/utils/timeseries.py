"""keras.utils.timeseries_dataset_from_array (tf.keras 2 semantics)."""

from __future__ import annotations

from typing import Any

import numpy as np

import corten

__all__ = ["timeseries_dataset_from_array"]

_NAME = "timeseries_dataset_from_array"


def _check(cond: bool, message: str) -> None:
    if not cond:
        raise ValueError(f"{_NAME}: {message}")


def timeseries_dataset_from_array(data: Any, targets: Any, sequence_length: int,
                                  sequence_stride: int = 1, sampling_rate: int = 1,
                                  batch_size: int | None = 128, shuffle: bool = False,
                                  seed: int | None = None, start_index: int | None = None,
                                  end_index: int | None = None) -> corten.data.Dataset:
    """Creates a Dataset of sliding windows over a timeseries.

    Window ``i`` holds ``data[start + p_i + k * sampling_rate]`` for ``k < sequence_length``,
    with start positions ``p_i = i * sequence_stride``; its target is ``targets[p_i]``.

    Args:
        data: an array or tensor whose first axis is time.
        targets: the targets, indexed like `data` (``targets[i]`` goes with the window
            starting at ``data[i]``), or None for a Dataset of windows only.
        sequence_length: the number of time steps per window.
        sequence_stride: the step between consecutive window starts.
        sampling_rate: the step between time steps inside a window.
        batch_size: windows per batch (128); None gives unbatched windows.
        shuffle: whether to shuffle the windows.
        seed: the shuffling seed.
        start_index, end_index: the time range of `data` used (end excluded).

    Returns:
        A ``corten.data.Dataset`` yielding ``windows`` or ``(windows, targets)``, with
        windows of shape ``(batch, sequence_length, *data.shape[1:])``.

    Raises:
        ValueError: for an index, stride or rate outside the data, naming the argument.
    """
    n = len(data)
    if start_index:
        _check(start_index >= 0, f"`start_index` must be 0 or greater. Received: "
                                 f"start_index={start_index}")
        _check(start_index < n, "`start_index` must be lower than the length of the data. "
                                f"Received: start_index={start_index}, for data of length {n}")
    if end_index:
        _check(not (start_index and end_index <= start_index),
               "`end_index` must be higher than `start_index`. Received: "
               f"start_index={start_index}, and end_index={end_index}")
        _check(end_index < n, "`end_index` must be lower than the length of the data. "
                              f"Received: end_index={end_index}, for data of length {n}")
        _check(end_index > 0, f"`end_index` must be higher than 0. Received: "
                              f"end_index={end_index}")
    _check(sampling_rate > 0, "`sampling_rate` must be higher than 0. Received: "
                              f"sampling_rate={sampling_rate}")
    _check(sampling_rate < n, "`sampling_rate` must be lower than the length of the data. "
                              f"Received: sampling_rate={sampling_rate}, for data of length {n}")
    _check(sequence_stride > 0, "`sequence_stride` must be higher than 0. Received: "
                                f"sequence_stride={sequence_stride}")
    _check(sequence_stride < n, "`sequence_stride` must be lower than the length of the data. "
                                f"Received: sequence_stride={sequence_stride}, for data of "
                                f"length {n}")
    start = 0 if start_index is None else int(start_index)
    end = n if end_index is None else int(end_index)
    num_seqs = end - start - (sequence_length - 1) * sampling_rate
    if targets is not None:
        num_seqs = min(num_seqs, len(targets))
    # Window bookkeeping (which time steps each window takes) is index arithmetic on the
    # host, as in tf.keras; the values are gathered by corten ops.
    starts = np.arange(0, max(num_seqs, 0), sequence_stride, dtype=np.int64)
    if shuffle:
        if seed is None:
            # numpy's global generator, as tf.keras: keras.utils.set_random_seed seeds it.
            seed = np.random.randint(1e6)  # noqa: NPY002
        np.random.RandomState(seed).shuffle(starts)
    steps = starts[:, None] + np.arange(sequence_length, dtype=np.int64) * sampling_rate
    series = corten.convert_to_tensor(np.asarray(data)[start:end] if not isinstance(
        data, corten.Tensor) else data[start:end])
    windows = corten.data.Dataset.from_tensor_slices(
        steps.reshape(len(starts), sequence_length)).map(
        lambda idx: corten.gather(series, idx))
    if targets is not None:
        labels = corten.convert_to_tensor(np.asarray(targets)[start:end] if not isinstance(
            targets, corten.Tensor) else targets[start:end])
        target_ds = corten.data.Dataset.from_tensor_slices(starts).map(
            lambda i: corten.gather(labels, i))
        windows = corten.data.Dataset.zip((windows, target_ds))
    if batch_size is not None:
        if shuffle:
            windows = windows.shuffle(buffer_size=batch_size * 8, seed=seed)
        windows = windows.batch(batch_size)
    elif shuffle:
        windows = windows.shuffle(buffer_size=1024, seed=seed)
    return windows
