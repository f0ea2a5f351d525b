"""Direct transcription with a learned model and the xu score (SPEC A.5c).

Decision variables as in collocation (`collocation.Trajectory`; IVP or BVP). The
surrogate objective is

  sum_t c(x_t, u_t, t) + c_T(x_T)
    + alpha sum_t sum_j (1/k_j) (f_hat(x_t, u_t) - x_{t+1})_j^2      (soft dynamics)
    + beta_k sigma_l^2 ( -sum_t <z_t, sg(s(z_t, l))> ),  z_t = (x_t, u_t),

so the score gradient is injected with w = -sigma_l^2 beta_k on u_t and on the
free x_t (t >= 1); x_0 (and x_T for a BVP) are fixed. The weights are 1/k (the
state normaliser's scale), not 1/k^2, as in the reference code. D4RL config:
alpha = 1e4, beta = 1, lr = 0.1, 200 iterations, T = 20.
"""
from __future__ import annotations

from typing import Optional

import jax
import jax.numpy as jnp

from sgp_jax.planning.base import GradientPlannerConfig, Planner, make_gradient_planner
from sgp_jax.planning.collocation import check_goal, direct_objective
from sgp_jax.planning.objectives import injected_score_penalty, trajectory_points
from sgp_jax.planning.problem import ControlProblem, check_problem, trajectory_cost
from sgp_jax.types import Array


def dynamics_defect(problem: ControlProblem, models, xs: Array, us: Array) -> Array:
  """f_hat(x_t, u_t) - x_{t+1} for t < T, shape (T, dim_x)."""
  pred = jax.vmap(problem.dynamics, in_axes=(None, 0, 0))(models, xs[:-1], us)
  return pred - xs[1:]


def make_direct_transcription(problem: ControlProblem, config: GradientPlannerConfig,
                              alpha: float = 1e4, state_scale=None,
                              x_goal: Optional[Array] = None) -> Planner:
  """SGP direct transcription (IVP, or BVP to x_goal).

  Args:
    problem: dynamics (the learned model), costs, and optionally the xu `score`
      with its `score_sigma` (no score: beta has no effect).
    config: the shared gradient-planner settings.
    alpha: weight (>= 0) of the soft dynamics penalty.
    state_scale: k (dim_x,), the state normaliser's scale; the penalty weighs
      dimension j by 1/k_j. None: ones.
    x_goal: fixed terminal state (dim_x,) for a BVP; None for an IVP.

  The aux of the loss also reports "defect" = sum_t ||f_hat(x_t, u_t) - x_{t+1}||^2.
  """
  if not alpha >= 0:
    raise ValueError(f"alpha must be >= 0, got {alpha}.")
  x_goal = check_goal(problem, x_goal)
  if state_scale is None:
    weights = jnp.ones((problem.dim_x,), jnp.float32)
  else:
    state_scale = jnp.asarray(state_scale, jnp.float32)
    if state_scale.shape != (problem.dim_x,) or not bool(jnp.all(state_scale > 0)):
      raise ValueError(f"state_scale must be positive with shape ({problem.dim_x},), "
                       f"got {state_scale}.")
    weights = 1.0 / state_scale

  def loss(models, xs, us, beta, level):
    cost = trajectory_cost(problem, models, xs, us)
    defect = dynamics_defect(problem, models, xs, us)
    total = cost + alpha * jnp.sum(weights * defect ** 2)
    if problem.score is not None:
      z = trajectory_points(xs, us, "xu")
      total = total + beta * injected_score_penalty(problem, models, z, level)
    return total, {"cost": cost, "defect": jnp.sum(defect ** 2)}

  with_score = problem.score is not None
  return make_gradient_planner(
      direct_objective(problem, loss, x_goal), config, dim_x=problem.dim_x,
      num_levels=problem.num_levels,
      check_models=lambda models: check_problem(
          problem, models, score_kind="xu" if with_score else None, sigma=with_score,
          name="direct transcription"),
      initial_value=x_goal is None)


__all__ = ["dynamics_defect", "make_direct_transcription"]
