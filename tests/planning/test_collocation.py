"""Direct collocation (SPEC A.5b) and direct transcription (A.5c) on exact quadratics.

With an analytic Gaussian transition score, sigma_l^2 s(z) is the gradient of a
quadratic, so each planner's optimum is known exactly (a Newton step), without any
training. The BVP optimum with a control cost is the straight line between the
endpoints.
"""
import chex
import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
import pytest

from sgp_jax.planning import (ControlProblem, GradientPlannerConfig, Trajectory,
                              make_collocation, make_direct_transcription)

SIGMAS = jnp.array([0.5, 0.2, 0.1])  # three annealed levels
RHO = 0.1


def transition_score(models, z, level):
  """Score of N(x'; x + u, sigma_l^2) (flat in x, u), dim_x = dim_u: z = (x, u, x')."""
  d = z.shape[-1] // 3
  x, u, xn = z[..., :d], z[..., d:2 * d], z[..., 2 * d:]
  r = (xn - x - u) / SIGMAS[level] ** 2
  return jnp.concatenate([r, r, -r], -1)


def gaussian_xu_score(models, z, level):
  """Score of N(z; 0, sigma_l^2 I)."""
  return -z / SIGMAS[level] ** 2


def problem_for(dim, score, terminal=None):
  return ControlProblem(
      dim_x=dim, dim_u=dim, dynamics=lambda m, x, u: x + u,
      running_cost=lambda m, x, u, t: RHO * jnp.sum(u ** 2),
      terminal_cost=terminal, score=score, num_levels=3,
      score_sigma=lambda m, level: SIGMAS[level])


def newton_optimum(loss, theta0):
  """Exact minimiser of a quadratic loss(theta) (a pytree), by one Newton step."""
  flat, unravel = jax.flatten_util.ravel_pytree(theta0)
  f = lambda v: loss(unravel(v))
  step = jax.jit(lambda v: v - jnp.linalg.solve(jax.hessian(f)(v), jax.grad(f)(v)))
  return unravel(step(flat))


def config(**kw):
  base = dict(horizon=5, num_iters=1000, learning_rate=0.1, init_std=0.1)
  base.update(kw)
  return GradientPlannerConfig(**base)


def test_bvp_collocation_recovers_straight_line():
  x0, xg = jnp.array([0.0, 0.0]), jnp.array([1.0, -2.0])
  planner = make_collocation(problem_for(2, transition_score), config(), x_goal=xg)
  betas = jnp.array([1.0, 4.0])
  # start far from the line: random decision states
  init = Trajectory(xs=jax.random.normal(jax.random.PRNGKey(3), (2, 4, 2)),
                    us=jnp.zeros((2, 5, 2)))
  res = planner.solve_batch({}, jnp.stack([x0, x0]), jax.random.split(
      jax.random.PRNGKey(0), 2), betas, theta_init=init)
  chex.assert_shape(res.states, (2, 6, 2))
  chex.assert_shape(res.actions, (2, 5, 2))
  line = x0 + jnp.arange(6)[:, None] / 5 * (xg - x0)
  d = (xg - x0) / 5
  for i, beta in enumerate(betas):
    np.testing.assert_allclose(res.states[i], line, atol=1e-2)
    # u_t = beta d / (2 rho + beta): the minimiser of rho u^2 + beta/2 (d - u)^2
    np.testing.assert_allclose(res.actions[i], jnp.broadcast_to(
        beta * d / (2 * RHO + beta), (5, 2)), atol=1e-2)


