"""SGP single shooting (SPEC A.5, A.5a) and loss shooting.

A linear system x' = A x + B u with quadratic cost is the oracle: with beta = 0
the planner must find the least-squares (LQR) optimum; with the Gaussian score
s(z) = -z / var the SGP surrogate's gradient is that of
cost + beta sum_t ||z_t||^2 / (2 var), which is still a least-squares problem
(see helpers.lq_optimum). Everything runs in float32 at a tight tolerance.
"""
import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from helpers import (LQ_A, LQ_B, LQ_Q, LQ_QF, LQ_R, lq_models, lq_optimum, lq_problem,
                     nonlinear_score_setup)
from sgp_jax.planning import (ControlProblem, GradientPlannerConfig, batch_inputs,
                              make_loss_shooting, make_single_shooting, penalized_loss,
                              rollout, shooting_objective, solve, solve_batch,
                              trajectory_cost)

HORIZON = 6
CONFIG = GradientPlannerConfig(horizon=HORIZON, num_iters=800, learning_rate=0.1, init_std=0.0)
X0S = np.array([[1.0, 0.0], [-0.5, 1.0], [2.0, -1.0], [0.3, 0.3]], np.float32)
BETAS = np.array([0.0, 0.0, 1.0, 5.0], np.float32)


def _np_rollout(x0, us):
  xs = [np.asarray(x0, np.float64)]
  for u in np.asarray(us, np.float64):
    xs.append(LQ_A @ xs[-1] + LQ_B @ u)
  return np.stack(xs)


def _np_cost(x0, us):
  xs, us = _np_rollout(x0, us), np.asarray(us, np.float64)
  return (sum(xs[t] @ LQ_Q @ xs[t] + us[t] @ LQ_R @ us[t] for t in range(len(us)))
          + xs[-1] @ LQ_QF @ xs[-1])


@pytest.fixture(scope="module")
def lq_planner():
  return make_single_shooting(lq_problem(), CONFIG)


def test_matches_least_squares_optimum(lq_planner):
  """beta = 0: the LQR optimum (score present but switched off); beta > 0: the
  optimum of cost + beta * (Gaussian -log p), which shows the penalty's sign and scale."""
  x0s, keys, betas = batch_inputs(jnp.asarray(X0S), 0, jnp.asarray(BETAS))
  result = solve_batch(lq_planner, lq_models(), x0s, keys, betas)
  chex.assert_shape(result.actions, (4, HORIZON, 1))
  chex.assert_shape(result.states, (4, HORIZON + 1, 2))
  chex.assert_shape(result.cost, (4,))
  chex.assert_shape(result.history["loss"], (4, CONFIG.num_iters))
  for i, (x0, beta) in enumerate(zip(X0S, BETAS)):
    u_star, cost_star = lq_optimum(x0, HORIZON, beta=float(beta))
    np.testing.assert_allclose(result.actions[i], u_star, rtol=1e-5, atol=1e-4,
                               err_msg=f"x0={x0}, beta={beta}")
    # The reported cost is the task cost of the plan, without the penalty.
    _, task_cost = lq_optimum(x0, HORIZON)  # beta = 0 optimum: a lower bound
    np.testing.assert_allclose(result.cost[i], _np_cost(x0, result.actions[i]), rtol=1e-5)
    if beta == 0:
      np.testing.assert_allclose(result.cost[i], cost_star, rtol=1e-5)
    else:  # the penalty pulls the plan away from the task optimum
      assert result.cost[i] > task_cost * (1 + 1e-3)
    # The predicted states are the model rollout of the planned actions.
    np.testing.assert_allclose(result.states[i], _np_rollout(x0, u_star), rtol=1e-4, atol=1e-4)
    # the last recorded loss is the surrogate at the optimum: cost + beta ||z||^2 / (2 var)
    z = np.concatenate([_np_rollout(x0, u_star)[:-1], u_star], -1)
    np.testing.assert_allclose(result.history["loss"][i, -1],
                               _np_cost(x0, u_star) - float(beta) * np.sum(z * -z / 2.0),
                               rtol=1e-4)
  # beta really changes the answer (for the same x0 the two optima differ).
  u0, _ = lq_optimum(X0S[3], HORIZON, beta=0.0)
  assert np.abs(np.asarray(result.actions[3]) - u0).max() > 1e-2


