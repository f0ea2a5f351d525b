"""The scanned training loop, exact resume, and self-describing checkpoints.

SPEC/STYLE: resume restores params, optimiser state, epoch and RNG so that an
interrupted run continues bit for bit; a checkpoint carries its config and is
refused for another one; loading a model for inference is one call.
"""
import glob
import json
import os
import re
import shutil

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sgp_jax
from sgp_jax import checkpoint, models, training
from sgp_jax.data_distance import make_data_distance_model
from sgp_jax.dynamics import make_dynamics_model
from sgp_jax.ensemble import make_dynamics_ensemble
from sgp_jax.networks import MLP
from sgp_jax.normalization import Normalizer
from sgp_jax.reward import make_reward_model
from sgp_jax.score import cosine_sigmas, make_score_model
from sgp_jax.types import Transitions

NET = MLP((8,), 1)
CONFIG = training.TrainConfig(epochs=4, batch_size=16, learning_rate=1e-2, epochs_per_call=2,
                              validation_fraction=0.25, seed=3)
RUN = {"experiment": "toy-regression"}


def _data():
  rng = np.random.default_rng(0)
  x = rng.normal(size=(64, 2)).astype(np.float32)
  return {"x": x, "y": np.sin(x[:, :1]) + 0.1 * rng.normal(size=(64, 1)).astype(np.float32)}


def _loss(params, batch, key):
  # The key is used, so a wrong RNG after resume would change the result.
  noise = 0.01 * jax.random.normal(key, batch["y"].shape)
  return jnp.mean((NET.apply(params, batch["x"]) - batch["y"] - noise) ** 2)


def _params():
  return NET.init(jax.random.PRNGKey(0), jnp.zeros((1, 2)))


class _Stop(Exception):
  pass


def _stop_at(epoch):
  def progress(done, metrics):
    if done >= epoch:
      raise _Stop(done)
  return progress


def _train(workdir=None, config=CONFIG, run=RUN, data=None, progress_fn=None):
  return training.train(_loss, _params(), _data() if data is None else data, config,
                        workdir=None if workdir is None else str(workdir), run_config=run,
                        progress_fn=progress_fn)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
  """A complete 4-epoch run with checkpoints: (result, workdir)."""
  workdir = tmp_path_factory.mktemp("straight")
  return _train(workdir), workdir


# ------------------------------------------------------------------ resume
def test_resume_is_bit_identical(finished_run, tmp_path):
  straight, _ = finished_run
  assert int(straight.state.epoch) == 4
  assert straight.history["train_loss"][-1] < straight.history["train_loss"][0]
  with pytest.raises(_Stop):
    _train(tmp_path, progress_fn=_stop_at(2))  # dies after the epoch-2 checkpoint
  resumed = _train(tmp_path)  # a new call, same workdir and config: trains epochs 3-4
  assert int(resumed.state.epoch) == 4
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
  with pytest.raises(_Stop):
    _train(tmp_path / "new", progress_fn=_stop_at(2))
  state2, config = checkpoint.TrainCheckpointer(str(tmp_path / "new")).restore(straight.state, 2)
  fields = [f.name for f in training._TrainStateV0.__dataclass_fields__.values()]
  old = training._TrainStateV0(**{name: getattr(state2, name) for name in fields})
  legacy = checkpoint.TrainCheckpointer(str(tmp_path / "old"))
  legacy.save(2, old, config)
  legacy.close()
  resumed = _train(tmp_path / "old")
  chex.assert_trees_all_equal(resumed.params, straight.params)
  np.testing.assert_array_equal(resumed.history["train_loss"][2:],
                                straight.history["train_loss"][2:])
  assert np.all(np.isnan(resumed.history["train_loss"][:2]))


def test_finished_run_is_not_retrained(finished_run):
  """Calling train again on a finished workdir restores and returns the same state."""
  straight, workdir = finished_run
  again = _train(workdir, progress_fn=_stop_at(0))  # would raise if it ran an epoch
  chex.assert_trees_all_equal(again.history, straight.history)
  chex.assert_trees_all_equal(again.state, straight.state)


