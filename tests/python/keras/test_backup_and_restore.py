"""keras.callbacks.BackupAndRestore (tf.keras 2 semantics): a fit interrupted by an exception
resumes from the last backup, at the next epoch (or batch), and ends with the weights of an
uninterrupted fit; the backup is deleted when fit completes; a damaged backup gives an error
that names the file. The MPI case (a rank killed) is tests/python/distribute/test_faults.py."""

from __future__ import annotations

import json
import logging
import os

import corten
import numpy as np
import pytest
from corten import keras
from corten.keras import layers
from corten.keras.callbacks.backup_and_restore import BackupAndRestoreExperimental
from corten.keras.saving import weights_file

BATCH = 8
STEPS = 4  # batches per epoch
EPOCHS = 6
STATE_FILE = os.path.join("chief", "training_state.safetensors")



@pytest.fixture(autouse=True)
def _fresh_layer_names():
    # Initial weights derive from the layer names; a fresh session is a restarted process.
    keras.backend.clear_session()


def _data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH * STEPS, 5)).astype("float32")
    y = rng.integers(0, 3, BATCH * STEPS)
    return x, y


OPTIMIZERS = {"sgd": lambda: keras.optimizers.SGD(0.1, momentum=0.9),
              "adam": lambda: keras.optimizers.Adam(0.01)}