def test_ivp_collocation_matches_exact_optimum():
  goal = jnp.array([1.5])
  problem = problem_for(1, transition_score,
                        terminal=lambda m, x: jnp.sum((x - goal) ** 2))
  planner = make_collocation(problem, config())
  x0, beta = jnp.array([0.2]), 2.0
  res = planner.solve({}, x0, jax.random.PRNGKey(0), beta)
  chex.assert_shape(res.theta.xs, (5, 1))

  def surrogate(theta):  # cost + beta * sum_t d_sigma(z_t), d = 1/2 ||x' - x - u||^2
    xs = jnp.concatenate([x0[None], theta.xs])
    r = xs[1:] - xs[:-1] - theta.us
    return (RHO * jnp.sum(theta.us ** 2) + jnp.sum((xs[-1] - goal) ** 2)
            + beta * 0.5 * jnp.sum(r ** 2))
  best = newton_optimum(surrogate, res.theta)
  np.testing.assert_allclose(res.theta.xs, best.xs, atol=1e-2)
  np.testing.assert_allclose(res.theta.us, best.us, atol=1e-2)
  np.testing.assert_allclose(res.states[0], x0)


def test_transcription_matches_exact_optimum():
  goal = jnp.array([1.0, -1.0])
  problem = problem_for(2, gaussian_xu_score,
                        terminal=lambda m, x: jnp.sum((x - goal) ** 2))
  alpha, scale = 3.0, jnp.array([1.0, 2.0])
  planner = make_direct_transcription(problem, config(), alpha=alpha, state_scale=scale)
  x0, beta = jnp.array([0.5, 0.0]), 0.5
  res = planner.solve({}, x0, jax.random.PRNGKey(0), beta)

  def surrogate(theta):  # sigma^2 s = -z: the injected score is grad beta/2 ||z||^2
    xs = jnp.concatenate([x0[None], theta.xs])
    defect = xs[:-1] + theta.us - xs[1:]
    z = jnp.concatenate([xs[:-1], theta.us], -1)
    return (RHO * jnp.sum(theta.us ** 2) + jnp.sum((xs[-1] - goal) ** 2)
            + alpha * jnp.sum(defect ** 2 / scale) + beta * 0.5 * jnp.sum(z ** 2))
  best = newton_optimum(surrogate, res.theta)
  np.testing.assert_allclose(res.theta.xs, best.xs, atol=1e-2)
  np.testing.assert_allclose(res.theta.us, best.us, atol=1e-2)
  assert set(res.history) >= {"loss", "cost", "grad_norm"}


def test_bad_inputs():
  problem = problem_for(2, transition_score)
  with pytest.raises(ValueError, match="x_goal"):
    make_collocation(problem, config(), x_goal=jnp.zeros(3))
  with pytest.raises(ValueError, match="NaN"):
    make_collocation(problem, config(), x_goal=jnp.array([0.0, jnp.nan]))
  with pytest.raises(ValueError, match="horizon"):
    config(horizon=0)
  x0, key = jnp.zeros(2), jax.random.PRNGKey(0)
  # an xu score (dim 4) where collocation needs xux (dim 6)
  xu_score = lambda m, z, l: -z[..., :4]
  wrong = make_collocation(problem._replace(score=xu_score), config(num_iters=2))
  with pytest.raises(ValueError, match="xux"):
    wrong.solve({}, x0, key, 1.0)
  with pytest.raises(ValueError, match="score_sigma"):
    make_collocation(problem._replace(score_sigma=None), config(num_iters=2)).solve(
        {}, x0, key, 1.0)
  with pytest.raises(ValueError, match="sigma must be > 0"):
    make_collocation(problem._replace(score_sigma=lambda m, l: 0.0 * SIGMAS[l]),
                     config(num_iters=2)).solve({}, x0, key, 1.0)
  planner = make_collocation(problem, config(num_iters=2))
  with pytest.raises(ValueError, match="NaN"):
    planner.solve({}, jnp.array([0.0, jnp.nan]), key, 1.0)
  with pytest.raises(ValueError, match="shape"):
    planner.solve({}, jnp.zeros(3), key, 1.0)
  with pytest.raises(ValueError, match="alpha"):
    make_direct_transcription(problem, config(), alpha=-1.0)
  with pytest.raises(ValueError, match="state_scale"):
    make_direct_transcription(problem, config(), state_scale=jnp.zeros(2))
