"""The gradient-planner contract and SGP single shooting (SPEC A.5, A.5a, A.6).

A linear system x' = A x + B u with quadratic cost is the oracle: with beta = 0
the planner must find the least-squares (LQR) optimum; with the Gaussian score
s(z) = -z / var the SGP surrogate's gradient is that of
cost + beta sum_t ||z_t||^2 / (2 var), which is still a least-squares problem
(see conftest.lq_optimum). Everything runs in float32 at a tight tolerance.
"""
import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import LQ_A, LQ_B, LQ_Q, LQ_QF, LQ_R, lq_models, lq_optimum, lq_problem
from sgp_jax.distance import empirical_score
from sgp_jax.dynamics import make_dynamics_model
from sgp_jax.normalization import Normalizer
from sgp_jax.planning.core import (GradientPlanner, GradientPlannerConfig, batch_inputs,
                                   score_penalty)
from sgp_jax.planning.shooting import (ControlProblem, make_single_shooting, rollout,
                                       shooting_objective, trajectory_cost)
from sgp_jax.score import make_score_model

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


# ------------------------------------------------------------ optimality
def test_matches_least_squares_optimum(lq_planner):
  """beta = 0: the LQR optimum (score present but switched off); beta > 0: the
  optimum of cost + beta * (Gaussian -log p), which shows the penalty's sign and scale."""
  x0s, keys, betas = batch_inputs(jnp.asarray(X0S), 0, jnp.asarray(BETAS))
  result = lq_planner.solve_batch(lq_models(), x0s, keys, betas)
  chex.assert_shape(result.actions, (4, HORIZON, 1))
  chex.assert_shape(result.states, (4, HORIZON + 1, 2))
  chex.assert_shape(result.cost, (4,))
  chex.assert_shape(result.history["loss"], (4, CONFIG.num_iters))
  chex.assert_tree_all_finite(result)
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
  # beta really changes the answer (for the same x0 the two optima differ).
  u0, _ = lq_optimum(X0S[3], HORIZON, beta=0.0)
  assert np.abs(np.asarray(result.actions[3]) - u0).max() > 1e-2


def test_beta_zero_without_score_is_identical(lq_planner):
  """With beta = 0, a planner with the score and one without give the same plan."""
  plain = make_single_shooting(lq_problem(with_score=False), CONFIG)
  key = jax.random.PRNGKey(3)
  a = lq_planner.solve(lq_models(), jnp.asarray(X0S[1]), key, 0.0)
  b = plain.solve(lq_models(), jnp.asarray(X0S[1]), key, 0.0)
  chex.assert_trees_all_close(a.actions, b.actions, rtol=1e-6, atol=1e-6)


def test_solve_batch_equals_individual_solves(lq_planner):
  x0s, keys, betas = batch_inputs(jnp.asarray(X0S), 1, jnp.asarray(BETAS))
  batch = lq_planner.solve_batch(lq_models(), x0s, keys, betas)
  for i in (0, 3):
    single = lq_planner.solve(lq_models(), x0s[i], keys[i], betas[i])
    chex.assert_trees_all_close(single.actions, batch.actions[i], rtol=1e-5, atol=1e-6)
    chex.assert_trees_all_close(single.cost, batch.cost[i], rtol=1e-5)


# ------------------------------------------------------------ compilation
def _counted_planner(config):
  """A single-shooting planner whose init_theta may be traced only once.

  init_theta runs exactly once per trace of a solve, so this counts compiles.
  """
  objective = shooting_objective(lq_problem())
  objective = objective._replace(init_theta=chex.assert_max_traces(objective.init_theta, n=1))
  return GradientPlanner(objective, config, num_levels=1, dim_x=2)


