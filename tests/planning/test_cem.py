"""CEM (SPEC 0, A.9.3): the exact optimum of a quadratic, the elite refit by hand,
batching on the shared contract, and its errors."""
import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from helpers import (QUADRATIC_TARGET, REFIT_LOSSES, REFIT_US, quadratic_problem,
                     sampling_config)
from sgp_jax.planning import (GradientPlannerConfig, base, cem_refit, make_cem,
                              penalized_loss, score_penalty_of, solve, solve_batch)


def test_cem_solves_quadratic_and_batches():
  problem = quadratic_problem()
  planner = make_cem(problem, penalized_loss(problem), sampling_config())
  x0s = jnp.array([[0.0], [1.0], [-2.0]])
  keys = jax.random.split(jax.random.PRNGKey(0), 3)
  before = base.solve_batch_jit._cache_size()
  res = solve_batch(planner, {}, x0s, keys, jnp.zeros(3))
  chex.assert_shape(res.actions, (3, 3, 1))
  chex.assert_shape(res.states, (3, 4, 1))
  chex.assert_shape(res.history["loss"], (3, 30))
  np.testing.assert_allclose(res.actions[..., 0], np.tile(QUADRATIC_TARGET, (3, 1)),
                             atol=1e-2)
  np.testing.assert_allclose(res.cost, 0.0, atol=1e-3)
  # the recorded loss is the best sample's; it ends at ~0
  np.testing.assert_allclose(res.history["loss"][:, -1], 0.0, atol=1e-3)
  # new values (x0s, keys, betas) of the same shapes reuse the compiled solve
  solve_batch(planner, {}, x0s + 1.0, keys, jnp.ones(3))
  assert base.solve_batch_jit._cache_size() == before + 1
  # the states are the rollout of the plan
  np.testing.assert_allclose(res.states[:, 1:, 0],
                             x0s + np.cumsum(res.actions[..., 0], 1), atol=1e-5)


def test_cem_refit_exact():
  """Elites of losses (3, 0, 1, 2) at k = 2 are samples 1 and 2: mean 1.5, std 0.5."""
  us, losses = jnp.asarray(REFIT_US), jnp.asarray(REFIT_LOSSES)
  mean, std = jnp.zeros((1, 1)), jnp.ones((1, 1))
  m, s = cem_refit(us, losses, mean, std, sampling_config(num_elites=2, num_samples=4))
  np.testing.assert_allclose(m, [[1.5]])
  np.testing.assert_allclose(s, [[0.5]])
  m, s = cem_refit(us, losses, mean, std,
                   sampling_config(num_elites=2, num_samples=4, smoothing=0.5, min_std=0.9))
  np.testing.assert_allclose(m, [[0.75]])
  np.testing.assert_allclose(s, [[0.9]])  # floored at min_std
  m, s = cem_refit(us, losses, mean, std,
                   sampling_config(num_elites=2, num_samples=4, adapt_std=False))
  np.testing.assert_allclose(s, std)


def test_bad_inputs():
  problem = quadratic_problem(score=lambda m, z, l: -z)
  with pytest.raises(ValueError, match="gradient-only"):
    make_cem(problem, penalized_loss(problem, score_penalty_of(problem)), sampling_config())
  with pytest.raises(TypeError, match="SamplingPlannerConfig"):
    make_cem(problem, penalized_loss(problem), GradientPlannerConfig(horizon=3))
  with pytest.raises(ValueError, match="sample_std"):
    sampling_config(sample_std=0.0)
  with pytest.raises(ValueError, match="num_elites"):
    sampling_config(num_elites=100)
  with pytest.raises(ValueError, match="min_std"):
    sampling_config(min_std=-1.0)
  with pytest.raises(ValueError, match="smoothing"):
    sampling_config(smoothing=1.0)
  with pytest.raises(ValueError, match="horizon"):
    sampling_config(horizon=0)
  planner = make_cem(problem, penalized_loss(problem), sampling_config(num_iters=2))
  with pytest.raises(ValueError, match="NaN"):
    solve(planner, {}, jnp.array([jnp.nan]), jax.random.PRNGKey(0), 0.0)
  with pytest.raises(ValueError, match="shape"):
    solve(planner, {}, jnp.zeros(2), jax.random.PRNGKey(0), 0.0)
  # a dynamics callable that does not map (dim_x,), (dim_u,) to (dim_x,)
  bad = problem._replace(dynamics=lambda m, x, u: jnp.concatenate([x, u]))
  with pytest.raises(ValueError, match="problem.dynamics"):
    solve(make_cem(bad, penalized_loss(bad), sampling_config(num_iters=2)),
          {}, jnp.zeros(1), jax.random.PRNGKey(0), 0.0)
