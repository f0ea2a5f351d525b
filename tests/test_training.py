"""The scanned training loop (`sgp_jax.training`): exact resume, the held-out split,
the per-epoch learning rate, and bad inputs.

SPEC/STYLE: resume restores params, optimiser state, epoch and RNG so that an
interrupted run continues bit for bit; a checkpoint carries its config and is
refused for another one. SPEC D: validation uses the held-out split, and the
learning rate steps once per epoch (two bugs of the reference code not to copy).
"""
import chex
import jax.numpy as jnp
import numpy as np
import pytest

from helpers import StopTraining, stop_at, toy_data, toy_train_config, train_toy
from sgp_jax import checkpoint, training


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
  """A complete 4-epoch run with checkpoints: (result, workdir)."""
  workdir = tmp_path_factory.mktemp("straight")
  return train_toy(workdir), workdir


# ------------------------------------------------------------------ resume
def test_resume_is_bit_identical(finished_run, tmp_path):
  straight, _ = finished_run
  assert int(straight.state.epoch) == 4 and straight.epochs_run == 4
  assert straight.history["train_loss"][-1] < straight.history["train_loss"][0]
  with pytest.raises(StopTraining):
    train_toy(tmp_path, progress_fn=stop_at(2))  # dies after the epoch-2 checkpoint
  resumed = train_toy(tmp_path)  # a new call, same workdir and config: trains epochs 3-4
  assert int(resumed.state.epoch) == 4 and resumed.epochs_run == 2
  # params, optimiser state (Adam moments and count), epoch, key, best params/val and
  # the loss history, which covers epochs 1-2 run by the interrupted call too.
  chex.assert_trees_all_equal(resumed.state, straight.state)
  chex.assert_trees_all_equal(resumed.params, straight.params)
  assert resumed.history["train_loss"].shape == (4,)
  assert np.all(np.isfinite(resumed.history["val_loss"]))
  chex.assert_trees_all_equal(resumed.history, straight.history)


def test_resume_from_checkpoint_without_history(finished_run, tmp_path):
  """Checkpoints written before TrainState had `history` still resume (history NaN)."""
  straight, workdir = finished_run
  with pytest.raises(StopTraining):
    train_toy(tmp_path / "new", progress_fn=stop_at(2))
  state2, config = checkpoint.TrainCheckpointer(str(tmp_path / "new")).restore(straight.state, 2)
  fields = [f.name for f in training._TrainStateV0.__dataclass_fields__.values()]
  old = training._TrainStateV0(**{name: getattr(state2, name) for name in fields})
  legacy = checkpoint.TrainCheckpointer(str(tmp_path / "old"))
  legacy.save(2, old, config)
  legacy.close()
  resumed = train_toy(tmp_path / "old")
  chex.assert_trees_all_equal(resumed.params, straight.params)
  np.testing.assert_array_equal(resumed.history["train_loss"][2:],
                                straight.history["train_loss"][2:])
  assert np.all(np.isnan(resumed.history["train_loss"][:2]))


def test_finished_run_is_not_retrained(finished_run):
  """Calling train again on a finished workdir restores and returns the same state."""
  straight, workdir = finished_run
  again = train_toy(workdir, progress_fn=stop_at(0))  # would raise if it ran an epoch
  assert again.epochs_run == 0
  chex.assert_trees_all_equal(again.history, straight.history)
  chex.assert_trees_all_equal(again.state, straight.state)


def test_different_config_in_same_workdir_is_refused(finished_run):
  _, workdir = finished_run
  with pytest.raises(checkpoint.CheckpointError,
                     match=r"different configuration .*train.learning_rate: 0.01 -> 0.003"):
    train_toy(workdir, config=toy_train_config(learning_rate=3e-3))
  with pytest.raises(checkpoint.CheckpointError,
                     match="different configuration .*run.experiment: 'toy-regression' "
                           "-> 'another'"):
    train_toy(workdir, run={"experiment": "another"})


