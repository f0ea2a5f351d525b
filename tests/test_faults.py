"""User mistakes end in one clear error naming the problem and the fix.

Each test feeds one fault (a wrong model, a bad file, a bad config, a damaged
checkpoint) to the library function a user calls. The launchers' faults (a bad
command line, a bad config) are tests/experiments/test_launcher.py's.
"""
import os
import subprocess
import sys

import h5py
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import lq_models, lq_problem
from sgp_jax import checkpoint, compilation_cache, data, training
from sgp_jax.normalization import Normalizer
from sgp_jax import planning
from sgp_jax.models import make_score_model

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ------------------------------------------------------------------ planners
def test_single_shooting_names_a_dynamics_of_the_wrong_dimension():
  problem = lq_problem()._replace(
      dynamics=lambda m, x, u: jnp.concatenate([m["A"] @ x + m["B"] @ u, u]))
  planner = planning.make_single_shooting(
      problem, planning.GradientPlannerConfig(horizon=3, num_iters=2))
  with pytest.raises(ValueError, match=r"single shooting: problem.dynamics .* shape "
                                       r"\(3,\), expected \(2,\)"):
    planning.solve(planner, lq_models(), jnp.zeros(2), jax.random.PRNGKey(0), 0.1)


def test_single_shooting_refuses_an_empty_batch():
  planner = planning.make_single_shooting(
      lq_problem(), planning.GradientPlannerConfig(horizon=3, num_iters=2))
  with pytest.raises(ValueError, match="batch is empty"):
    planning.solve_batch(planner, lq_models(), jnp.zeros((0, 2)),
                         jnp.zeros((0, 2), jnp.uint32), jnp.zeros((0,)))


def test_planner_refuses_nan_beta_and_plans_from_integer_states():
  planner = planning.make_single_shooting(
      lq_problem(), planning.GradientPlannerConfig(horizon=3, num_iters=2))
  keys = jax.random.split(jax.random.PRNGKey(0), 2)
  with pytest.raises(ValueError, match=r"betas contains NaN or inf: \[0.1 nan\]"):
    planning.solve_batch(planner, lq_models(), jnp.zeros((2, 2)), keys, jnp.array([0.1, np.nan]))
  with pytest.raises(ValueError, match="beta contains NaN"):
    planning.solve(planner, lq_models(), jnp.zeros(2), keys[0], float("nan"))
  # Integer initial states are planned from as float32 (not a TypeError in lax.scan).
  ints = planning.solve_batch(planner, lq_models(), jnp.array([[1, 0], [0, 1]]), keys,
                              jnp.full(2, 0.1))
  floats = planning.solve_batch(planner, lq_models(), jnp.array([[1.0, 0.0], [0.0, 1.0]]), keys,
                                jnp.full(2, 0.1))
  np.testing.assert_array_equal(ints.actions, floats.actions)
  one = planning.solve(planner, lq_models(), np.array([1, 0]), keys[0], 0.1)
  np.testing.assert_allclose(one.actions, floats.actions[0], rtol=1e-6, atol=1e-6)


# ------------------------------------------------------------------ score models
@pytest.mark.parametrize("sigmas, bad", [([0.1, np.nan], r"\[nan\]"),
                                         ([np.inf], r"\[inf\]"),
                                         ([0.1, -0.2, 0.0], r"\[-0.2.*, 0.0\]")])
def test_score_model_refuses_bad_sigmas(sigmas, bad):
  norm = Normalizer.from_scale(1.0, 0.0, dim=1)
  with pytest.raises(ValueError, match=r"finite and > 0; got " + bad):
    make_score_model("xu", norm, norm, sigmas, (4,))


# ------------------------------------------------------------------ D4RL files
def _write_d4rl(path, n=10, lengths=None, next_observations=False):
  """A D4RL-layout file with episodes 0-3 (terminal at 3) and 4-9 (timeout at 9);
  observations[i] = (i, -i). `lengths` overrides a field's number of rows."""
  obs = np.stack([np.arange(n), -np.arange(n)], 1).astype(np.float32)
  terminals, timeouts = np.zeros(n, bool), np.zeros(n, bool)
  terminals[3], timeouts[n - 1] = True, True
  fields = {"observations": obs, "actions": np.ones((n, 1), np.float32),
            "rewards": np.arange(n, dtype=np.float32), "terminals": terminals,
            "timeouts": timeouts}
  if next_observations:
    fields["next_observations"] = obs + 1
  with h5py.File(path, "w") as f:
    for name, array in fields.items():
      f[name] = array[:(lengths or {}).get(name, n)]
  return str(path)


