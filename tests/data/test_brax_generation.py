"""Brax-backed tests of data generation (slow: each compiles a MuJoCo model).

Run with `pytest tests/data -m slow`.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sgp_jax import closed_loop, data
from sgp_jax import envs

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cheetah():
  return envs.make_env("halfcheetah", backend="positional", episode_length=6)


def test_rollout_successors_are_true_at_episode_ends(cheetah):
  rollout = closed_loop.make_policy_evaluator(cheetah, envs.uniform_policy(cheetah.dim_action),
                                              2)
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

  arrays, returns = closed_loop.collect_episodes([(rollout, None)], jax.random.PRNGKey(1),
                                                 min_transitions=9)
  ds = data.dataset_from_arrays(arrays, cheetah.metadata())
  assert ds.num == 12 and ds.timeouts.sum() == 2  # two whole episodes
  np.testing.assert_allclose(data.episode_returns(ds), returns, rtol=1e-5)


def test_step_true_matches_env_step_generalized():
  # With the generalized backend (q, qd) is the whole simulator state, so the
  # observation determines the step (hopper also tests the torso-height offset).
  hopper = envs.make_env("hopper", backend="generalized", episode_length=30)
  rollout = closed_loop.make_policy_evaluator(hopper, envs.uniform_policy(hopper.dim_action),
                                              1)
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
  rollout = closed_loop.make_policy_evaluator(hopper, envs.uniform_policy(hopper.dim_action),
                                              4)
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
