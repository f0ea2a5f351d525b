"""Direct transcription (SPEC A.5c) on an exact quadratic: with the Gaussian xu score,
sigma_l^2 s(z) = -z, so the injected score is the gradient of beta/2 ||z||^2 and the
optimum is one Newton step away."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from helpers import (DIRECT_RHO, direct_config, direct_problem, gaussian_xu_score,
                     newton_optimum, transition_score)
from sgp_jax.planning import make_direct_transcription, solve
from sgp_jax.planning.transcription import dynamics_defect


def test_transcription_matches_exact_optimum():
  goal = jnp.array([1.0, -1.0])
  problem = direct_problem(2, gaussian_xu_score,
                           terminal=lambda m, x: jnp.sum((x - goal) ** 2))
  alpha, scale = 3.0, jnp.array([1.0, 2.0])
  planner = make_direct_transcription(problem, direct_config(), alpha=alpha,
                                      state_scale=scale)
  x0, beta = jnp.array([0.5, 0.0]), 0.5
  res = solve(planner, {}, x0, jax.random.PRNGKey(0), beta)

  def surrogate(theta):  # sigma^2 s = -z: the injected score is grad beta/2 ||z||^2
    xs = jnp.concatenate([x0[None], theta.xs])
    defect = xs[:-1] + theta.us - xs[1:]
    z = jnp.concatenate([xs[:-1], theta.us], -1)
    return (DIRECT_RHO * jnp.sum(theta.us ** 2) + jnp.sum((xs[-1] - goal) ** 2)
            + alpha * jnp.sum(defect ** 2 / scale) + beta * 0.5 * jnp.sum(z ** 2))
  best = newton_optimum(surrogate, res.theta)
  np.testing.assert_allclose(res.theta.xs, best.xs, atol=1e-2)
  np.testing.assert_allclose(res.theta.us, best.us, atol=1e-2)
  assert set(res.history) >= {"loss", "cost", "grad_norm"}
  # the defect of the plan: f(x_t, u_t) - x_{t+1} = x_t + u_t - x_{t+1}
  xs = np.asarray(res.states)
  np.testing.assert_allclose(dynamics_defect(problem, {}, res.states, res.actions),
                             xs[:-1] + np.asarray(res.actions) - xs[1:], atol=1e-6)


def test_bad_inputs():
  problem = direct_problem(2, transition_score)
  with pytest.raises(ValueError, match="alpha"):
    make_direct_transcription(problem, direct_config(), alpha=-1.0)
  with pytest.raises(ValueError, match="state_scale"):
    make_direct_transcription(problem, direct_config(), state_scale=jnp.zeros(2))
  with pytest.raises(ValueError, match="x_goal"):
    make_direct_transcription(problem, direct_config(), x_goal=jnp.zeros(3))
  # the xux transition score (dim 6) where transcription scores xu points (dim 4)
  planner = make_direct_transcription(problem, direct_config(num_iters=2))
  with pytest.raises(ValueError, match="xu points"):
    solve(planner, {}, jnp.zeros(2), jax.random.PRNGKey(0), 1.0)