def _model(optimizer="adam", with_input=True):
    keras.backend.clear_session()
    corten.random.set_seed(7)
    stack = [layers.Dense(8, activation="relu"), layers.Dense(3)]
    model = keras.Sequential(([keras.Input((5,))] if with_input else []) + stack)
    model.compile(OPTIMIZERS[optimizer](),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def _fit(model, callbacks, epochs=EPOCHS):
    x, y = _data()
    return model.fit(x, y, batch_size=BATCH, epochs=epochs, shuffle=False, verbose=0,
                     callbacks=callbacks)


class Interrupt(keras.callbacks.Callback):
    """Raises after ``at`` (epoch, batch) has trained: a crash in the middle of fit."""

    def __init__(self, epoch, batch):
        super().__init__()
        self.at = (epoch, batch)
        self.epoch = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            raise RuntimeError("interrupted")


class Seen(keras.callbacks.Callback):
    """Records the (epoch, batch) of every training step."""

    def __init__(self):
        super().__init__()
        self.steps = []
        self.epoch = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        self.steps.append((self.epoch, batch))


def _reference(optimizer):
    """The weights and optimizer state of an uninterrupted fit (batch hooks on, as in the
    interrupted one, so both run the same step function)."""
    model = _model(optimizer)
    _fit(model, [Seen()])
    return model.get_weights(), [np.asarray(v) for v in model.optimizer.variables]


def _assert_same(model, reference):
    weights, opt_vars = reference
    for got, want in zip(model.get_weights(), weights, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    for got, want in zip(model.optimizer.variables, opt_vars, strict=True):
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_resume_after_an_exception_matches_an_uninterrupted_fit(tmp_path, optimizer):
    reference = _reference(optimizer)
    backup = keras.callbacks.BackupAndRestore(tmp_path / "backup")
    with pytest.raises(RuntimeError, match="interrupted"):
        _fit(_model(optimizer), [backup, Interrupt(epoch=3, batch=1)])
    # The backup of epoch 2 is left in place; epoch 3's first batches are redone.
    assert (tmp_path / "backup" / STATE_FILE).exists()
    seen = Seen()
    model = _model(optimizer)  # a restarted process: fresh model and optimizer
    history = _fit(model, [keras.callbacks.BackupAndRestore(tmp_path / "backup"), seen])
    assert history.epoch == [3, 4, 5]
    assert len(history.history["loss"]) == 3
    assert seen.steps[0] == (3, 0)
    assert int(model.optimizer.iterations) == EPOCHS * STEPS
    _assert_same(model, reference)
    assert os.listdir(tmp_path / "backup") == []  # deleted once fit completed


def test_unbuilt_sequential_is_built_from_the_backup(tmp_path, caplog):
    reference = _reference("adam")
    backup = keras.callbacks.BackupAndRestore(tmp_path)  # one instance for both fits
    with pytest.raises(RuntimeError, match="interrupted"):
        _fit(_model(with_input=False), [backup, Interrupt(epoch=1, batch=0)])
    model = _model(with_input=False)
    with caplog.at_level(logging.WARNING, logger="corten"):
        history = _fit(model, [backup, Seen()])
    # As tf.keras: a warning that the model is unbuilt (it is restored all the same).
    assert "must be built before you call `fit()`" in caplog.text
    assert history.epoch == [1, 2, 3, 4, 5]
    _assert_same(model, reference)


def test_learning_rate_changes_are_restored(tmp_path):
    class LowerRate(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                self.model.optimizer.learning_rate = 0.05

    with pytest.raises(RuntimeError, match="interrupted"):
        _fit(_model("sgd"), [keras.callbacks.BackupAndRestore(tmp_path), LowerRate(),
                             Interrupt(epoch=2, batch=3)])
    model = _model("sgd")
    _fit(model, [keras.callbacks.BackupAndRestore(tmp_path), LowerRate()], epochs=3)
    np.testing.assert_allclose(float(model.optimizer.learning_rate), 0.05, rtol=1e-6)


def test_a_later_fit_without_the_callback_starts_from_its_initial_epoch(tmp_path):
    model = _model()
    backup = keras.callbacks.BackupAndRestore(tmp_path)
    with pytest.raises(RuntimeError, match="interrupted"):
        _fit(model, [backup, Interrupt(1, 0)])
    with pytest.raises(RuntimeError):  # resumes at epoch 1, interrupted again
        _fit(model, [backup, Interrupt(2, 0)])
    # The interrupted fit left model._training_state behind: it resumes no other fit.
    assert _fit(model, [], epochs=2).epoch == [0, 1]


def test_the_backup_is_deleted_after_fit_or_kept_with_delete_checkpoint_false(tmp_path):
    model = _model()
    _fit(model, [keras.callbacks.BackupAndRestore(tmp_path)], epochs=2)
    assert os.listdir(tmp_path) == []
    history = _fit(model, [keras.callbacks.BackupAndRestore(tmp_path, delete_checkpoint=False)],
                   epochs=2)
    assert history.epoch == [0, 1]
    _, metadata = weights_file.read_tensors(tmp_path / STATE_FILE)
    assert (metadata["format"], metadata["epoch"], metadata["batch"]) == (
        "corten.keras.backup", "1", "-1")
    assert "_training_state" not in model.__dict__  # cleaned up, as tf.keras


def test_a_kept_backup_of_a_completed_fit_runs_no_more_epochs(tmp_path):
    _fit(_model(), [keras.callbacks.BackupAndRestore(tmp_path, delete_checkpoint=False)],
         epochs=2)
    model = _model()
    history = _fit(model, [keras.callbacks.BackupAndRestore(tmp_path, delete_checkpoint=False)],
                   epochs=2)
    assert history.epoch == []  # as tf.keras: the backup says both epochs are done


@pytest.mark.parametrize(("interrupt", "resume"), [
    ((1, 2), (1, 2)),  # backed up after (1, 1), the 6th batch: resumes at batch 2
    ((2, 0), (2, 0)),  # backed up after (1, 3), an epoch's last batch: next epoch
])
def test_integer_save_freq_resumes_at_the_next_batch(tmp_path, interrupt, resume):
    reference = _reference("adam")
    save_freq = 6 if interrupt == (1, 2) else 4
    with pytest.raises(RuntimeError, match="interrupted"):
        _fit(_model(), [keras.callbacks.BackupAndRestore(tmp_path, save_freq=save_freq),
                        Interrupt(*interrupt)])
    seen = Seen()
    model = _model()
    history = _fit(model, [keras.callbacks.BackupAndRestore(tmp_path, save_freq=save_freq),
                           seen])
    assert seen.steps[0] == resume
    assert history.epoch == list(range(resume[0], EPOCHS))
    # Unlike tf.keras 2, which trains the epoch's first batches again from the resumed step,
    # fit skips the batches trained before the backup, so the result is the uninterrupted one.
    _assert_same(model, reference)


def test_batch_hooks_only_with_an_integer_save_freq(tmp_path):
    # save_freq="epoch" leaves fit's whole-epoch replay on (no batch hook to call).
    per_epoch = keras.callbacks.CallbackList([keras.callbacks.BackupAndRestore(tmp_path)])
    per_batch = keras.callbacks.CallbackList(
        [keras.callbacks.BackupAndRestore(tmp_path, save_freq=3)])
    assert not per_epoch.wants_batch_hooks("train")
    assert per_batch.wants_batch_hooks("train")


def _interrupted_backup(tmp_path):
    with pytest.raises(RuntimeError, match="interrupted"):
        _fit(_model(), [keras.callbacks.BackupAndRestore(tmp_path), Interrupt(1, 0)])
    return tmp_path / STATE_FILE


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage"])
def test_a_damaged_backup_raises_naming_the_file(tmp_path, damage):
    path = _interrupted_backup(tmp_path)
    data = path.read_bytes()
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "flip":
        data = data[:-5] + bytes([data[-5] ^ 0xFF]) + data[-4:]
    else:
        data = b"not a backup"
    path.write_bytes(data)
    model = _model()
    before = model.get_weights()
    with pytest.raises(ValueError, match="BackupAndRestore: cannot restore") as info:
        _fit(model, [keras.callbacks.BackupAndRestore(tmp_path)])
    assert str(path) in str(info.value)
    for got, want in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(got, want)  # nothing assigned


def test_a_backup_of_another_model_raises(tmp_path):
    _interrupted_backup(tmp_path)
    model = keras.Sequential([keras.Input((5,)), layers.Dense(4), layers.Dense(3)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    with pytest.raises(ValueError, match=r"cannot restore .*shape"):
        _fit(model, [keras.callbacks.BackupAndRestore(tmp_path)])


def test_a_failed_write_leaves_the_previous_backup(tmp_path, monkeypatch):
    path = tmp_path / STATE_FILE
    real = weights_file.write_tensors_to
    previous = {}

    def killed_mid_write(f, tensors, metadata=None):
        real(f, tensors, metadata)
        f.truncate(100)
        raise KeyboardInterrupt  # as a kill while the new backup is half written

    class KillTheNextWrite(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:  # after epoch 0's backup
                previous["bytes"] = path.read_bytes()
                monkeypatch.setattr(weights_file, "write_tensors_to", killed_mid_write)

    with pytest.raises(KeyboardInterrupt):
        _fit(_model(), [keras.callbacks.BackupAndRestore(tmp_path), KillTheNextWrite()])
    assert path.read_bytes() == previous["bytes"]
    assert sorted(os.listdir(path.parent)) == [path.name]  # the temporary file is gone


def test_backup_holds_weights_optimizer_state_and_counters(tmp_path):
    model = _model()
    _fit(model, [keras.callbacks.BackupAndRestore(tmp_path, delete_checkpoint=False)],
         epochs=1)
    arrays, metadata = weights_file.read_tensors(tmp_path / STATE_FILE)
    names = json.loads(metadata["optimizer_variables"])
    assert len(names) == len(model.optimizer.variables)  # iterations, m and v
    assert int(arrays[names[0]]) == STEPS
    for w, name in zip(model.weights, json.loads(metadata["weight_names"]), strict=True):
        np.testing.assert_array_equal(arrays[name], np.asarray(w))


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"backup_dir": ""}, "Empty `backup_dir`"),
    ({"backup_dir": None}, "Empty `backup_dir`"),
    ({"backup_dir": "b", "save_freq": "batch"}, "save_freq='batch'"),
    ({"backup_dir": "b", "save_freq": 0}, "save_freq=0"),
    ({"backup_dir": "b", "save_freq": -2}, "save_freq=-2"),
    ({"backup_dir": "b", "save_freq": True}, "save_freq=True"),
    ({"backup_dir": "b", "save_freq": 1.5}, "save_freq=1.5"),
    ({"backup_dir": "b", "save_freq": False}, "Either `save_freq` or `save_before_preemption`"),
])
def test_argument_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        keras.callbacks.BackupAndRestore(**kwargs)


def test_save_before_preemption_allows_no_periodic_backup(tmp_path):
    callback = keras.callbacks.BackupAndRestore(tmp_path, save_freq=False,
                                                save_before_preemption=True)
    _fit(_model(), [callback], epochs=1)
    assert os.listdir(tmp_path) == []


def test_experimental_endpoint_logs_a_deprecation(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="corten"):
        callback = keras.callbacks.experimental.BackupAndRestore(tmp_path)
    assert isinstance(callback, keras.callbacks.BackupAndRestore)
    assert isinstance(callback, BackupAndRestoreExperimental)
    assert "`tf.keras.callbacks.experimental.BackupAndRestore` endpoint is deprecated" in \
        caplog.text
