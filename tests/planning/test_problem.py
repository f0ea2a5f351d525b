"""The control problem: rollout, trajectory cost, make_problem and check_problem."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from helpers import LQ_A, LQ_B, LQ_Q, LQ_QF, LQ_R, lq_models, lq_problem
import sgp_jax
from sgp_jax.normalization import Normalizer
from sgp_jax.planning import (ControlProblem, GradientPlannerConfig, check_problem,
                              make_problem, make_single_shooting, rollout, solve,
                              trajectory_cost)


def test_rollout_and_trajectory_cost_by_hand():
  x0 = np.array([1.0, -0.5], np.float32)
  us = np.array([[0.3], [-0.2], [0.1]], np.float32)
  xs_want = [x0.astype(np.float64)]
  for u in us:
    xs_want.append(LQ_A @ xs_want[-1] + LQ_B @ u)
  xs_want = np.stack(xs_want)
  cost_want = (sum(xs_want[t] @ LQ_Q @ xs_want[t] + us[t] @ LQ_R @ us[t] for t in range(3))
               + xs_want[-1] @ LQ_QF @ xs_want[-1])

  @jax.jit
  def compute(models, x0, us):
    xs = rollout(lq_problem(), models, x0, us)
    return xs, trajectory_cost(lq_problem(), models, xs, us)
  xs, cost = compute(lq_models(), x0, us)
  np.testing.assert_allclose(xs, xs_want, rtol=1e-6)
  np.testing.assert_allclose(cost, cost_want, rtol=1e-6)
  # the running cost sees the step index t; no costs at all give 0
  timed = ControlProblem(dim_x=2, dim_u=1, dynamics=lq_problem().dynamics,
                         running_cost=lambda m, x, u, t: t.astype(jnp.float32))
  np.testing.assert_allclose(trajectory_cost(timed, None, xs, us), 0.0 + 1.0 + 2.0)
  bare = ControlProblem(dim_x=2, dim_u=1, dynamics=lq_problem().dynamics)
  assert float(trajectory_cost(bare, None, xs, us)) == 0.0


class _Dynamics:
  dim_x, dim_u = 2, 1

  def __call__(self, params, x, u):
    return params["a"] * x + jnp.sum(u)


class _Reward:
  def __call__(self, params, x, u):
    return params["w"] * jnp.sum(x)


class _Score:
  num_levels, dim_x, dim_u = 3, 2, 1

  def score(self, params, z, level):
    return -z * params["scale"] * (level + 1)

  def sigma(self, level):
    return 0.1 * (level + 1)


def test_make_problem_from_learned_models():
  """The problem's callables read each model's params under its key in `models`."""
  problem = make_problem(dynamics=_Dynamics(), score=_Score(), reward=_Reward(),
                         running_cost=lambda m, x, u, t: jnp.sum(u ** 2),
                         terminal_cost=lambda m, x: 5.0 * jnp.sum(x))
  models = {"dynamics": {"a": 2.0}, "reward": {"w": 3.0}, "score": {"scale": 0.5}}
  x, u, z = jnp.array([1.0, -2.0]), jnp.array([0.5]), jnp.ones((4, 3))
  assert (problem.dim_x, problem.dim_u, problem.num_levels) == (2, 1, 3)
  np.testing.assert_allclose(problem.dynamics(models, x, u), [2.5, -3.5])
  np.testing.assert_allclose(problem.running_cost(models, x, u, 0), 0.25 - 3.0 * -1.0)
  np.testing.assert_allclose(problem.terminal_cost(models, x), -5.0)
  np.testing.assert_allclose(problem.score(models, z, 2), -1.5 * np.ones((4, 3)))
  np.testing.assert_allclose(problem.score_sigma(models, 1), 0.2)
  # reward alone: the running cost is -r; dims from the score when there is no dynamics
  only_reward = make_problem(dynamics=_Dynamics(), reward=_Reward())
  np.testing.assert_allclose(only_reward.running_cost(models, x, u, 0), 3.0)
  assert only_reward.score is None and only_reward.num_levels == 1
  assert make_problem(score=_Score()).dim_x == 2
  with pytest.raises(ValueError, match="dim_x"):
    make_problem(reward=_Reward())
  check_problem(problem, models, score_kind="xu", sigma=True)


def test_check_problem_names_the_mismatch():
  problem = lq_problem()
  check_problem(problem, lq_models(), score_kind="xu")  # fits
  bad = problem._replace(dynamics=lambda m, x, u: jnp.concatenate([x, u]))
  with pytest.raises(ValueError, match=r"problem.dynamics maps .* expected \(2,\)"):
    check_problem(bad, lq_models())
  with pytest.raises(ValueError, match="needs problem.score"):
    check_problem(problem._replace(score=None), lq_models(), score_kind="xu")
  with pytest.raises(ValueError, match="same shape"):
    check_problem(problem._replace(score=lambda m, z, l: z[..., :1]), lq_models(),
                  score_kind="xu")
  with pytest.raises(ValueError, match="score_sigma"):
    check_problem(problem, lq_models(), sigma=True)
  with pytest.raises(ValueError, match="dim_x and dim_u"):
    check_problem(problem._replace(dim_u=0), lq_models())


def test_mismatched_model_and_planner_dims():
  """Learned models of the wrong size fail before tracing with a ValueError naming the dims."""
  config = GradientPlannerConfig(horizon=3, num_iters=2)
  x0, key = jnp.zeros(2), jax.random.PRNGKey(0)
  # A dynamics model for dim_x = 3 inside a planner for dim_x = 2.
  dyn = sgp_jax.make_dynamics_model(Normalizer.identity(3), Normalizer.identity(1), (8,))
  problem = ControlProblem(dim_x=2, dim_u=1, dynamics=lambda m, x, u: dyn(m, x, u),
                           terminal_cost=lambda m, x: jnp.sum(x ** 2))
  planner = make_single_shooting(problem, config)
  with pytest.raises(ValueError, match=r"dynamics model expects x \(\.\.\., 3\)"):
    solve(planner, dyn.init(key), x0, key, 0.0)
  # An xu score model for (dim_x, dim_u) = (3, 1) scoring (x, u) of dims (2, 1).
  score = sgp_jax.make_score_model("xu", Normalizer.identity(3), Normalizer.identity(1),
                                   [0.1], (8,))
  problem = lq_problem()._replace(score=lambda m, z, level: score.score(m["score"], z, level))
  planner = make_single_shooting(problem, config)
  models = {**lq_models(), "score": score.init(key)}
  with pytest.raises(ValueError, match="expects z of dim 4"):
    solve(planner, models, x0, key, 1.0)
  for sigmas in ([0.0], [-0.1], [0.2, 0.0]):
    with pytest.raises(ValueError, match="sigmas"):
      sgp_jax.make_score_model("xu", Normalizer.identity(2), Normalizer.identity(1),
                               sigmas, (8,))
