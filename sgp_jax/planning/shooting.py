"""SGP single shooting (SPEC A.5a).

Decision variables: the actions u_{0:T-1}. The states come from rolling the
learned dynamics from the fixed x0. The surrogate objective is

  sum_t c(x_t, u_t, t) + c_T(x_T) + beta_k * ( -sum_t <z_t, sg(s(z_t, l_k))> ),

z_t = (x_t, u_t), so its gradient is the cost gradient through the model plus
beta times the score back-propagated through the model (no sigma^2 factor: beta
multiplies -log p directly). With beta = 0 it is plain gradient-based shooting.
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp

from sgp_jax.planning.core import (GradientPlannerConfig, Objective, clip_actions,
                                   score_penalty)
from sgp_jax.planning.validation import ValidatedPlanner, check_problem
from sgp_jax.types import Array

DynamicsFn = Callable  # (models, x (dim_x,), u (dim_u,)) -> x' (dim_x,)
RunningCostFn = Callable  # (models, x, u, t) -> scalar
TerminalCostFn = Callable  # (models, x) -> scalar
ScoreFn = Callable  # (models, z (..., dim_z), level) -> score (..., dim_z)


class ControlProblem(NamedTuple):
  """A finite-horizon problem under a (learned) model; the callables are static.

  dynamics(models, x, u) -> x'        one step, unbatched.
  running_cost(models, x, u, t) -> c  or None.
  terminal_cost(models, x) -> c_T     or None.
  score(models, z, level) -> s        the (x, u) score in raw units, or None.
    (Collocation reads it as the transition (x, u, x') score.)
  num_levels: the score's number of noise levels.
  score_sigma(models, level) -> sigma_l  the score's noise level in its normalised
    units, or None; planners that inject sigma^2 beta s (collocation, direct
    transcription) need it.
  """
  dim_x: int
  dim_u: int
  dynamics: DynamicsFn
  running_cost: Optional[RunningCostFn] = None
  terminal_cost: Optional[TerminalCostFn] = None
  score: Optional[ScoreFn] = None
  num_levels: int = 1
  score_sigma: Optional[Callable] = None


ROLLOUT_UNROLL = 10  # scan unrolling: fewer loop trips for small per-step work (measured)


def rollout(problem: ControlProblem, models, x0: Array, us: Array) -> Array:
  """States x_0..x_T, shape (T+1, dim_x), of the actions us (T, dim_u)."""
  def step(x, u):
    x_next = problem.dynamics(models, x, u)
    return x_next, x_next
  _, xs = jax.lax.scan(step, x0, us, unroll=ROLLOUT_UNROLL)
  return jnp.concatenate([x0[None], xs], 0)


def trajectory_cost(problem: ControlProblem, models, xs: Array, us: Array) -> Array:
  """sum_t c(x_t, u_t, t) + c_T(x_T) for xs (T+1, dim_x), us (T, dim_u)."""
  total = jnp.zeros(())
  if problem.running_cost is not None:
    t = jnp.arange(us.shape[0])
    total += jnp.sum(jax.vmap(problem.running_cost, in_axes=(None, 0, 0, 0))(
        models, xs[:-1], us, t))
  if problem.terminal_cost is not None:
    total += problem.terminal_cost(models, xs[-1])
  return total


def shooting_objective(problem: ControlProblem) -> Objective:
  def init_theta(models, x0, key, config: GradientPlannerConfig):
    u = config.init_std * jax.random.normal(key, (config.horizon, problem.dim_u))
    return clip_actions(u, config)

  def loss(models, us, x0, beta, level):
    xs = rollout(problem, models, x0, us)
    cost = trajectory_cost(problem, models, xs, us)
    total = cost
    if problem.score is not None:
      z = jnp.concatenate([xs[:-1], us], -1)
      total = total + beta * score_penalty(problem.score, models, z, level)
    return total, {"cost": cost}

  def extract(models, us, x0):
    return us, rollout(problem, models, x0, us)

  return Objective(init_theta=init_theta, loss=loss, extract=extract,
                   project=lambda us, config: clip_actions(us, config))


def make_single_shooting(problem: ControlProblem,
                         config: GradientPlannerConfig) -> ValidatedPlanner:
  """The SGP single-shooting planner for `problem` (see module docstring).

  Each public solve first checks the problem against the models (`check_problem`:
  the dynamics' and the xu score's shapes), raising a ValueError that names them.
  """
  score_kind = "xu" if problem.score is not None else None
  return ValidatedPlanner(
      shooting_objective(problem), config, num_levels=problem.num_levels,
      dim_x=problem.dim_x,
      validate=lambda models: check_problem(problem, models, score_kind=score_kind,
                                            name="single shooting"))
