"""Brax-backed tests of data generation (slow: each compiles a MuJoCo model).

Run with `pytest tests/data -m slow`.
"""
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sgp_jax import data
from sgp_jax import envs

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cheetah():
  return envs.make_env("halfcheetah", backend="positional", episode_length=6)


def test_rollout_successors_are_true_at_episode_ends(cheetah):
  rollout = envs.make_rollout(cheetah, envs.uniform_policy(cheetah.dim_action), 2)
  batch = jax.device_get(rollout(None, jax.random.PRNGKey(0)))
  assert batch.observations.shape == (2, 6, cheetah.dim_obs)
  assert batch.valid.all() and not batch.terminals.any()
  np.testing.assert_array_equal(batch.timeouts, [[0, 0, 0, 0, 0, 1]] * 2)
  # Within an episode x'_t = x_{t+1}.
  np.testing.assert_array_equal(batch.next_observations[:, :-1], batch.observations[:, 1:])
  # At the time limit x' is the successor of the last state, not a reset: replay
  # the episode's actions through env.step and compare.
  key_reset = jax.random.split(jax.random.split(jax.random.PRNGKey(0), 2)[0])[0]
  state = cheetah.reset(key_reset)
  np.testing.assert_allclose(state.obs, batch.observations[0, 0], atol=1e-6)
  step = jax.jit(cheetah.step)
  for t in range(6):
    state = step(state, jnp.asarray(batch.actions[0, t]))
  # (float32 results differ slightly between the scanned/vmapped and per-step
  # compiled programs.)
  np.testing.assert_allclose(state.obs, batch.next_observations[0, -1], rtol=1e-3, atol=2e-3)
  assert bool(state.truncated) and not bool(state.terminal)
  assert np.abs(batch.next_observations[0, -1] - batch.observations[0, 0]).max() > 1e-3

  arrays, returns = envs.collect_episodes([(rollout, None)], jax.random.PRNGKey(1),
                                          min_transitions=9)
  ds = data.dataset_from_arrays(arrays, cheetah.metadata())
  assert ds.num == 12 and ds.timeouts.sum() == 2  # two whole episodes
  np.testing.assert_allclose(data.episode_returns(ds), returns, rtol=1e-5)


def test_step_true_matches_env_step_generalized():
  # With the generalized backend (q, qd) is the whole simulator state, so the
  # observation determines the step (hopper also tests the torso-height offset).
  hopper = envs.make_env("hopper", backend="generalized", episode_length=30)
  rollout = envs.make_rollout(hopper, envs.uniform_policy(hopper.dim_action), 1)
  batch = jax.device_get(rollout(None, jax.random.PRNGKey(5)))
  valid = batch.valid[0]
  obs_next, reward, terminal = jax.jit(jax.vmap(hopper.step_true))(
      jnp.asarray(batch.observations[0]), jnp.asarray(batch.actions[0]))
  np.testing.assert_allclose(np.asarray(obs_next)[valid], batch.next_observations[0][valid],
                             rtol=1e-3, atol=1e-3)
  np.testing.assert_allclose(np.asarray(reward)[valid], batch.rewards[0][valid],
                             rtol=1e-3, atol=1e-3)
  np.testing.assert_array_equal(np.asarray(terminal)[valid], batch.terminals[0][valid])


def test_hopper_terminates_and_masks():
  hopper = envs.make_env("hopper", backend="positional", episode_length=200)
  assert hopper.metadata()["terminate_when_unhealthy"]
  rollout = envs.make_rollout(hopper, envs.uniform_policy(hopper.dim_action), 4)
  batch = jax.device_get(rollout(None, jax.random.PRNGKey(0)))
  ends = batch.terminals | batch.timeouts
  for p in range(4):
    length = int(batch.valid[p].sum())
    assert batch.valid[p, :length].all() and not batch.valid[p, length:].any()
    assert ends[p, length - 1] and ends[p, :length].sum() == 1
  assert batch.terminals.any(), "random hopper should fall within 200 steps"
  # x' at a terminal step is the fallen state itself, not a reset: brax's health
  # test (torso height obs[0] > 0.7, torso angle |obs[1]| < 0.2) read on x' gives
  # exactly the terminal flags.
  nxt = batch.next_observations[batch.valid]
  unhealthy = (nxt[:, 0] <= 0.7) | (np.abs(nxt[:, 1]) >= 0.2)
  np.testing.assert_array_equal(unhealthy, batch.terminals[batch.valid])


def test_launcher_end_to_end(tmp_path):
  from experiments.make_dataset import main as launcher
  from experiments.make_dataset.configs import default
  config = default.get_config()
  config.env = "halfcheetah"
  config.episode_length = 40
  config.num_transitions = 200
  config.ref_episodes = 4
  config.num_parallel = 4
  config.sac.update(num_timesteps=3000, num_envs=8, num_evals=4, num_eval_envs=4,
                    batch_size=64, grad_updates_per_step=1, min_replay_size=256,
                    hidden_layer_sizes=(32, 32))
  workdir = str(tmp_path)
  summary = launcher.make_datasets(config, workdir, log=lambda m: None)

  assert set(summary["levels"]) == set(data.LEVELS)
  with open(os.path.join(workdir, "summary.json")) as f:
    assert json.load(f)["levels"].keys() == summary["levels"].keys()
  for level in data.LEVELS:
    npz = data.load_dataset(os.path.join(workdir, "datasets", f"halfcheetah-{level}.npz"))
    h5 = data.load_dataset(os.path.join(workdir, "datasets", f"halfcheetah-{level}.hdf5"))
    np.testing.assert_array_equal(npz.observations, h5.observations)
    meta = npz.metadata
    assert meta["level"] == level and meta["backend"] == "positional"
    assert meta["ref_max_score"] == summary["ref_max_score"]
    assert npz.num >= (400 if level == "medium-expert" else 200)
    assert npz.num % 40 == 0  # whole halfcheetah episodes only
  medium = data.load_npz(os.path.join(workdir, "datasets", "halfcheetah-medium.npz"))
  assert len(medium.metadata["policy_checkpoint_sha256"][0]) == 64
  replay = data.load_npz(os.path.join(workdir, "datasets", "halfcheetah-medium-replay.npz"))
  assert replay.metadata["includes_random_policy"]

  # A second call reuses the behaviour checkpoints instead of retraining.
  env = envs.make_env("halfcheetah", episode_length=40)
  messages = []
  again = envs.train_behaviour(env, launcher.resolve_config(config).sac.to_dict(),
                               os.path.join(workdir, "policies", "halfcheetah"),
                               config.seed, log=messages.append)
  assert messages and messages[0].startswith("Reusing")
  assert again.medium_step == summary["behaviour"]["medium_step"]
  assert (envs.checkpoint_sha256(again.checkpoint_dirs[again.medium_step])
          == medium.metadata["policy_checkpoint_sha256"][0])
