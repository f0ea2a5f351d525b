"""Shared test helpers for the core suite.

Kept deliberately small: every fixture here is cheap, and nothing here changes
global JAX state (float64 is enabled only inside `jax.enable_x64(True)` blocks
in the tests that need it, so it never leaks into other tests).
"""
import chex
import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _clear_chex_trace_counter():
  """`chex.assert_max_traces` counts per wrapped function; start every test clean."""
  chex.clear_trace_counter()
  yield
  chex.clear_trace_counter()


def naive_logsumexp(a: np.ndarray, axis: int = -1) -> np.ndarray:
  """Plain numpy log-sum-exp (float64), independent of the library's streaming code."""
  a = np.asarray(a, np.float64)
  m = np.max(a, axis=axis, keepdims=True)
  return np.squeeze(m, axis) + np.log(np.sum(np.exp(a - m), axis=axis))


def naive_sq_dists(z: np.ndarray, data: np.ndarray) -> np.ndarray:
  """||z - z_i||^2 for every query and data point, shape z.shape[:-1] + (N,)."""
  z = np.asarray(z, np.float64)
  data = np.asarray(data, np.float64)
  return np.sum((z[..., None, :] - data) ** 2, axis=-1)


def naive_distance(z, data, sigma) -> np.ndarray:
  """d_sigma(z) = -sigma^2 log sum_i exp(-||z - z_i||^2 / (2 sigma^2)), all in numpy."""
  return -sigma ** 2 * naive_logsumexp(-naive_sq_dists(z, data) / (2 * sigma ** 2))


def naive_log_density(z, data, sigma) -> np.ndarray:
  """log of the Gaussian KDE (1/N) sum_i N(z; z_i, sigma^2 I), from the Gaussian pdf."""
  data = np.asarray(data, np.float64)
  n_data, dim = data.shape
  log_gauss = (-naive_sq_dists(z, data) / (2 * sigma ** 2)
               - 0.5 * dim * np.log(2 * np.pi * sigma ** 2))
  return naive_logsumexp(log_gauss) - np.log(n_data)


def naive_score(z, data, sigma) -> np.ndarray:
  """sum_i w_i(z) (z_i - z) / sigma^2 with softmax weights, in numpy."""
  z = np.asarray(z, np.float64)
  data = np.asarray(data, np.float64)
  logits = -naive_sq_dists(z, data) / (2 * sigma ** 2)
  w = np.exp(logits - naive_logsumexp(logits)[..., None])
  return (w @ data - z) / sigma ** 2


# ---------------------------------------------------------------- linear-quadratic
# The LQ system lives in helpers.py; re-exported here for the tests that import it
# from conftest.
from helpers import (LQ_A, LQ_B, LQ_DT, LQ_Q, LQ_QF, LQ_R, lq_models,  # noqa: E402,F401
                     lq_optimum, lq_problem)


class LQEnv:
  """The LQ system as an `sgp_jax.envs.Env` (random reset, reward -||x||^2, time
  limit `episode_length`), for closed-loop evaluator tests."""
  dim_obs, dim_action = 2, 1

  def __init__(self, models, episode_length=3):
    self.models, self.episode_length = models, episode_length

  def reset(self, key):
    import jax, jax.numpy as jnp
    from sgp_jax.envs.base import EnvState
    x, no = jax.random.normal(key, (2,)), jnp.zeros((), bool)
    return EnvState(sim=x, obs=x, reward=jnp.zeros(()), terminal=no, truncated=no,
                    t=jnp.zeros((), jnp.int32))

  def step(self, state, u):
    import jax.numpy as jnp
    from sgp_jax.envs.base import EnvState
    x, t = self.models["A"] @ state.obs + self.models["B"] @ u, state.t + 1
    return EnvState(sim=x, obs=x, reward=-x @ x, terminal=jnp.zeros((), bool),
                    truncated=t >= self.episode_length, t=t)


@pytest.fixture(scope="session")
def d4rl_trained(tmp_path_factory):
  """The d4rl benchmark's models trained once per session on `helpers.tiny_d4rl_data`:
  (config, data, workdir, models, params, metrics)."""
  from experiments.d4rl_benchmark import training
  from helpers import tiny_d4rl_config, tiny_d4rl_data
  workdir = str(tmp_path_factory.mktemp("d4rl"))
  config, data = tiny_d4rl_config(), tiny_d4rl_data()
  m, params, metrics = training.train_models(config, data, workdir)
  return config, data, workdir, m, params, metrics
