"""Feedback-policy optimisation (SPEC A.8) on a linear system with a known LQR optimum."""
import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sgp_jax.planning import (PolicyConfig, PolicyOptimizer, affine_policy, mlp_policy,
                              open_loop_policy)
from helpers import LQR_A as A, LQR_B as B, LQR_PROBLEM, riccati

T = 8
BOX = dict(x0_low=(-1.0, -1.0), x0_high=(1.0, 1.0))


def test_first_order_affine_policy_reaches_lqr_optimum():
  config = PolicyConfig(horizon=T, num_iters=400, learning_rate=0.05, batch_size=32,
                        **BOX)
  opt = PolicyOptimizer(LQR_PROBLEM, affine_policy(T, 2, 1), config)
  res = opt.solve({}, jax.random.PRNGKey(0), 0.0)
  chex.assert_shape(res.params["K"], (T, 1, 2))
  chex.assert_shape(res.history["cost"], (400,))
  x0s = jax.random.uniform(jax.random.PRNGKey(7), (256, 2), minval=-1.0, maxval=1.0)
  K, P = riccati(T)
  lqr = np.einsum("bi,ij,bj->b", np.asarray(x0s), P[0], np.asarray(x0s))
  costs = np.asarray(opt.evaluate({}, res.params, x0s))
  assert np.mean(costs) < 1.02 * np.mean(lqr), (np.mean(costs), np.mean(lqr))
  np.testing.assert_allclose(res.params["K"], -np.stack(K), atol=0.2)
  # zero policy for comparison: the optimiser did real work
  zero = np.mean(np.asarray(opt.evaluate({}, jax.tree_util.tree_map(
      jnp.zeros_like, res.params), x0s)))
  assert np.mean(costs) < 0.8 * zero


def test_zeroth_order_estimator_is_the_formula_and_reduces_cost():
  std, batch = 0.2, 16
  # initial states off the origin, so that the best open-loop plan is not u = 0
  config = PolicyConfig(horizon=T, num_iters=150, learning_rate=0.05, batch_size=batch,
                        noise_std=std, gradient="zeroth_order", x0_low=(0.5, 0.5),
                        x0_high=(1.0, 1.0))
  opt = PolicyOptimizer(LQR_PROBLEM, open_loop_policy(T, 2, 1), config)
  # the surrogate's gradient, by hand: (1/(B std^2)) sum_i [V_i(w) - V_i(0)] w_i
  params = 0.1 * jnp.arange(T, dtype=jnp.float32)[:, None]
  x0s = jax.random.uniform(jax.random.PRNGKey(1), (batch, 2), minval=-1.0, maxval=1.0)
  noise = std * jax.random.normal(jax.random.PRNGKey(2), (batch, T, 1))
  grad = jax.jit(jax.grad(lambda p: opt.loss({}, p, x0s, noise, 0.0, 0)[0]))(params)

  def cost(x0, us):
    xs = [np.asarray(x0, np.float64)]
    total = 0.0
    for u in np.asarray(us, np.float64):
      total += xs[-1] @ xs[-1] + 0.1 * u @ u
      xs.append(A @ xs[-1] + B @ u)
    return total + 2 * xs[-1] @ xs[-1]
  adv = np.array([cost(x0s[i], params + noise[i]) - cost(x0s[i], params)
                  for i in range(batch)])
  want = np.einsum("b,btj->tj", adv, np.asarray(noise)) / (batch * std ** 2)
  np.testing.assert_allclose(grad, want, rtol=1e-3, atol=1e-4)

  res = opt.solve({}, jax.random.PRNGKey(0), 0.0)
  first, last = res.history["cost"][:5].mean(), res.history["cost"][-5:].mean()
  assert last < 0.8 * first, (first, last)
  chex.assert_tree_all_finite(res)