def test_one_compile_per_shape_solve():
  config = GradientPlannerConfig(horizon=4, num_iters=20, learning_rate=0.1)
  planner = _counted_planner(config)
  for i in range(4):  # new x0, key, beta (python and array) and model values each time
    planner.solve(lq_models(var=1.0 + i, a=LQ_A * (1 + 0.1 * i)),
                  jnp.asarray([float(i), -1.0]), jax.random.PRNGKey(i),
                  [0.5, 1.0, np.float32(2.0), jnp.asarray(3.0)][i])
  assert planner._solve_jit._cache_size() == 1
  # The counter does catch a retrace: a models pytree of another structure.
  with pytest.raises(AssertionError, match="traced > 1 times"):
    planner.solve({**lq_models(), "extra": jnp.zeros(3)}, jnp.asarray([1.0, 0.0]),
                  jax.random.PRNGKey(0), 1.0)


def test_one_compile_per_shape_solve_batch():
  config = GradientPlannerConfig(horizon=4, num_iters=20, learning_rate=0.1)
  planner = _counted_planner(config)
  for seed in range(3):
    x0s = jax.random.normal(jax.random.PRNGKey(seed), (5, 2))
    planner.solve_batch(*((lq_models(var=1.0 + seed),) + batch_inputs(x0s, seed, 0.1 * seed)))
  assert planner._solve_batch_jit._cache_size() == 1


# ------------------------------------------------------------ jit == no jit
def test_jit_and_no_jit_agree():
  config = GradientPlannerConfig(horizon=3, num_iters=3, learning_rate=0.1, init_std=0.3,
                                 beta_schedule="cosine", beta_min=0.2)
  planner = make_single_shooting(lq_problem(), config)
  models, x0, key = lq_models(), jnp.asarray([0.7, -0.2]), jax.random.PRNGKey(5)
  jitted = planner.solve(models, x0, key, 2.0)
  with jax.disable_jit():
    eager = planner.solve_traced(models, x0, key, jnp.asarray(2.0, jnp.float32))
  chex.assert_trees_all_close(jitted, eager, rtol=1e-5, atol=1e-6)
  # And they did something: the plan moved away from its random start.
  start = planner.init(models, x0, key).theta
  assert np.abs(np.asarray(jitted.actions) - np.asarray(start)).max() > 1e-2


# ------------------------------------------------------------ bad inputs
def test_bad_inputs_raise_clear_errors(lq_planner):
  models, key = lq_models(), jax.random.PRNGKey(0)
  with pytest.raises(ValueError, match="horizon"):
    GradientPlannerConfig(horizon=0)
  with pytest.raises(ValueError, match="num_iters"):
    GradientPlannerConfig(num_iters=0)
  with pytest.raises(ValueError, match="learning_rate"):
    GradientPlannerConfig(learning_rate=0.0)
  with pytest.raises(ValueError, match="NaN"):
    lq_planner.solve(models, jnp.asarray([np.nan, 0.0]), key, 1.0)
  with pytest.raises(ValueError, match="NaN"):
    lq_planner.solve_batch(models, *batch_inputs(jnp.asarray([[0.0, 0.0], [np.inf, 1.0]]),
                                                 0, 1.0))
  with pytest.raises(ValueError, match=r"x0 must have shape \(2,\)"):
    lq_planner.solve(models, jnp.zeros(3), key, 1.0)
  with pytest.raises(ValueError, match="x0s must have shape"):
    lq_planner.solve_batch(models, jnp.zeros(2), key[None], jnp.ones(1))
  with pytest.raises(ValueError, match="batch size"):
    lq_planner.solve_batch(models, jnp.zeros((3, 2)), jax.random.split(key, 2), jnp.ones(3))
  for sigmas in ([0.0], [-0.1], [0.2, 0.0]):
    with pytest.raises(ValueError, match="sigmas"):
      make_score_model("xu", Normalizer.identity(2), Normalizer.identity(1), sigmas, (8,))