def test_solve_batch_equals_individual_solves(lq_planner):
  x0s, keys, betas = batch_inputs(jnp.asarray(X0S), 1, jnp.asarray(BETAS))
  batch = solve_batch(lq_planner, lq_models(), x0s, keys, betas)
  for i in (0, 3):
    single = solve(lq_planner, lq_models(), x0s[i], keys[i], betas[i])
    chex.assert_trees_all_close(single.actions, batch.actions[i], rtol=1e-5, atol=1e-6)
    chex.assert_trees_all_close(single.cost, batch.cost[i], rtol=1e-5)


def test_beta_zero_without_score_is_identical(lq_planner):
  """With beta = 0, a planner with the score and one without give the same plan, and
  loss shooting on the plain task loss is the same planner again."""
  plain = make_single_shooting(lq_problem(with_score=False), CONFIG)
  loss = make_loss_shooting(lq_problem(), penalized_loss(lq_problem()), CONFIG)
  key = jax.random.PRNGKey(3)
  a = solve(lq_planner, lq_models(), jnp.asarray(X0S[1]), key, 0.0)
  b = solve(plain, lq_models(), jnp.asarray(X0S[1]), key, 0.0)
  c = solve(loss, lq_models(), jnp.asarray(X0S[1]), key, 1.0)  # no penalty: beta unused
  chex.assert_trees_all_close(a.actions, b.actions, rtol=1e-6, atol=1e-6)
  chex.assert_trees_all_close(c.actions, b.actions, rtol=1e-6, atol=1e-6)


def test_action_box_is_kept():
  """With an action box the plan is the projected-gradient optimum: every action stays
  inside, and the unconstrained LQ optimum (which leaves the box) is not reached."""
  config = GradientPlannerConfig(horizon=HORIZON, num_iters=200, learning_rate=0.1,
                                 init_std=1.0, action_low=-0.5, action_high=0.5)
  planner = make_single_shooting(lq_problem(with_score=False), config)
  x0 = jnp.asarray([2.0, -1.0])
  u_star, _ = lq_optimum(x0, HORIZON)
  assert np.abs(u_star).max() > 0.5
  res = solve(planner, lq_models(), x0, jax.random.PRNGKey(0), 0.0)
  assert float(jnp.max(jnp.abs(res.actions))) <= 0.5
  np.testing.assert_allclose(res.actions, np.clip(res.actions, -0.5, 0.5))
  assert float(jnp.max(jnp.abs(res.history["cost"]))) > 0  # it ran


def test_shooting_loss_gradient_is_cost_gradient_plus_beta_score_term():
  """SPEC A.5a: grad = grad(cost through the model) - beta sum_t J_t^T s(z_t) (no sigma^2)."""
  theta, z_of, score_fn, dynamics, x0 = nonlinear_score_setup()
  problem = ControlProblem(dim_x=2, dim_u=1, dynamics=dynamics,
                           running_cost=lambda m, x, u, t: (1.0 + t) * jnp.sum(u ** 2),
                           terminal_cost=lambda m, x: jnp.sum((x - 1.0) ** 2),
                           score=score_fn)
  objective = shooting_objective(problem)
  beta = 0.7
  cost_of = lambda th: trajectory_cost(problem, None, rollout(problem, None, x0, th), th)

  @jax.jit
  def compute(theta):
    jac = jax.jacobian(z_of)(theta)
    return {
        "grad": jax.grad(lambda th: objective.loss(None, th, x0, beta, 0)[0])(theta),
        "cost_grad": jax.grad(cost_of)(theta),
        "score_term": -jnp.einsum("tiuj,ti->uj", jac, score_fn(None, z_of(theta), 0)),
        "aux_cost": objective.loss(None, theta, x0, beta, 0)[1]["cost"],
        "cost": cost_of(theta),
    }
  out = compute(theta)
  np.testing.assert_allclose(out["grad"], out["cost_grad"] + beta * out["score_term"],
                             rtol=1e-5, atol=1e-6)
  assert np.abs(np.asarray(out["score_term"])).max() > 1e-2  # the score term is not ~0
  np.testing.assert_allclose(out["aux_cost"], out["cost"], rtol=1e-6)