def test_different_config_in_same_workdir_is_refused(finished_run):
  _, workdir = finished_run
  other = training.TrainConfig(**{**CONFIG.__dict__, "learning_rate": 3e-3})
  with pytest.raises(checkpoint.CheckpointError,
                     match=r"different configuration .*train.learning_rate: 0.01 -> 0.003"):
    _train(workdir, config=other)
  with pytest.raises(checkpoint.CheckpointError,
                     match="different configuration .*run.experiment: 'toy-regression' "
                           "-> 'another'"):
    _train(workdir, run={"experiment": "another"})


# ------------------------------------------------------------------ corruption
def _copy_run(src, dst):
  shutil.copytree(src, dst)
  return dst


def _flip_bytes(path):
  raw = bytearray(open(path, "rb").read())
  raw[len(raw) // 2] ^= 0xFF
  open(path, "wb").write(bytes(raw))


def _truncate(path):
  raw = open(path, "rb").read()
  open(path, "wb").write(raw[:len(raw) // 2])


def _garbage_json(path):
  open(path, "w").write("{not json")


@pytest.mark.parametrize("corrupt", ["flip_data", "truncate_data", "metadata",
                                     "truncate_data_without_manifest"])
def test_corrupt_training_checkpoints_raise(finished_run, tmp_path, corrupt):
  """Every checkpoint corrupt: an error naming the newest. (One corrupt checkpoint
  beside an intact one is resumed from the intact one: tests/test_faults.py.)"""
  _, src = finished_run
  workdir = _copy_run(src, tmp_path / "run")
  for step_dir in (workdir / "2", workdir / "4"):
    if corrupt == "metadata":
      targets = [step_dir / "state" / "_METADATA"]
      action = _garbage_json
    else:
      targets = glob.glob(str(step_dir / "state" / "d" / "*"))
      action = _flip_bytes if corrupt == "flip_data" else _truncate
    assert targets and all(os.path.isfile(t) for t in targets), os.listdir(step_dir / "state")
    for target in targets:
      action(target)
    if corrupt.endswith("without_manifest"):  # as written before manifests: orbax's error
      os.remove(step_dir / checkpoint.FILES_MANIFEST)
  with pytest.raises(checkpoint.CheckpointError, match="every training checkpoint .* is "
                                                       "corrupt") as info:
    _train(workdir)
  assert os.path.join(str(workdir), "4") in str(info.value)  # names the checkpoint path


# ------------------------------------------------------------------ bad data
def test_bad_training_data_raises():
  data = _data()
  nan = {**data, "x": data["x"].copy()}
  nan["x"][5, 1] = np.nan
  with pytest.raises(ValueError, match="NaN"):
    _train(data=nan)
  with pytest.raises(ValueError, match="leading axis"):
    _train(data={**data, "y": data["y"][:-1]})
  with pytest.raises(ValueError, match="0 rows|empty"):
    _train(data={"x": data["x"][:0], "y": data["y"][:0]})
  with pytest.raises(ValueError, match="validation_fraction"):
    training.TrainConfig(validation_fraction=1.0)
  with pytest.raises(ValueError, match="lr_schedule"):
    training.TrainConfig(lr_schedule="linear")


def test_validate_transitions():
  rng = np.random.default_rng(0)
  good = Transitions(x=rng.normal(size=(5, 3)).astype(np.float32),
                     u=rng.normal(size=(5, 2)).astype(np.float32),
                     x_next=rng.normal(size=(5, 3)).astype(np.float32),
                     reward=np.zeros(5, np.float32))
  assert sgp_jax.validate_transitions(good) is good
  x_nan = good.x.copy()
  x_nan[3, 0] = np.nan
  cases = [
      (good._replace(x=x_nan), r"data\.x has 1 non-finite value.*row\(s\) \[3\]"),
      (good._replace(reward=np.array([0, 0, np.inf, 0, 0], np.float32)), r"data\.reward"),
      (good._replace(u=good.u[:4]), "mismatched lengths"),
      (good._replace(x_next=good.x_next[:, :2]), "x_next has dim 2"),
      (good._replace(x=good.x[:, 0]), r"data\.x must have 2 dimension"),
      (good._replace(reward=np.zeros((5, 1), np.float32)), r"data\.reward must have 1"),
      (good._replace(u=np.zeros((5, 2), np.int32)), "floating point"),
      (Transitions(x=good.x[:0], u=good.u[:0], x_next=good.x_next[:0]), "empty"),
  ]
  for bad, pattern in cases:
    with pytest.raises(ValueError, match=pattern):
      sgp_jax.validate_transitions(bad)
  with pytest.raises(ValueError, match=r"^train\.x"):
    sgp_jax.validate_transitions(good._replace(x=x_nan), name="train")


# ------------------------------------------------------------------ model save / load
def _score_model():
  x_norm = Normalizer.from_scale([1.0, 2.0], [0.5, -0.5])
  u_norm = Normalizer.from_scale(3.0, 0.25, dim=1)
  return make_score_model("xux", x_norm, u_norm, cosine_sigmas(0.3, 0.05, 3), (16, 16),
                          alpha=2.0)


# Jitted evaluators taking the model as a pytree argument: the original and the
# loaded model share one compile each (eager flax would dispatch op by op).
_score_levels = jax.jit(lambda m, p, z: jnp.stack([m.score(p, z, l)
                                                   for l in range(m.num_levels)]))
_rollout = jax.jit(lambda m, p, x0, us: m.rollout(p, x0, us))
_reward = jax.jit(lambda m, p, x, u: m(p, x, u))
_init = jax.jit(lambda m, key: m.init(key))


def test_model_save_load_round_trip(tmp_path):
  key = jax.random.PRNGKey(1)
  rng = np.random.default_rng(0)
  # Noise-conditioned xux score model.
  score = _score_model()
  assert score.conditioned
  # Perturb every parameter, so the level embeddings (initialised to ones) differ.
  score_params = _init(score, key)
  score_params = jax.tree_util.tree_map(
      lambda l: jnp.asarray(np.asarray(l) + rng.normal(0.0, 0.3, l.shape).astype(np.float32)),
      score_params)
  models.save(tmp_path / "score", score, score_params, extra={"note": "test"})
  score2, score_params2 = models.load(str(tmp_path / "score"))
  assert score2.kind == "xux" and score2.conditioned and score2.num_levels == 3
  assert (score2.dim_x, score2.dim_u) == (2, 1)
  assert models.describe(score2) == models.describe(score)
  chex.assert_trees_all_equal(score_params2, score_params)
  chex.assert_trees_all_equal((score2.normalizer, score2.sigmas),
                              (score.normalizer, score.sigmas))
  z = jnp.asarray(rng.normal(size=(7, 5)), jnp.float32)
  levels = _score_levels(score, score_params, z)
  chex.assert_shape(levels, (3, 7, 5))
  chex.assert_trees_all_equal(_score_levels(score2, score_params2, z), levels)
  # The levels really differ, so the per-level comparison is not vacuous.
  assert np.abs(np.asarray(levels[0] - levels[2])).max() > 1e-3
  assert json.load(open(tmp_path / "score" / "config.json"))["extra"] == {"note": "test"}

  # Dynamics model with LayerNorm and non-trivial normalisers.
  dyn = make_dynamics_model(Normalizer.from_scale([2.0, 0.5], [1.0, 0.0]),
                            Normalizer.from_scale(4.0, dim=1), (16, 16), layer_norm=True)
  dyn_params = _init(dyn, key)
  models.save(tmp_path / "dyn", dyn, dyn_params)
  dyn2, dyn_params2 = models.load(str(tmp_path / "dyn"))
  assert dyn2.net == dyn.net
  x0, us = jnp.asarray([0.3, -0.2]), jnp.asarray(rng.normal(size=(6, 1)), jnp.float32)
  chex.assert_trees_all_equal(_rollout(dyn2, dyn_params2, x0, us),
                              _rollout(dyn, dyn_params, x0, us))

  # Reward model (scale and offset from data).
  rew = make_reward_model(Normalizer.identity(2), Normalizer.identity(1),
                          rewards=rng.normal(2.0, 3.0, size=100), hidden=(8,))
  rew_params = _init(rew, key)
  models.save(tmp_path / "rew", rew, rew_params)
  rew2, rew_params2 = models.load(str(tmp_path / "rew"))
  xs, u = jnp.asarray(rng.normal(size=(4, 2)), jnp.float32), jnp.ones((4, 1))
  chex.assert_trees_all_equal(_reward(rew2, rew_params2, xs, u), _reward(rew, rew_params, xs, u))

  # Dynamics ensemble: K members' stacked parameters, one described member model.
  ens = make_dynamics_ensemble(dyn.x_normalizer, dyn.u_normalizer, (8,), num_members=3)
  ens_params = _init(ens, key)
  models.save(tmp_path / "ens", ens, ens_params)
  ens2, ens_params2 = models.load(str(tmp_path / "ens"))
  assert models.describe(ens2) == models.describe(ens) and ens2.num_members == 3
  chex.assert_trees_all_equal(ens_params2, ens_params)
  predict = jax.jit(lambda m, p, x, u: m.predict_all(p, x, u))
  members = predict(ens2, ens_params2, xs, u)
  chex.assert_shape(members, (3, 4, 2))
  chex.assert_trees_all_equal(members, predict(ens, ens_params, xs, u))
  assert np.abs(np.asarray(members[0] - members[1])).max() > 1e-4  # distinct members

  # Data-distance estimator (box normaliser, target scale and offset).
  dde = make_data_distance_model([-1.0, -2.0], [1.0, 2.0], (8,), target_scale=3.0,
                                 target_offset=-0.5)
  dde_params = _init(dde, key)
  models.save(tmp_path / "dde", dde, dde_params)
  dde2, dde_params2 = models.load(str(tmp_path / "dde"))
  assert models.describe(dde2) == models.describe(dde)
  energy = jax.jit(lambda m, p, z: m(p, z))
  chex.assert_trees_all_equal(energy(dde2, dde_params2, xs), energy(dde, dde_params, xs))


def test_model_load_errors(tmp_path):
  missing = tmp_path / "nowhere"
  with pytest.raises(checkpoint.CheckpointError, match=re.escape(str(missing))):
    models.load(str(missing))
  score = _score_model()
  models.save(tmp_path / "score", score, _init(score, jax.random.PRNGKey(0)))
  # A corrupt config.json.
  bad_config = _copy_run(tmp_path / "score", tmp_path / "bad_config")
  _garbage_json(bad_config / "config.json")
  with pytest.raises(checkpoint.CheckpointError, match="config.json is corrupt"):
    models.load(str(bad_config))
  # A config that describes another network than the saved params.
  other = _copy_run(tmp_path / "score", tmp_path / "other_net")
  cfg = json.load(open(other / "config.json"))
  cfg["net"]["hidden"] = [32, 32]
  json.dump(cfg, open(other / "config.json", "w"))
  with pytest.raises(checkpoint.CheckpointError, match=re.escape(str(other / "params"))):
    models.load(str(other))
  # Corrupt parameter files.
  flipped = _copy_run(tmp_path / "score", tmp_path / "flipped")
  data_files = glob.glob(str(flipped / "params" / "d" / "*"))
  assert data_files
  for f in data_files:
    _flip_bytes(f)
  with pytest.raises(checkpoint.CheckpointError, match="corrupt"):
    models.load(str(flipped))
  # params/ missing altogether.
  no_params = _copy_run(tmp_path / "score", tmp_path / "no_params")
  shutil.rmtree(no_params / "params")
  with pytest.raises(checkpoint.CheckpointError, match="no params"):
    models.load(str(no_params))