# ------------------------------------------------------------------ SPEC D
def test_validation_uses_exactly_the_held_out_rows():
  """Row i carries 2^i and the loss is the sum of its batch, so a loss names the set
  of rows it saw: the validation loss is the held-out rows' (5 of 20), disjoint from
  the training rows' (one full-batch step per epoch), and together they are all rows."""
  n = 20
  data = {"y": 2.0 ** np.arange(n, dtype=np.float32)}
  loss = lambda p, batch, key: jnp.sum(batch["y"]) + 0.0 * p["w"]
  config = training.TrainConfig(epochs=3, batch_size=n, validation_fraction=0.25,
                                epochs_per_call=3, lr_schedule="constant")
  result = training.train(loss, {"w": jnp.zeros(())}, data, config)
  train_rows = result.history["train_loss"].astype(np.int64)
  val_rows = result.history["val_loss"].astype(np.int64)
  assert len(set(train_rows)) == 1 and len(set(val_rows)) == 1  # the same split each epoch
  train_rows, val_rows = int(train_rows[0]), int(val_rows[0])
  assert bin(val_rows).count("1") == 5 and bin(train_rows).count("1") == 15
  assert train_rows & val_rows == 0
  assert train_rows | val_rows == 2 ** n - 1
  # The split is seeded: another seed holds out other rows.
  other = training.train(loss, {"w": jnp.zeros(())}, data,
                         training.TrainConfig(**{**config.__dict__, "seed": 1}))
  assert int(other.history["val_loss"][0]) != val_rows


def test_learning_rate_steps_once_per_epoch():
  """Adam on loss = w (gradient 1) moves w by exactly the learning rate each step, so
  the per-epoch mean training loss is known: with the cosine schedule over 4 epochs
  every step of epoch e uses lr_0 (1 + cos(pi e / 4)) / 2, not a per-step value."""
  epochs, steps, lr0 = 4, 4, 0.1
  data = {"y": np.zeros((steps * 2,), np.float32)}  # batch 2: 4 steps per epoch
  loss = lambda p, batch, key: p["w"] + 0.0 * jnp.sum(batch["y"])
  config = training.TrainConfig(epochs=epochs, batch_size=2, learning_rate=lr0,
                                validation_fraction=0.0, epochs_per_call=epochs)
  result = training.train(loss, {"w": jnp.zeros(())}, data, config)

  def expected(lr_of_step):
    w, train, val = 0.0, [], []
    for e in range(epochs):
      seen = []
      for s in range(steps):
        seen.append(w)
        w -= lr_of_step(e, s)
      train.append(np.mean(seen))
      val.append(w)  # the validation loss is taken after the epoch's updates
    return np.array(train), np.array(val)

  cosine = lambda t, total: lr0 * 0.5 * (1 + np.cos(np.pi * t / total))
  train, val = expected(lambda e, s: cosine(e, epochs))
  np.testing.assert_allclose(result.history["train_loss"], train, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(result.history["val_loss"], val, rtol=1e-5, atol=1e-6)
  per_step, _ = expected(lambda e, s: cosine(min(e * steps + s, epochs), epochs))
  assert np.abs(per_step - train).max() > 1e-2  # the test tells the two apart


# ------------------------------------------------------------------ bad data
def test_bad_training_data_raises():
  data = toy_data()
  nan = {**data, "x": data["x"].copy()}
  nan["x"][5, 1] = np.nan
  with pytest.raises(ValueError, match="NaN"):
    train_toy(data=nan)
  with pytest.raises(ValueError, match="leading axis"):
    train_toy(data={**data, "y": data["y"][:-1]})
  with pytest.raises(ValueError, match="0 rows|empty"):
    train_toy(data={"x": data["x"][:0], "y": data["y"][:0]})
  with pytest.raises(ValueError, match="validation_fraction"):
    training.TrainConfig(validation_fraction=1.0)
  with pytest.raises(ValueError, match="lr_schedule"):
    training.TrainConfig(lr_schedule="linear")


def test_train_config_from_section():
  """A config section's fields, and epochs_per_call a tenth of the epochs (1 to 50)."""
  from ml_collections import ConfigDict
  section = ConfigDict(dict(epochs=300, batch_size=64, learning_rate=3e-4,
                            validation_fraction=0.2))
  config = training.TrainConfig.from_section(section, seed=7)
  assert (config.epochs, config.batch_size, config.learning_rate,
          config.validation_fraction, config.seed) == (300, 64, 3e-4, 0.2, 7)
  assert config.epochs_per_call == 30
  assert training.TrainConfig.from_section(
      ConfigDict({**section.to_dict(), "epochs": 5}), 0).epochs_per_call == 1
  assert training.TrainConfig.from_section(
      ConfigDict({**section.to_dict(), "epochs": 5000}), 0).epochs_per_call == 50
  assert training.TrainConfig.from_section(
      ConfigDict({**section.to_dict(), "epochs_per_call": 4}), 0).epochs_per_call == 4
