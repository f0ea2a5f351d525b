"""Single shooting: the actions are the decision variables, the states a model rollout.

SGP single shooting (SPEC A.5a). The states come from rolling the learned dynamics
from the fixed x0. The surrogate objective is

  sum_t c(x_t, u_t, t) + c_T(x_T) + beta_k * ( -sum_t <z_t, sg(s(z_t, l_k))> ),

z_t = (x_t, u_t), so its gradient is the cost gradient through the model plus
beta times the score back-propagated through the model (no sigma^2 factor: beta
multiplies -log p directly). With beta = 0 it is plain gradient-based shooting.

Loss shooting (SPEC A.5d, A.9): the same planner on any `objectives.TrajectoryLoss`
(the ensemble and distance baselines).
"""
from __future__ import annotations

import jax

from sgp_jax.planning.base import (GradientPlannerConfig, Objective, Planner, clip_actions,
                                   make_gradient_planner)
from sgp_jax.planning.objectives import TrajectoryLoss, score_penalty, trajectory_points
from sgp_jax.planning.problem import (ControlProblem, check_problem, rollout,
                                      trajectory_cost)
from sgp_jax.types import Array


def initial_actions(problem: ControlProblem, key, config) -> Array:
  """init_std * N(0, 1) actions (T, dim_u), projected on the config's action box."""
  u = config.init_std * jax.random.normal(key, (config.horizon, problem.dim_u))
  return clip_actions(u, config)


def shooting_objective(problem: ControlProblem) -> Objective:
  """The SGP single-shooting Objective (see module docstring)."""
  def loss(models, us, x0, beta, level):
    xs = rollout(problem, models, x0, us)
    cost = trajectory_cost(problem, models, xs, us)
    total = cost
    if problem.score is not None:
      total = total + beta * score_penalty(problem.score, models,
                                           trajectory_points(xs, us), level)
    return total, {"cost": cost}

  return Objective(
      init_theta=lambda models, x0, key, config: initial_actions(problem, key, config),
      loss=loss, extract=lambda models, us, x0: (us, rollout(problem, models, x0, us)),
      project=clip_actions)


def loss_objective(problem: ControlProblem, loss: TrajectoryLoss) -> Objective:
  """The single-shooting Objective (actions only) with `loss` as its surrogate."""
  return shooting_objective(problem)._replace(loss=loss.fn)


def make_single_shooting(problem: ControlProblem, config: GradientPlannerConfig) -> Planner:
  """The SGP single-shooting planner for `problem` (see module docstring).

  Its `check_models` checks the problem against the models (the dynamics' and the
  xu score's shapes), raising a ValueError that names them.
  """
  score_kind = "xu" if problem.score is not None else None
  return make_gradient_planner(
      shooting_objective(problem), config, dim_x=problem.dim_x,
      num_levels=problem.num_levels,
      check_models=lambda models: check_problem(problem, models, score_kind=score_kind,
                                                name="single shooting"))


def make_loss_shooting(problem: ControlProblem, loss: TrajectoryLoss,
                       config: GradientPlannerConfig) -> Planner:
  """Gradient single shooting (Adam on us) minimising any `TrajectoryLoss`.

  E.g. the ensemble baseline `ensemble_variance_loss`, or `penalized_loss` with a
  distance / DDE / state-variance penalty (SPEC A.5d, A.9).
  """
  return make_gradient_planner(
      loss_objective(problem, loss), config, dim_x=problem.dim_x,
      num_levels=problem.num_levels,
      check_models=lambda models: check_problem(problem, models, name="shooting"))


__all__ = ["initial_actions", "shooting_objective", "loss_objective",
           "make_single_shooting", "make_loss_shooting"]
