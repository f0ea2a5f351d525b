"""CEM and MPPI (SPEC 0, A.9.3): exact optimum of a 1D quadratic, batching, warm start, errors."""
import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sgp_jax.planning import (ControlProblem, SamplingPlannerConfig, make_cem, make_mppi,
                              penalized_loss, score_penalty_of)
from sgp_jax.planning.sampling_planners import cem_refit, mppi_refit

TARGET = np.array([0.3, -0.5, 0.8], np.float32)


def quadratic_problem(score=None):
  """x' = x + u, cost sum_t (u_t - c_t)^2: the optimum is u = c whatever x0."""
  c = jnp.asarray(TARGET)
  return ControlProblem(
      dim_x=1, dim_u=1, dynamics=lambda m, x, u: x + u,
      running_cost=lambda m, x, u, t: jnp.sum((u - c[t]) ** 2), score=score)


def config(**kw):
  base = dict(horizon=3, num_iters=30, num_samples=64, num_elites=8, sample_std=1.0,
              min_std=1e-4, record_history=True)
  base.update(kw)
  return SamplingPlannerConfig(**base)


def test_cem_solves_quadratic_and_batches():
  problem = quadratic_problem()
  planner = make_cem(problem, penalized_loss(problem), config())
  x0s = jnp.array([[0.0], [1.0], [-2.0]])
  keys = jax.random.split(jax.random.PRNGKey(0), 3)
  res = planner.solve_batch({}, x0s, keys, jnp.zeros(3))
  chex.assert_shape(res.actions, (3, 3, 1))
  chex.assert_shape(res.states, (3, 4, 1))
  chex.assert_shape(res.history["loss"], (3, 30))
  np.testing.assert_allclose(res.actions[..., 0], np.tile(TARGET, (3, 1)), atol=1e-2)
  np.testing.assert_allclose(res.cost, 0.0, atol=1e-3)
  # new values (x0s, keys, betas) of the same shapes reuse the compiled solve
  planner.solve_batch({}, x0s + 1.0, keys, jnp.ones(3))
  assert planner._solve_batch_jit._cache_size() == 1
  # the states are the rollout of the plan
  np.testing.assert_allclose(res.states[:, 1:, 0],
                             x0s + np.cumsum(res.actions[..., 0], 1), atol=1e-5)


def test_mppi_solves_quadratic_and_warm_starts():
  problem = quadratic_problem()
  planner = make_mppi(problem, penalized_loss(problem),
                      config(num_samples=256, sample_std=0.3, temperature=0.01,
                             num_iters=40))
  res = planner.solve({}, jnp.zeros(1), jax.random.PRNGKey(1), 0.0,
                      theta_init=jnp.zeros((3, 1)))  # = the default init, one compile
  np.testing.assert_allclose(res.actions[:, 0], TARGET, atol=0.05)
  # a warm start at the optimum stays there (up to the sampling noise)
  warm = planner.solve({}, jnp.zeros(1), jax.random.PRNGKey(2), 0.0,
                       theta_init=jnp.asarray(TARGET)[:, None])
  np.testing.assert_allclose(warm.actions[:, 0], TARGET, atol=0.05)


def test_refits_exact():
  us = jnp.array([[[0.0]], [[1.0]], [[2.0]], [[3.0]]])
  losses = jnp.array([3.0, 0.0, 1.0, 2.0])
  mean, std = jnp.zeros((1, 1)), jnp.ones((1, 1))
  m, s = cem_refit(us, losses, mean, std, config(num_elites=2, num_samples=4))
  np.testing.assert_allclose(m, [[1.5]])
  np.testing.assert_allclose(s, [[0.5]])
  m, s = cem_refit(us, losses, mean, std,
                   config(num_elites=2, num_samples=4, smoothing=0.5, min_std=0.9))
  np.testing.assert_allclose(m, [[0.75]])
  np.testing.assert_allclose(s, [[0.9]])  # floored at min_std
  m, s = cem_refit(us, losses, mean, std,
                   config(num_elites=2, num_samples=4, adapt_std=False))
  np.testing.assert_allclose(s, std)
  m, s = mppi_refit(us, losses, mean, std, config(num_samples=4, num_elites=2,
                                                  temperature=1.0))
  w = np.exp(-np.array([3.0, 0.0, 1.0, 2.0]))
  np.testing.assert_allclose(m, [[np.sum(w * np.arange(4)) / w.sum()]], rtol=1e-6)
  np.testing.assert_allclose(s, std)


def test_bad_inputs():
  problem = quadratic_problem(score=lambda m, z, l: -z)
  with pytest.raises(ValueError, match="gradient-only"):
    make_cem(problem, penalized_loss(problem, score_penalty_of(problem)), config())
  with pytest.raises(ValueError, match="sample_std"):
    config(sample_std=0.0)
  with pytest.raises(ValueError, match="temperature"):
    config(temperature=-1.0)
  with pytest.raises(ValueError, match="num_elites"):
    config(num_elites=100)
  with pytest.raises(ValueError, match="horizon"):
    config(horizon=0)
  planner = make_cem(problem, penalized_loss(problem), config(num_iters=2))
  with pytest.raises(ValueError, match="NaN"):
    planner.solve({}, jnp.array([jnp.nan]), jax.random.PRNGKey(0), 0.0)
  with pytest.raises(ValueError, match="shape"):
    planner.solve({}, jnp.zeros(2), jax.random.PRNGKey(0), 0.0)
  # a dynamics callable that does not map (dim_x,), (dim_u,) to (dim_x,)
  bad = problem._replace(dynamics=lambda m, x, u: jnp.concatenate([x, u]))
  with pytest.raises(ValueError, match="problem.dynamics"):
    make_cem(bad, penalized_loss(bad), config(num_iters=2)).solve(
        {}, jnp.zeros(1), jax.random.PRNGKey(0), 0.0)
