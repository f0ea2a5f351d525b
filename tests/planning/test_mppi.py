"""MPPI (SPEC 0, A.9.3): the optimum of a quadratic, warm starts, the softmax refit by hand."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from helpers import (QUADRATIC_TARGET, REFIT_LOSSES, REFIT_US, quadratic_problem,
                     sampling_config)
from sgp_jax.planning import make_mppi, mppi_refit, penalized_loss, score_penalty_of, solve


def test_mppi_solves_quadratic_and_warm_starts():
  problem = quadratic_problem()
  planner = make_mppi(problem, penalized_loss(problem),
                      sampling_config(num_samples=256, sample_std=0.3, temperature=0.01,
                                      num_iters=40))
  res = solve(planner, {}, jnp.zeros(1), jax.random.PRNGKey(1), 0.0,
              theta_init=jnp.zeros((3, 1)))  # = the default init, one compile
  np.testing.assert_allclose(res.actions[:, 0], QUADRATIC_TARGET, atol=0.05)
  # the reported cost is the task cost of the plan: sum_t (u_t - c_t)^2
  np.testing.assert_allclose(res.cost, np.sum((res.actions[:, 0] - QUADRATIC_TARGET) ** 2),
                             rtol=1e-4, atol=1e-7)
  # a warm start at the optimum stays there (up to the sampling noise)
  warm = solve(planner, {}, jnp.zeros(1), jax.random.PRNGKey(2), 0.0,
               theta_init=jnp.asarray(QUADRATIC_TARGET)[:, None])
  np.testing.assert_allclose(warm.actions[:, 0], QUADRATIC_TARGET, atol=0.05)


def test_mppi_refit_exact():
  """w_i ~ exp(-(L_i - min L) / temperature); the std is kept; smoothing mixes the mean."""
  us, losses = jnp.asarray(REFIT_US), jnp.asarray(REFIT_LOSSES)
  mean, std = jnp.zeros((1, 1)), jnp.ones((1, 1))
  w = np.exp(-np.array([3.0, 0.0, 1.0, 2.0]))
  weighted = np.sum(w * np.arange(4)) / w.sum()
  m, s = mppi_refit(us, losses, mean, std,
                    sampling_config(num_samples=4, num_elites=2, temperature=1.0))
  np.testing.assert_allclose(m, [[weighted]], rtol=1e-6)
  np.testing.assert_allclose(s, std)
  w = np.exp(-np.array([3.0, 0.0, 1.0, 2.0]) / 0.5)
  m, _ = mppi_refit(us, losses, mean + 1.0, std,
                    sampling_config(num_samples=4, num_elites=2, temperature=0.5,
                                    smoothing=0.25))
  np.testing.assert_allclose(m, [[0.25 + 0.75 * np.sum(w * np.arange(4)) / w.sum()]],
                             rtol=1e-6)


def test_bad_inputs():
  with pytest.raises(ValueError, match="temperature"):
    sampling_config(temperature=-1.0)
  problem = quadratic_problem(score=lambda m, z, l: -z)
  with pytest.raises(ValueError, match="gradient-only"):
    make_mppi(problem, penalized_loss(problem, score_penalty_of(problem)), sampling_config())
