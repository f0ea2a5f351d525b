"""Direct collocation (SPEC A.5b) on exact quadratics.

With an analytic Gaussian transition score, sigma_l^2 s(z) is the gradient of a
quadratic, so the planner's optimum is known exactly (a Newton step), without any
training. The BVP optimum with a control cost is the straight line between the
endpoints.
"""
import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from helpers import (DIRECT_RHO, DIRECT_SIGMAS, direct_config, direct_problem,
                     newton_optimum, transition_score)
from sgp_jax.planning import Trajectory, make_collocation, solve, solve_batch


def test_bvp_collocation_recovers_straight_line():
  x0, xg = jnp.array([0.0, 0.0]), jnp.array([1.0, -2.0])
  planner = make_collocation(direct_problem(2, transition_score), direct_config(), x_goal=xg)
  assert not planner.initial_value  # a receding horizon cannot keep x_goal
  betas = jnp.array([1.0, 4.0])
  # start far from the line: random decision states
  init = Trajectory(xs=jax.random.normal(jax.random.PRNGKey(3), (2, 4, 2)),
                    us=jnp.zeros((2, 5, 2)))
  res = solve_batch(planner, {}, jnp.stack([x0, x0]), jax.random.split(
      jax.random.PRNGKey(0), 2), betas, theta_init=init)
  chex.assert_shape(res.states, (2, 6, 2))
  chex.assert_shape(res.actions, (2, 5, 2))
  line = x0 + jnp.arange(6)[:, None] / 5 * (xg - x0)
  d = (xg - x0) / 5
  for i, beta in enumerate(betas):
    np.testing.assert_allclose(res.states[i], line, atol=1e-2)
    # u_t = beta d / (2 rho + beta): the minimiser of rho u^2 + beta/2 (d - u)^2
    np.testing.assert_allclose(res.actions[i], jnp.broadcast_to(
        beta * d / (2 * DIRECT_RHO + beta), (5, 2)), atol=1e-2)
    # the reported cost is the task cost rho sum_t ||u_t||^2 of the plan
    np.testing.assert_allclose(res.cost[i], DIRECT_RHO * np.sum(np.asarray(res.actions[i]) ** 2),
                               rtol=1e-5)


def test_ivp_collocation_matches_exact_optimum():
  goal = jnp.array([1.5])
  problem = direct_problem(1, transition_score,
                           terminal=lambda m, x: jnp.sum((x - goal) ** 2))
  planner = make_collocation(problem, direct_config())
  assert planner.initial_value
  x0, beta = jnp.array([0.2]), 2.0
  res = solve(planner, {}, x0, jax.random.PRNGKey(0), beta)
  chex.assert_shape(res.theta.xs, (5, 1))

  def surrogate(theta):  # cost + beta * sum_t d_sigma(z_t), d = 1/2 ||x' - x - u||^2
    xs = jnp.concatenate([x0[None], theta.xs])
    r = xs[1:] - xs[:-1] - theta.us
    return (DIRECT_RHO * jnp.sum(theta.us ** 2) + jnp.sum((xs[-1] - goal) ** 2)
            + beta * 0.5 * jnp.sum(r ** 2))
  best = newton_optimum(surrogate, res.theta)
  np.testing.assert_allclose(res.theta.xs, best.xs, atol=1e-2)
  np.testing.assert_allclose(res.theta.us, best.us, atol=1e-2)
  np.testing.assert_allclose(res.states[0], x0)


def test_bad_inputs():
  problem = direct_problem(2, transition_score)
  with pytest.raises(ValueError, match="x_goal"):
    make_collocation(problem, direct_config(), x_goal=jnp.zeros(3))
  with pytest.raises(ValueError, match="NaN"):
    make_collocation(problem, direct_config(), x_goal=jnp.array([0.0, jnp.nan]))
  x0, key = jnp.zeros(2), jax.random.PRNGKey(0)
  # an xu score (dim 4) where collocation needs xux (dim 6)
  xu_score = lambda m, z, l: -z[..., :4]
  wrong = make_collocation(problem._replace(score=xu_score), direct_config(num_iters=2))
  with pytest.raises(ValueError, match="xux"):
    solve(wrong, {}, x0, key, 1.0)
  with pytest.raises(ValueError, match="score_sigma"):
    solve(make_collocation(problem._replace(score_sigma=None), direct_config(num_iters=2)),
          {}, x0, key, 1.0)
  with pytest.raises(ValueError, match="sigma must be > 0"):
    solve(make_collocation(problem._replace(score_sigma=lambda m, l: 0.0 * DIRECT_SIGMAS[l]),
                           direct_config(num_iters=2)), {}, x0, key, 1.0)
  planner = make_collocation(problem, direct_config(num_iters=2))
  with pytest.raises(ValueError, match="NaN"):
    solve(planner, {}, jnp.array([0.0, jnp.nan]), key, 1.0)
  with pytest.raises(ValueError, match="shape"):
    solve(planner, {}, jnp.zeros(3), key, 1.0)
