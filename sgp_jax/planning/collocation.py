"""Direct collocation with the transition score and no dynamics model (SPEC A.5b).

Decision variables theta = Trajectory(xs, us):
  IVP (x_goal None):  xs = x_{1:T}   (T, dim_x),   us = u_{0:T-1} (T, dim_u); x_0 fixed;
  BVP (x_goal given): xs = x_{1:T-1} (T-1, dim_x), us as above;     x_0, x_T fixed.

The task cost is evaluated on the decision variables directly, and the only
knowledge of the dynamics is the (x, u, x') score s of the data's transitions.
The surrogate objective is

  sum_t c(x_t, u_t, t) + c_T(x_T) + beta_k sigma_l^2 ( -sum_t <z_t, sg(s(z_t, l))> ),

z_t = (x_t, u_t, x_{t+1}), l = l(k) the annealed level and sigma_l the score's
noise level at l (in its normalised units; the paper's factor). Its autodiff
gradient adds w s_u(z_t) to u_t, w s_x(z_t) to x_t and w s_x'(z_{t-1}) to x_t
with w = -sigma_l^2 beta_k: exactly the reference code's gradient injection, and
gradient descent on cost + beta sum_t d_sigma(z_t), since grad d = -sigma^2 s.

Initial guess: xs the straight line x_0 -> x_T (BVP) or x_0 repeated (IVP);
us = init_std * N(0, 1). `ControlProblem.score` here is the xux score and
`ControlProblem.score_sigma` its noise level; `problem.dynamics` is not used.
"""
from __future__ import annotations

from typing import NamedTuple, Optional

import jax
import jax.numpy as jnp

from sgp_jax.planning.base import (GradientPlannerConfig, Objective, Planner, clip_actions,
                                   make_gradient_planner)
from sgp_jax.planning.objectives import injected_score_penalty, trajectory_points
from sgp_jax.planning.problem import ControlProblem, check_problem, trajectory_cost
from sgp_jax.types import Array


class Trajectory(NamedTuple):
  """Decision states and actions of a direct method (see module docstring)."""
  xs: Array  # (T, dim_x) IVP or (T-1, dim_x) BVP
  us: Array  # (T, dim_u)


def all_states(theta: Trajectory, x0: Array, x_goal: Optional[Array]) -> Array:
  """x_0..x_T, shape (T+1, dim_x): the boundary states around the decision states."""
  parts = [x0[None], theta.xs]
  if x_goal is not None:
    parts.append(x_goal[None])
  return jnp.concatenate(parts, 0)


def initial_trajectory(problem: ControlProblem, x0: Array, key,
                       config: GradientPlannerConfig,
                       x_goal: Optional[Array] = None) -> Trajectory:
  """Straight line x_0 -> x_T (BVP) or x_0 repeated (IVP); us = init_std N(0, 1)."""
  T = config.horizon
  if x_goal is None:
    xs = jnp.broadcast_to(x0, (T, problem.dim_x))
  else:
    frac = (jnp.arange(1, T) / T)[:, None]
    xs = x0[None] + frac * (x_goal - x0)[None]
  us = config.init_std * jax.random.normal(key, (T, problem.dim_u))
  return Trajectory(xs=xs.astype(x0.dtype), us=clip_actions(us, config))


def direct_objective(problem: ControlProblem, loss, x_goal: Optional[Array]) -> Objective:
  """The Objective of a direct method whose surrogate is loss(models, xs, us, beta, level)."""
  def init_theta(models, x0, key, config):
    return initial_trajectory(problem, x0, key, config, x_goal)

  def objective_loss(models, theta, x0, beta, level):
    return loss(models, all_states(theta, x0, x_goal), theta.us, beta, level)

  def extract(models, theta, x0):
    return theta.us, all_states(theta, x0, x_goal)

  def project(theta, config):
    return theta._replace(us=clip_actions(theta.us, config))

  return Objective(init_theta, objective_loss, extract, project)


def check_goal(problem: ControlProblem, x_goal) -> Optional[Array]:
  if x_goal is None:
    return None
  x_goal = jnp.asarray(x_goal, jnp.float32)
  if x_goal.shape != (problem.dim_x,):
    raise ValueError(f"x_goal must have shape ({problem.dim_x},), got {x_goal.shape}.")
  if not bool(jnp.all(jnp.isfinite(x_goal))):
    raise ValueError("x_goal contains NaN or inf.")
  return x_goal


def make_collocation(problem: ControlProblem, config: GradientPlannerConfig,
                     x_goal: Optional[Array] = None) -> Planner:
  """SGP direct collocation with the xux score (IVP, or BVP to x_goal).

  Args:
    problem: costs, `score` = the (x, u, x') score in raw units, `score_sigma`
      its noise level per level, `num_levels`.
    config: the shared gradient-planner settings (horizon, iterations, lr, ...).
    x_goal: fixed terminal state (dim_x,) for a BVP; None for an IVP.

  Returns:
    a planner (`initial_value` False for a BVP); `solve(planner, models, x0, key,
    beta)` returns actions (T, dim_u) and states (T+1, dim_x) = the decision states
    with the boundary states.
  """
  x_goal = check_goal(problem, x_goal)

  def loss(models, xs, us, beta, level):
    cost = trajectory_cost(problem, models, xs, us)
    z = trajectory_points(xs, us, "xux")
    return cost + beta * injected_score_penalty(problem, models, z, level), {"cost": cost}

  return make_gradient_planner(
      direct_objective(problem, loss, x_goal), config, dim_x=problem.dim_x,
      num_levels=problem.num_levels,
      check_models=lambda models: check_problem(problem, models, dynamics=False,
                                                score_kind="xux", sigma=True,
                                                name="collocation"),
      initial_value=x_goal is None)


__all__ = ["Trajectory", "all_states", "initial_trajectory", "direct_objective",
           "check_goal", "make_collocation"]
