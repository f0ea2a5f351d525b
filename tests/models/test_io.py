"""One save / load for every model kind (`sgp_jax.models.io`), and `train_model`:
a finished run with an intact saved model loads it and rewrites nothing."""
import glob
import json
import os
import re
import shutil
import threading

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from helpers import copy_dir, example_models, flip_bytes, garbage_json, perturbed
from sgp_jax import checkpoint, models, training
from sgp_jax.normalization import Normalizer

# Jitted evaluators taking the model as a pytree argument: the original and the
# loaded model share one compile each (eager flax would dispatch op by op).
_score_levels = jax.jit(lambda m, p, z: jnp.stack([m.score(p, z, l)
                                                   for l in range(m.num_levels)]))
_rollout = jax.jit(lambda m, p, x0, us: m.rollout(p, x0, us))
_apply = jax.jit(lambda m, p, *inputs: m(p, *inputs))
_init = jax.jit(lambda m, key: m.init(key))


def _round_trip(tmp_path, name, model, params, **kwargs):
  models.save(tmp_path / name, model, params, **kwargs)
  loaded, loaded_params = models.load(str(tmp_path / name))
  assert type(loaded) is type(model)
  assert loaded.to_config() == model.to_config()
  chex.assert_trees_all_equal(loaded_params, params)
  return loaded, loaded_params


def test_model_save_load_round_trip(tmp_path):
  key = jax.random.PRNGKey(1)
  rng = np.random.default_rng(0)
  m = example_models()
  xs, u = jnp.asarray(rng.normal(size=(4, 2)), jnp.float32), jnp.ones((4, 1))

  # Noise-conditioned xux score model; every parameter perturbed, so the level
  # embeddings (initialised to ones) differ.
  score = m["score"]
  assert score.conditioned
  score_params = perturbed(_init(score, key), scale=0.3)
  score2, score_params2 = _round_trip(tmp_path, "score", score, score_params,
                                      extra={"note": "test"})
  assert score2.kind == "xux" and score2.conditioned and score2.num_levels == 3
  assert (score2.dim_x, score2.dim_u) == (2, 1)
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
  dyn = m["dynamics"]
  dyn_params = _init(dyn, key)
  dyn2, dyn_params2 = _round_trip(tmp_path, "dyn", dyn, dyn_params)
  assert dyn2.net == dyn.net
  x0, us = jnp.asarray([0.3, -0.2]), jnp.asarray(rng.normal(size=(6, 1)), jnp.float32)
  chex.assert_trees_all_equal(_rollout(dyn2, dyn_params2, x0, us),
                              _rollout(dyn, dyn_params, x0, us))

  # Reward model (scale and offset from data) and BC policy.
  for name in ("reward", "bc"):
    model = m[name]
    params = _init(model, key)
    loaded, loaded_params = _round_trip(tmp_path, name, model, params)
    inputs = (xs, u) if name == "reward" else (xs,)
    chex.assert_trees_all_equal(_apply(loaded, loaded_params, *inputs),
                                _apply(model, params, *inputs))

  # Dynamics ensemble: K members' stacked parameters, one described member model.
  ens = m["ensemble"]
  ens_params = _init(ens, key)
  ens2, ens_params2 = _round_trip(tmp_path, "ens", ens, ens_params)
  assert ens2.num_members == 3
  predict = jax.jit(lambda m, p, x, u: m.predict_all(p, x, u))
  members = predict(ens2, ens_params2, xs, u)
  chex.assert_shape(members, (3, 4, 2))
  chex.assert_trees_all_equal(members, predict(ens, ens_params, xs, u))
  assert np.abs(np.asarray(members[0] - members[1])).max() > 1e-4  # distinct members

  # Data-distance estimator (box normaliser, target scale and offset).
  dde = m["dde"]
  dde_params = _init(dde, key)
  dde2, dde_params2 = _round_trip(tmp_path, "dde", dde, dde_params)
  chex.assert_trees_all_equal(_apply(dde2, dde_params2, xs), _apply(dde, dde_params, xs))


def test_bc_policy_saved_by_the_former_bc_serialiser_loads(tmp_path):
  """BC directories written before the common base (hidden / activation / layer_norm
  instead of a network description) load as the same policy."""
  policy = example_models()["bc"]
  params = _init(policy, jax.random.PRNGKey(0))
  norm = lambda n: {"scale": np.asarray(n.scale).tolist(),
                    "offset": np.asarray(n.offset).tolist()}
  checkpoint.save_model(str(tmp_path / "bc"), params, {
      "model": "bc_policy", "hidden": [8], "activation": "tanh", "layer_norm": False,
      "x_normalizer": norm(policy.x_normalizer), "u_normalizer": norm(policy.u_normalizer)})
  loaded, loaded_params = models.load(str(tmp_path / "bc"))
  assert loaded.to_config() == policy.to_config()
  chex.assert_trees_all_equal(loaded_params, params)


