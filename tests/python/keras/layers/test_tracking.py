"""Tracked containers (Note [Tracked containers]): lists and dicts held by a layer notify it."""

import copy
import pickle

import numpy as np
import pytest

import corten as tf
from corten.keras import layers
from corten.keras.layers import base_layer
from corten.keras.layers.tracking import TrackedDict, TrackedList


class Holder(layers.Layer):
    def __init__(self):
        super().__init__()
        self.blocks = []
        self.heads = {}

    def call(self, x):
        return x


def _sub(layer):
    return [sub.name for sub in layer._flatten_layers(include_self=False)]


def test_assigned_lists_and_dicts_become_tracked_containers():
    h = Holder()
    assert isinstance(h.blocks, TrackedList)
    assert isinstance(h.heads, TrackedDict)
    assert h.blocks == []
    assert h.heads == {}


@pytest.mark.parametrize("mutate", [
    lambda h, d: h.blocks.append(d),
    lambda h, d: h.blocks.extend([d]),
    lambda h, d: h.blocks.insert(0, d),
    lambda h, d: h.blocks.__iadd__([d]),
    lambda h, d: h.heads.__setitem__("a", d),
    lambda h, d: h.heads.update(a=d),
    lambda h, d: h.heads.setdefault("a", d),
])
def test_every_way_of_adding_a_layer_tracks_it_at_once(mutate):
    h = Holder()
    assert _sub(h) == []
    version = base_layer._tracking_version[0]
    d = layers.Dense(2, name="added")
    mutate(h, d)
    assert base_layer._tracking_version[0] > version  # caches see it without any rescan
    assert _sub(h) == ["added"]
    d.build((None, 3))
    assert len(h.trainable_weights) == 2


@pytest.mark.parametrize("mutate", [
    lambda h: h.blocks.pop(),
    lambda h: h.blocks.remove(h.blocks[0]),
    lambda h: h.blocks.clear(),
    lambda h: h.blocks.__delitem__(0),
    lambda h: h.blocks.__setitem__(0, 3),
    lambda h: h.blocks.__setitem__(slice(None), []),
    lambda h: h.blocks.__imul__(0),
])
def test_every_way_of_removing_a_layer_untracks_it(mutate):
    h = Holder()
    h.blocks.append(layers.Dense(2, name="gone"))
    assert _sub(h) == ["gone"]
    mutate(h)
    assert _sub(h) == []


@pytest.mark.parametrize("mutate", [
    lambda h: h.heads.pop("a"),
    lambda h: h.heads.popitem(),
    lambda h: h.heads.clear(),
    lambda h: h.heads.__delitem__("a"),
    lambda h: h.heads.__setitem__("a", None),
])
def test_removing_from_a_dict_untracks(mutate):
    h = Holder()
    h.heads["a"] = layers.Dense(2, name="gone")
    mutate(h)
    assert _sub(h) == []


def test_a_layer_held_twice_stays_tracked_until_the_last_reference_goes():
    h = Holder()
    d = layers.Dense(2, name="twice")
    h.blocks.append(d)
    h.extra = d
    h.blocks.clear()
    assert _sub(h) == ["twice"]
    del h.extra
    assert _sub(h) == []


def test_nested_containers_and_variables_are_tracked():
    h = Holder()
    h.blocks.append([])
    inner = h.blocks[0]
    assert isinstance(inner, TrackedList)
    inner.append(layers.Dense(2, name="deep"))
    v = tf.Variable(np.ones(3, "float32"))
    h.heads["w"] = v
    assert _sub(h) == ["deep"]
    assert any(w is v for w in h.trainable_weights)
    h.heads.pop("w")
    assert not any(w is v for w in h.trainable_weights)


def test_replacing_an_attribute_untracks_what_it_held():
    h = Holder()
    h.blocks.append(layers.Dense(2, name="old"))
    h.blocks = [layers.Dense(2, name="new")]
    assert _sub(h) == ["new"]


def test_tracked_containers_copy_and_pickle_as_plain_containers():
    h = Holder()
    h.blocks.extend([1, 2])
    h.heads["k"] = [3]
    assert type(copy.copy(h.blocks)) is list
    assert pickle.loads(pickle.dumps(h.blocks)) == [1, 2]
    assert type(pickle.loads(pickle.dumps(h.heads))) is dict
    assert tf.nest.flatten(h.heads) == [3]
    assert type(tf.nest.map_structure(lambda x: x, h.blocks)) is list


def test_reading_the_weights_does_not_rescan_attributes(monkeypatch):
    h = Holder()
    h.blocks.append(layers.Dense(2))
    h.blocks[0].build((None, 3))
    first = h.trainable_weights
    calls = []
    monkeypatch.setattr(Holder, "_collect_trainable_weights",
                        lambda self: calls.append(1) or [])
    assert [id(w) for w in h.trainable_weights] == [id(w) for w in first]
    assert calls == []  # a cache hit: nothing recomputed or rescanned