def test_mlp_policy_with_score_clamp_and_batch():
  problem = LQR_PROBLEM._replace(score=lambda m, z, level: -z)  # N(0, I) on (x, u)
  config = PolicyConfig(horizon=T, num_iters=20, learning_rate=1e-2, batch_size=8,
                        noise_std=0.05, clamp="tanh", action_low=-0.5, action_high=0.5,
                        **BOX)
  opt = PolicyOptimizer(problem, mlp_policy(2, 1, (16, 16)), config)
  res = opt.solve_batch({}, jax.random.split(jax.random.PRNGKey(0), 2),
                        jnp.array([0.0, 1.0]))
  chex.assert_shape(res.cost, (2,))
  chex.assert_shape(res.history["loss"], (2, 20))
  chex.assert_tree_all_finite(res)
  params = jax.tree_util.tree_map(lambda a: a[0], res.params)
  for x in ([50.0, 50.0], [-50.0, -50.0], [0.0, 0.0]):
    assert np.all(np.abs(opt.act(params, jnp.array(x), 0)) <= 0.5)


def test_bad_inputs():
  with pytest.raises(ValueError, match="noise_std"):
    PolicyConfig(horizon=T, gradient="zeroth_order", noise_std=0.0, **BOX)
  with pytest.raises(ValueError, match="x0_low"):
    PolicyConfig(horizon=T, x0_low=(1.0, 0.0), x0_high=(0.0, 1.0))
  with pytest.raises(ValueError, match="horizon"):
    PolicyConfig(horizon=0, **BOX)
  with pytest.raises(ValueError, match="action_low"):
    PolicyConfig(horizon=T, clamp="hard", **BOX)
  config = PolicyConfig(horizon=T, **BOX)
  with pytest.raises(ValueError, match="dims"):
    PolicyOptimizer(LQR_PROBLEM, affine_policy(T, 3, 1), config)
  with pytest.raises(ValueError, match="covers"):
    PolicyOptimizer(LQR_PROBLEM, open_loop_policy(T - 1, 2, 1), config)
  with pytest.raises(ValueError, match="x0_low"):
    PolicyOptimizer(LQR_PROBLEM, affine_policy(T, 2, 1),
                    PolicyConfig(horizon=T, x0_low=(0.0,), x0_high=(1.0,)))


@pytest.mark.parametrize("gradient", ["first_order", "zeroth_order"])
def test_score_term_gradient_is_beta_times_minus_jt_s(gradient):
  """SPEC A.8 "DRisk": the score term adds beta * mean_i (-sum_t J_it^T s(z_it)) to the
  gradient (no sigma^2), back-propagated through the dynamics in both modes. Linear model,
  open-loop policy u_t = k_t + w_t and the exact score s(z) = -z / var of N(0, var I),
  so J_t = dz_t/dk is known: dx_t/dk_s = A^(t-1-s) B (s < t), du_t/dk_s = I (s = t)."""
  var, beta, batch, horizon = 2.0, 0.7, 3, 4
  problem = LQR_PROBLEM._replace(score=lambda m, z, level: -z / var)
  config = PolicyConfig(horizon=horizon, num_iters=1, batch_size=batch, noise_std=0.1,
                        gradient=gradient, **BOX)
  opt = PolicyOptimizer(problem, open_loop_policy(horizon, 2, 1), config)
  params = 0.2 * jnp.arange(horizon, dtype=jnp.float32)[:, None] - 0.3
  x0s = jax.random.uniform(jax.random.PRNGKey(1), (batch, 2), minval=-1.0, maxval=1.0)
  noise = 0.1 * jax.random.normal(jax.random.PRNGKey(2), (batch, horizon, 1))
  grad = jax.jit(jax.grad(lambda p, b: opt.loss({}, p, x0s, noise, b, 0)[0]))
  score_term = np.asarray(grad(params, beta)) - np.asarray(grad(params, 0.0))

  want = np.zeros((horizon, 1))
  for i in range(batch):
    us = np.asarray(params + noise[i], np.float64)
    xs = [np.asarray(x0s[i], np.float64)]
    for u in us:
      xs.append(A @ xs[-1] + B @ u)
    s_x = [-x / var for x in xs[:horizon]]  # the score's x and u blocks at z_t
    s_u = [-u / var for u in us]
    for s in range(horizon):
      jt_s = s_u[s] + sum((np.linalg.matrix_power(A, t - 1 - s) @ B).T @ s_x[t]
                          for t in range(s + 1, horizon))
      want[s] -= jt_s / batch
  np.testing.assert_allclose(score_term, beta * want, rtol=1e-4, atol=1e-6)
  assert np.abs(want).max() > 1e-2  # not vacuous