def test_model_load_errors(tmp_path):
  missing = tmp_path / "nowhere"
  with pytest.raises(checkpoint.CheckpointError, match=re.escape(str(missing))):
    models.load(str(missing))
  score = example_models()["score"]
  models.save(tmp_path / "score", score, _init(score, jax.random.PRNGKey(0)))
  # A corrupt config.json.
  bad_config = copy_dir(tmp_path / "score", tmp_path / "bad_config")
  garbage_json(bad_config / "config.json")
  with pytest.raises(checkpoint.CheckpointError, match="config.json is corrupt"):
    models.load(str(bad_config))
  # A config that describes another network than the saved params.
  other = copy_dir(tmp_path / "score", tmp_path / "other_net")
  cfg = json.load(open(other / "config.json"))
  cfg["net"]["hidden"] = [32, 32]
  json.dump(cfg, open(other / "config.json", "w"))
  with pytest.raises(checkpoint.CheckpointError, match=re.escape(str(other / "params"))):
    models.load(str(other))
  # Corrupt parameter files.
  flipped = copy_dir(tmp_path / "score", tmp_path / "flipped")
  data_files = glob.glob(str(flipped / "params" / "d" / "*"))
  assert data_files
  for f in data_files:
    flip_bytes(f)
  with pytest.raises(checkpoint.CheckpointError, match="corrupt"):
    models.load(str(flipped))
  # params/ missing altogether.
  no_params = copy_dir(tmp_path / "score", tmp_path / "no_params")
  shutil.rmtree(no_params / "params")
  with pytest.raises(checkpoint.CheckpointError, match="no params"):
    models.load(str(no_params))


# ------------------------------------------------------------------ train_model
def _dynamics_job():
  """A tiny dynamics model and its data: (model, loss_fn, data, config)."""
  rng = np.random.default_rng(0)
  x = rng.normal(size=(32, 2)).astype(np.float32)
  u = rng.normal(size=(32, 1)).astype(np.float32)
  x_next = x + 0.1 * np.concatenate([x[:, 1:], u], -1)
  model = models.make_dynamics_model(Normalizer.identity(2), Normalizer.identity(1), (8,))
  loss = lambda p, b, k: models.one_step_loss(model, p, *b)
  config = training.TrainConfig(epochs=2, batch_size=8, epochs_per_call=2)
  return model, loss, (x, u, x_next), config


def _file_stamps(directory):
  """{relative path: (mtime_ns, bytes)} of every file under `directory`."""
  stamps = {}
  for root, _, names in os.walk(directory):
    for name in names:
      path = os.path.join(root, name)
      stamps[os.path.relpath(path, directory)] = (os.stat(path).st_mtime_ns,
                                                  open(path, "rb").read())
  return stamps


def test_train_model_resumed_from_a_finished_run_does_not_rewrite_the_model(tmp_path):
  model, loss, data, config = _dynamics_job()
  init = model.init(jax.random.PRNGKey(0))
  params, metrics = models.train_model("dynamics", loss, init, data, config,
                                       str(tmp_path), model=model)
  assert set(metrics) == {"final_train_loss", "best_val_loss", "seconds"}
  model_dir = tmp_path / "models" / "dynamics"
  saved_model, saved_params = models.load(str(model_dir))
  assert saved_model.to_config() == model.to_config()
  chex.assert_trees_all_equal(saved_params, params)
  stamps = _file_stamps(model_dir)
  assert checkpoint.FILES_MANIFEST in "".join(stamps)

  # Two more launchers sharing the workdir: each finds the run finished and the model
  # intact, loads it (no epoch run, no progress report) and writes nothing.
  reports = []
  for _ in range(2):
    again, again_metrics = models.train_model(
        "dynamics", loss, init, data, config, str(tmp_path), model=model,
        progress=lambda *report: reports.append(report))
    chex.assert_trees_all_equal(again, params)
    assert again_metrics["best_val_loss"] == metrics["best_val_loss"]
  assert reports == []
  assert _file_stamps(model_dir) == stamps

  # ... also at the same moment (re-saving, they deleted each other's files mid-write).
  loaded, errors = [], []

  def launcher():
    try:
      loaded.append(models.train_model("dynamics", loss, init, data, config, str(tmp_path),
                                       model=model)[0])
    except Exception as error:  # reported below
      errors.append(error)
  threads = [threading.Thread(target=launcher) for _ in range(3)]
  for thread in threads:
    thread.start()
  for thread in threads:
    thread.join()
  assert not errors and len(loaded) == 3, errors
  for p in loaded:
    chex.assert_trees_all_equal(p, params)
  assert _file_stamps(model_dir) == stamps

  # A corrupt saved model is written again from the finished training state.
  for f in glob.glob(str(model_dir / "params" / "d" / "*")):
    flip_bytes(f)
  repaired, _ = models.train_model("dynamics", loss, init, data, config, str(tmp_path),
                                   model=model)
  chex.assert_trees_all_equal(repaired, params)
  chex.assert_trees_all_equal(models.load(str(model_dir))[1], params)


def test_train_model_records_the_model_in_the_training_state(tmp_path):
  """The training state records the model's config (a changed model refuses a stale
  state), unless run_config says otherwise; without a model nothing is saved."""
  model, loss, data, config = _dynamics_job()
  init = model.init(jax.random.PRNGKey(0))
  models.train_model("dynamics", loss, init, data, config, str(tmp_path), model=model)
  wider = models.make_dynamics_model(Normalizer.identity(2), Normalizer.identity(1), (16,))
  with pytest.raises(checkpoint.CheckpointError, match=r"run.net.hidden: \[8\] -> \[16\]"):
    models.train_model("dynamics", loss, wider.init(jax.random.PRNGKey(0)), data, config,
                       str(tmp_path), model=wider)
  models.train_model("named", loss, init, data, config, str(tmp_path), model=model,
                     run_config={"name": "named"})
  saved = checkpoint.TrainCheckpointer(str(tmp_path / "train_state" / "named"))
  assert saved.read_config(saved.latest_step())["run"] == {"name": "named"}
  assert os.path.isdir(tmp_path / "models" / "named")
  models.train_model("bare", loss, init, data, config, str(tmp_path))
  assert not os.path.exists(tmp_path / "models" / "bare")