@pytest.mark.parametrize("next_observations", [False, True])
def test_d4rl_length_mismatch_names_the_file_and_the_fields(tmp_path, next_observations):
  path = _write_d4rl(tmp_path / "hopper-medium-v2.hdf5", lengths={"actions": 9},
                     next_observations=next_observations)
  with pytest.raises(ValueError) as info:
    data.load_dataset(path)
  message = str(info.value)
  assert path in message and "'actions': 9" in message and "'observations': 10" in message


def test_d4rl_without_next_observations_uses_successors_within_episodes(tmp_path):
  ds = data.load_dataset(_write_d4rl(tmp_path / "d.hdf5"))
  # The terminal row 3, the timeout row 9 (its successor is not in the file) are dropped.
  np.testing.assert_array_equal(ds.observations[:, 0], [0, 1, 2, 4, 5, 6, 7, 8])
  np.testing.assert_array_equal(ds.next_observations, ds.observations + [[1, -1]])
  np.testing.assert_array_equal(ds.timeouts, [0, 0, 1, 0, 0, 0, 0, 1])


# ------------------------------------------------------------------ checkpoints
def _tiny_train(workdir, epochs):
  return training.train(lambda p, b, k: jnp.mean((b * p["w"]) ** 2), {"w": jnp.ones(())},
                        np.ones((8, 1), np.float32),
                        training.TrainConfig(epochs=epochs, batch_size=4, epochs_per_call=1),
                        workdir=str(workdir))


def test_more_epochs_on_a_workdir_names_the_changed_field(tmp_path):
  _tiny_train(tmp_path, epochs=2)
  with pytest.raises(checkpoint.CheckpointError) as info:
    _tiny_train(tmp_path, epochs=4)
  message = str(info.value)
  assert "different configuration" in message and "train.epochs: 2 -> 4" in message
  assert "new workdir" in message and "corrupt" not in message and "\n" not in message


# Many arrays, so that orbax (were it handed the truncated files) would print many
# "Event loop is closed" tracebacks.
_TRUNCATE_NEWEST_AND_RESUME = """
import glob, sys
import jax.numpy as jnp, numpy as np
from sgp_jax import training
def train():
  return training.train(
      lambda p, b, k: sum(jnp.mean((b * w) ** 2) for w in p.values()),
      {f"w{i}": jnp.ones(()) for i in range(20)}, np.ones((8, 1), np.float32),
      training.TrainConfig(epochs=3, batch_size=4, epochs_per_call=1), workdir=sys.argv[1])
straight = train()
for path in glob.glob(sys.argv[1] + "/3/state/d/*"):
  raw = open(path, "rb").read()
  open(path, "wb").write(raw[:len(raw) // 2])
resumed = train()
print("same result:", bool(jnp.all(straight.state.history == resumed.state.history)))
"""


def test_truncated_newest_checkpoint_resumes_quietly_from_the_intact_one(tmp_path):
  out = subprocess.run([sys.executable, "-c", _TRUNCATE_NEWEST_AND_RESUME, str(tmp_path)],
                       cwd=REPO, capture_output=True, text=True, timeout=120)
  assert out.returncode == 0, out.stderr[-3000:]
  assert "same result: True" in out.stdout
  assert len(out.stderr.splitlines()) <= 4, out.stderr[-3000:]
  assert f"training checkpoint {tmp_path}/3 is corrupt" in out.stderr
  assert "truncated" in out.stderr and "intact step 2" in out.stderr
  assert (tmp_path / "3.corrupt").is_dir() and (tmp_path / "3").is_dir()  # rewritten


# ------------------------------------------------------------------ compilation cache
def test_enable_compilation_cache(tmp_path, monkeypatch):
  monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
  assert compilation_cache.default_cache_dir() == str(tmp_path / "xdg" / "sgp_jax" /
                                                      "jax_cache")
  saved = {name: getattr(jax.config, name) for name in (
      "jax_compilation_cache_dir", "jax_persistent_cache_min_compile_time_secs")}
  try:
    assert compilation_cache.enable_compilation_cache("") is None
    assert jax.config.jax_compilation_cache_dir == saved["jax_compilation_cache_dir"]
    path = compilation_cache.enable_compilation_cache(str(tmp_path / "cache"), 0.25)
    assert path == str(tmp_path / "cache") and os.path.isdir(path)
    assert jax.config.jax_compilation_cache_dir == path
    assert jax.config.jax_persistent_cache_min_compile_time_secs == 0.25
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="cannot be created"):
      compilation_cache.enable_compilation_cache(str(tmp_path / "file"))
  finally:
    for name, value in saved.items():
      jax.config.update(name, value)
