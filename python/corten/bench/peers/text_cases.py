"""Text cases: TextVectorization's adapt and call over 100,000 short sentences.

Every library builds the same corpus from a fixed seed (standard library only, as every peer
imports this module). tf.keras 2 adapts from a ``tf.data`` pipeline of batches of 1024 and
calls the layer inside ``tf.function``, as ``fit`` and ``Dataset.map`` run it; corten runs both
as its users do, eagerly. Keras 3's TextVectorization needs TensorFlow and PyTorch has no such
layer, so those peers sit these cases out.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

if __package__:
    from .case_types import Case
else:
    from case_types import Case

TEXT_LIBRARIES = ("corten", "tf.keras")
SENTENCES = 100_000
_PUNCT = [".", ",", "!", "?", ""]


def corpus(n: int = SENTENCES) -> list[str]:
    """n sentences of 4 to 16 words from a 5,000-word Zipf-like vocabulary, mixed case and
    punctuation: what TextVectorization's default standardization has to clean."""
    rng = random.Random(0)
    words = [f"{rng.choice(['w', 'W', 'word'])}{i}" for i in range(5000)]
    cumulative, total = [], 0.0
    for i in range(len(words)):
        total += 1.0 / (i + 1)
        cumulative.append(total)
    out = []
    for _ in range(n):
        picked = rng.choices(words, cum_weights=cumulative, k=rng.randint(4, 16))
        out.append(" ".join(w + rng.choice(_PUNCT) for w in picked))
    return out


def _is_tf(tf: Any) -> bool:
    return getattr(tf, "__name__", "") == "tensorflow"


def keras_adapt(tf: Any, keras: Any) -> Callable[[], Any]:
    """A fresh TextVectorization(max_tokens=20000) adapted to the corpus in batches of 1024."""
    data = tf.data.Dataset.from_tensor_slices(corpus()).batch(1024)

    def call():
        layer = keras.layers.TextVectorization(max_tokens=20000)
        layer.adapt(data)
        return tf.constant(layer.vocabulary_size())

    return call


def keras_vectorize(tf: Any, keras: Any) -> Callable[[], Any]:
    """The adapted layer (int mode, sequences of 32) called on all 100,000 sentences."""
    text = corpus()
    layer = keras.layers.TextVectorization(max_tokens=20000, output_sequence_length=32)
    layer.adapt(tf.data.Dataset.from_tensor_slices(text).batch(1024))
    x = tf.constant(text)
    if _is_tf(tf):
        fn = tf.function(lambda: layer(x))
        fn()
        return fn
    return lambda: layer(x)


def text_cases() -> list[Case]:
    note = "100,000 sentences of 4-16 words; corten eager, tf.keras under tf.function"
    return [Case("text", "TextVectorization adapt", f"{SENTENCES} sentences", TEXT_LIBRARIES,
                 (), {"numpy": lambda np: None}, None, note=note + " (adapt: batches of 1024)",
                 builds={"keras": keras_adapt}),
            Case("text", "TextVectorization call", f"{SENTENCES} sentences, len 32",
                 TEXT_LIBRARIES, (), {"numpy": lambda np: None}, None, note=note,
                 builds={"keras": keras_vectorize})]
