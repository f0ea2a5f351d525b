"""MPC (SPEC A.7): with the true linear model it reproduces receding-horizon LQR."""
import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sgp_jax.planning import (MPC, ControlProblem, GradientPlannerConfig,
                              SamplingPlannerConfig, make_cem, make_collocation,
                              make_single_shooting, penalized_loss, shift_plan)

A = np.array([[1.0, 0.1], [0.0, 1.0]], np.float32)
B = np.array([[0.005], [0.1]], np.float32)
Q, R, QF = np.eye(2, dtype=np.float32), 0.1 * np.eye(1, dtype=np.float32), 2 * np.eye(2)
T = 8


def riccati(horizon):
  """Finite-horizon LQR: gains K_0..K_{T-1} and cost-to-go matrices P_0..P_T."""
  P = [None] * (horizon + 1)
  K = [None] * horizon
  P[horizon] = QF
  for t in reversed(range(horizon)):
    K[t] = np.linalg.solve(R + B.T @ P[t + 1] @ B, B.T @ P[t + 1] @ A)
    P[t] = Q + A.T @ P[t + 1] @ (A - B @ K[t])
  return K, P


def step(x, u):
  return jnp.asarray(A) @ x + jnp.asarray(B) @ u


LQR_PROBLEM = ControlProblem(
    dim_x=2, dim_u=1, dynamics=lambda m, x, u: step(x, u),
    running_cost=lambda m, x, u, t: x @ jnp.asarray(Q) @ x + u @ jnp.asarray(R) @ u,
    terminal_cost=lambda m, x: x @ jnp.asarray(QF) @ x)


def test_mpc_tracks_receding_horizon_lqr():
  planner = make_single_shooting(LQR_PROBLEM, GradientPlannerConfig(
      horizon=T, num_iters=300, learning_rate=0.05, record_history=False))
  mpc = MPC(planner, step, num_steps=10, warm_start=True)
  x0s = jnp.array([[1.0, 0.5], [-0.5, 1.0]])
  res = mpc.run_batch({}, x0s, jax.random.split(jax.random.PRNGKey(0), 2), jnp.zeros(2))
  chex.assert_shape(res.states, (2, 11, 2))
  chex.assert_shape(res.actions, (2, 10, 1))
  chex.assert_shape(res.plan_actions, (2, 10, T, 1))
  chex.assert_shape(res.plan_costs, (2, 10))
  K, P = riccati(T)
  for i in range(2):
    x = np.asarray(x0s[i], np.float64)
    xs, us = [x], []
    for _ in range(10):  # receding horizon: always the first gain
      us.append(-K[0] @ x)
      x = A @ x + B @ us[-1]
      xs.append(x)
    np.testing.assert_allclose(res.actions[i], np.array(us), atol=5e-3)
    np.testing.assert_allclose(res.states[i], np.array(xs), atol=5e-3)
    # each replan's cost is the LQR cost-to-go x' P_0 x of the state it started from
    want = np.einsum("ti,ij,tj->t", np.array(xs[:-1]), P[0], np.array(xs[:-1]))
    np.testing.assert_allclose(res.plan_costs[i], want, rtol=1e-3, atol=1e-4)


def test_shift_plan_repeats_last():
  theta = {"us": jnp.arange(4.0)[:, None], "xs": jnp.arange(8.0).reshape(4, 2)}
  out = shift_plan(theta)
  np.testing.assert_array_equal(out["us"][:, 0], [1, 2, 3, 3])
  np.testing.assert_array_equal(out["xs"], [[2, 3], [4, 5], [6, 7], [6, 7]])


def test_mpc_runs_a_sampling_planner_and_rejects_bad_inputs():
  cem = make_cem(LQR_PROBLEM, penalized_loss(LQR_PROBLEM), SamplingPlannerConfig(
      horizon=T, num_iters=5, num_samples=16, num_elites=4, record_history=False))
  res = MPC(cem, step, num_steps=3, warm_start=False).run(
      {}, jnp.array([1.0, 0.0]), jax.random.PRNGKey(0), 0.0)
  chex.assert_shape(res.states, (4, 2))
  chex.assert_tree_all_finite(res)
  with pytest.raises(ValueError, match="NaN"):
    MPC(cem, step, num_steps=3).run({}, jnp.array([jnp.nan, 0.0]),
                                    jax.random.PRNGKey(0), 0.0)
  with pytest.raises(ValueError, match="num_steps"):
    MPC(cem, step, num_steps=0)
  bvp = make_collocation(LQR_PROBLEM._replace(score=lambda m, z, l: -z,
                                              score_sigma=lambda m, l: 1.0),
                         GradientPlannerConfig(horizon=T), x_goal=jnp.zeros(2))
  with pytest.raises(ValueError, match="x_goal"):
    MPC(bvp, step, num_steps=3)
