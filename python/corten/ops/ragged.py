"""RaggedTensor: rows of different lengths, as flat ``values`` and ``row_splits``.

The subset of ``tf.RaggedTensor`` that text pipelines meet: what ``corten.strings.split``,
``ngrams`` and ``unicode_split`` return, and its conversion to a padded dense tensor.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from corten import _C
from corten.tensor_shape import TensorShape

Tensor = _C.Tensor

__all__ = ["RaggedTensor"]


class RaggedTensor:
    """A 2-D ragged tensor: row ``i`` is ``values[row_splits[i]:row_splits[i + 1]]``.

    Args:
        values: the rows' elements, concatenated (1-D).
        row_splits: int64, one more entry than there are rows, starting at 0, non-decreasing,
            ending at ``len(values)``.
    """

    def __init__(self, values: Tensor, row_splits: Tensor) -> None:
        self.values = values
        # The ops that read the rows check the splits (start at 0, never decrease, end at
        # len(values)) in C++.
        self.row_splits = _C.convert_to_tensor(row_splits, _C.DType.int64)

    @classmethod
    def from_row_splits(cls, values: Any, row_splits: Any) -> RaggedTensor:
        """The ragged tensor with these values and row splits."""
        return cls(_C.convert_to_tensor(values, None), row_splits)

    @classmethod
    def from_row_lengths(cls, values: Any, row_lengths: Any) -> RaggedTensor:
        """The ragged tensor whose rows have these lengths."""
        lengths = np.asarray(row_lengths, dtype=np.int64).reshape(-1)
        return cls(_C.convert_to_tensor(values, None),
                   np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64))

    @property
    def dtype(self) -> Any:
        """The values' dtype."""
        return self.values.dtype

    @property
    def shape(self) -> TensorShape:
        """(rows, None): the row length varies."""
        return TensorShape((self.nrows(), None))

    @property
    def ragged_rank(self) -> int:
        """1: one ragged dimension."""
        return 1

    def nrows(self) -> int:
        """The number of rows."""
        return int(self.row_splits.shape[0]) - 1

    def row_lengths(self) -> Tensor:
        """The length of every row (int64)."""
        return _C.subtract(self.row_splits[1:], self.row_splits[:-1])

    def to_tensor(self, default_value: Any = None, shape: Any = None) -> Tensor:
        """A dense (rows, width) tensor: rows padded with ``default_value`` (zero, False or the
        empty string by default) to the longest row, or cut and padded to ``shape[1]``."""
        width = -1
        if shape is not None:
            shape = tuple(shape)
            if len(shape) != 2:
                raise ValueError(f"RaggedTensor.to_tensor: shape must have rank 2; got {shape}")
            if shape[1] is not None:
                width = int(shape[1])
        if default_value is None:
            default_value = b"" if self.dtype == _C.DType.string else \
                False if self.dtype == _C.DType.bool else 0
        return _C.ragged_to_dense(self.values, self.row_splits, width, default_value)

    def to_list(self) -> list:
        """The rows as Python lists (bytes for strings)."""
        values = self.values.numpy().tolist()
        splits = self.row_splits.numpy().tolist()
        return [values[splits[i]:splits[i + 1]] for i in range(len(splits) - 1)]

    def numpy(self) -> np.ndarray:
        """An object array of the rows as numpy arrays."""
        values = self.values.numpy()
        splits = self.row_splits.numpy()
        out = np.empty(len(splits) - 1, dtype=object)
        for i in range(len(out)):
            out[i] = values[splits[i]:splits[i + 1]]
        return out

    def __getitem__(self, row: int) -> Tensor:
        n = self.nrows()
        if not -n <= row < n:
            raise IndexError(f"RaggedTensor: row {row} is out of range for {n} rows")
        row %= n
        splits = self.row_splits.numpy()
        return self.values[int(splits[row]):int(splits[row + 1])]

    def __len__(self) -> int:
        return self.nrows()

    def __repr__(self) -> str:
        return f"<corten.RaggedTensor {self.to_list()}>"