def test_mismatched_model_and_planner_dims():
  """Learned models of the wrong size fail at trace time with a ValueError naming the dims."""
  config = GradientPlannerConfig(horizon=3, num_iters=2)
  x0, key = jnp.zeros(2), jax.random.PRNGKey(0)
  # A dynamics model for dim_x = 3 inside a planner for dim_x = 2.
  dyn = make_dynamics_model(Normalizer.identity(3), Normalizer.identity(1), (8,))
  problem = ControlProblem(dim_x=2, dim_u=1, dynamics=lambda m, x, u: dyn(m, x, u),
                           terminal_cost=lambda m, x: jnp.sum(x ** 2))
  planner = make_single_shooting(problem, config)
  with pytest.raises(ValueError, match=r"dynamics model expects x \(\.\.\., 3\)"):
    planner.solve(dyn.init(key), x0, key, 0.0)
  # An xu score model for (dim_x, dim_u) = (3, 1) scoring (x, u) of dims (2, 1).
  score = make_score_model("xu", Normalizer.identity(3), Normalizer.identity(1), [0.1], (8,))
  problem = lq_problem()._replace(score=lambda m, z, level: score.score(m["score"], z, level))
  planner = make_single_shooting(problem, config)
  models = {**lq_models(), "score": score.init(key)}
  with pytest.raises(ValueError, match="expects z of dim 4"):
    planner.solve(models, x0, key, 1.0)


# ------------------------------------------------------------ the score penalty
def _nonlinear_setup():
  """A nonlinear rollout z(theta) and a nonlinear score, both with known Jacobians by autodiff."""
  rng = np.random.default_rng(0)
  data = jnp.asarray(rng.normal(size=(9, 3)), jnp.float32)
  theta = jnp.asarray(rng.normal(size=(4, 1)), jnp.float32)
  x0 = jnp.asarray([0.3, -0.4])

  def dynamics(models, x, u):
    return jnp.stack([x[0] + 0.1 * jnp.sin(x[1]), x[1] + 0.1 * jnp.tanh(u[0] + x[0])])

  def z_of(us):
    problem = ControlProblem(dim_x=2, dim_u=1, dynamics=dynamics)
    xs = rollout(problem, None, x0, us)
    return jnp.concatenate([xs[:-1], us], -1)  # (T, 3)

  def score_fn(models, z, level):  # the exact score of a KDE of `data`, sigma 0.7
    return empirical_score(z, data, 0.7)
  return theta, z_of, score_fn, dynamics, x0


def test_score_penalty_gradient_is_minus_jt_s():
  theta, z_of, score_fn, _, _ = _nonlinear_setup()

  @jax.jit
  def compute(theta):
    z = z_of(theta)
    s = score_fn(None, z, 0)
    jac = jax.jacobian(z_of)(theta)  # (T, dim_z, T, dim_u)
    return {
        "grad": jax.grad(lambda th: score_penalty(score_fn, None, z_of(th), 0))(theta),
        "expected": -jnp.einsum("tiuj,ti->uj", jac, s),
        "value": score_penalty(score_fn, None, z, 0),
        "inner": -jnp.sum(z * s),
        # Full autodiff of the same expression, which also differentiates s.
        "full": jax.grad(lambda th: -jnp.sum(z_of(th) * score_fn(None, z_of(th), 0)))(theta),
    }
  out = compute(theta)
  chex.assert_shape(out["grad"], theta.shape)
  np.testing.assert_allclose(out["grad"], out["expected"], rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(out["value"], out["inner"], rtol=1e-6)
  # The stop-gradient matters: dropping it gives a different gradient.
  assert np.abs(np.asarray(out["full"]) - np.asarray(out["expected"])).max() > 1e-3


def test_shooting_loss_gradient_is_cost_gradient_plus_beta_score_term():
  """SPEC A.5a: grad = grad(cost through the model) - beta sum_t J_t^T s(z_t) (no sigma^2)."""
  theta, z_of, score_fn, dynamics, x0 = _nonlinear_setup()
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
