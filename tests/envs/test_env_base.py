"""`sgp_jax.envs.base`: the env protocol's state and a pure-JAX system as an `Env`."""
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sgp_jax.envs.base import EnvState, SystemEnv


def make_env(**kwargs):
  """x' = 2 x + u on R^2 (u in R^2), reward -|x'|^2, fails when |x'_0| > 3."""
  return SystemEnv(lambda x, u: 2.0 * x + u, dim_obs=2, dim_action=2,
                   reward_fn=lambda x, u, x_next: -x_next @ x_next,
                   terminal_fn=lambda x: jnp.abs(x[0]) > 3.0, **kwargs)


def test_system_env_steps_rewards_and_ends_episodes():
  env = make_env(episode_length=3)
  state = env.state_at(jnp.array([0.5, -1.0]))
  assert isinstance(state, EnvState) and int(state.t) == 0 and not bool(state.done)
  u = jnp.array([0.25, 1.0])
  nxt = env.step(state, u)
  np.testing.assert_allclose(nxt.obs, [1.25, -1.0])
  np.testing.assert_allclose(nxt.sim, nxt.obs)
  np.testing.assert_allclose(nxt.reward, -(1.25 ** 2 + 1.0))
  assert int(nxt.t) == 1 and not bool(nxt.done)
  assert not bool(env.step(nxt, u).terminal)  # x'_0 = 2 * 1.25 + 0.25 = 2.75 <= 3
  far = env.step(env.step(nxt, u), jnp.zeros(2))  # x'_0 = 5.5 > 3 at the time limit t = 3:
  assert bool(far.terminal) and not bool(far.truncated)  # terminal, not truncated
  # the time limit: truncated at step episode_length unless it terminated there
  calm = env.state_at(jnp.zeros(2))
  for t in range(3):
    assert not bool(calm.truncated)
    calm = env.step(calm, jnp.zeros(2))
  assert bool(calm.truncated) and not bool(calm.terminal) and int(calm.t) == 3
  obs, reward, terminal = env.step_true(jnp.array([2.0, 0.0]), jnp.zeros(2))
  np.testing.assert_allclose(obs, [4.0, 0.0])
  assert float(reward) == -16.0 and bool(terminal)
  # jittable and vmappable
  batch = jax.jit(jax.vmap(env.step))(jax.vmap(env.state_at)(jnp.ones((4, 2))),
                                       jnp.zeros((4, 2)))
  np.testing.assert_allclose(batch.obs, 2 * np.ones((4, 2)))


def test_system_env_reset_and_defaults():
  env = SystemEnv(lambda x, u: x + u, dim_obs=1, dim_action=1, episode_length=2,
                  reset_fn=lambda key: jax.random.normal(key, (1,)))
  key = jax.random.PRNGKey(4)
  state = env.reset(key)
  np.testing.assert_allclose(state.obs, jax.random.normal(key, (1,)))
  nxt = env.step(state, jnp.ones(1))
  assert float(nxt.reward) == 0.0 and not bool(nxt.terminal)  # no reward_fn, terminal_fn
  assert env.metadata()["episode_length"] == 2
  with pytest.raises(ValueError, match="reset_fn"):
    make_env().reset(key)
  with pytest.raises(ValueError, match="episode_length"):
    make_env(episode_length=0)
  with pytest.raises(ValueError, match="dim_obs"):
    SystemEnv(lambda x, u: x, dim_obs=0, dim_action=1)
  with pytest.raises(AssertionError):  # a state of the wrong size
    env.state_at(jnp.zeros(3))


def test_env_protocol_and_closed_loop_import_without_brax():
  code = ("import sys, sgp_jax, sgp_jax.envs, sgp_jax.envs.base, sgp_jax.closed_loop; "
          "assert 'brax' not in sys.modules, 'brax imported'")
  subprocess.run([sys.executable, "-c", code], check=True)
