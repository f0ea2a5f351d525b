"""Checks that a planner's problem fits its models, and the planner that runs them.

`check_problem` runs a `ControlProblem`'s callables abstractly (`jax.eval_shape`)
against the models and raises a ValueError naming the callable and the shapes
when they do not fit. `ValidatedPlanner` is a `GradientPlanner` whose
`check_models` hook runs such a check before each public solve, so a wrong model
fails with one clear line instead of deep inside `lax.scan`. Every planner
factory (single shooting, collocation, transcription, the sampling planners)
returns one.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Optional

import jax
import jax.numpy as jnp
import numpy as np

from sgp_jax.planning.core import GradientPlanner, GradientPlannerConfig, Objective
from sgp_jax.types import Array

if TYPE_CHECKING:  # shooting.py builds ValidatedPlanners, so it cannot be imported here
  from sgp_jax.planning.shooting import ControlProblem


def _is_concrete(tree) -> bool:
  return not any(isinstance(a, jax.core.Tracer) for a in jax.tree_util.tree_leaves(tree))


def check_problem(problem: ControlProblem, models, *, dynamics: bool = True,
                  score_kind: Optional[str] = None, sigma: bool = False,
                  name: str = "planner") -> None:
  """Checks that problem's callables accept its dims under `models`; raises ValueError.

  Runs the callables abstractly (jax.eval_shape), so it is cheap and works on
  any device. score_kind: "xu" / "xux" checks problem.score on such points;
  sigma: checks problem.score_sigma exists and (for concrete models) is > 0 at
  every level.
  """
  dx, du = problem.dim_x, problem.dim_u
  if dx < 1 or du < 1:
    raise ValueError(f"{name}: dim_x and dim_u must be >= 1, got {dx}, {du}.")
  x = jax.ShapeDtypeStruct((dx,), jnp.float32)
  u = jax.ShapeDtypeStruct((du,), jnp.float32)
  if dynamics:
    if problem.dynamics is None:
      raise ValueError(f"{name} needs problem.dynamics.")
    try:
      out = jax.eval_shape(problem.dynamics, models, x, u)
    except (ValueError, TypeError) as e:
      raise ValueError(f"{name}: problem.dynamics does not accept x ({dx},) and "
                       f"u ({du},) with these models: {e}") from e
    if getattr(out, "shape", None) != (dx,):
      raise ValueError(f"{name}: problem.dynamics maps x ({dx},), u ({du},) to shape "
                       f"{getattr(out, 'shape', out)}, expected ({dx},).")
  if score_kind is not None:
    if problem.score is None:
      raise ValueError(f"{name} needs problem.score (an {score_kind} score).")
    dz = dx + du + (dx if score_kind == "xux" else 0)
    z = jax.ShapeDtypeStruct((2, dz), jnp.float32)
    level = jax.ShapeDtypeStruct((), jnp.int32)
    try:
      out = jax.eval_shape(problem.score, models, z, level)
    except (ValueError, TypeError) as e:
      raise ValueError(f"{name}: problem.score does not accept {score_kind} points of "
                       f"dim {dz} (dim_x={dx}, dim_u={du}): {e}") from e
    if getattr(out, "shape", None) != (2, dz):
      raise ValueError(f"{name}: problem.score maps {score_kind} points (2, {dz}) to "
                       f"{getattr(out, 'shape', out)}; it must return the same shape.")
    if problem.num_levels < 1:
      raise ValueError(f"{name}: num_levels must be >= 1, got {problem.num_levels}.")
  if sigma:
    if problem.score_sigma is None:
      raise ValueError(f"{name} injects sigma^2 * beta * score and needs "
                       "problem.score_sigma(models, level).")
    if _is_concrete(models):
      sigmas = np.asarray([problem.score_sigma(models, l)
                           for l in range(problem.num_levels)], np.float64)
      if not np.all(np.isfinite(sigmas) & (sigmas > 0)):
        raise ValueError(f"{name}: sigma must be > 0 at every level, got {sigmas}.")


class ValidatedPlanner(GradientPlanner):
  """A `GradientPlanner` running `validate(models)` before each public solve.

  x_goal: the fixed terminal state of a boundary-value planner (None for an
  initial-value one; MPC accepts only those).
  """

  def __init__(self, objective: Objective, config: GradientPlannerConfig,
               num_levels: int = 1, dim_x: Optional[int] = None,
               validate: Optional[Callable] = None, x_goal: Optional[Array] = None):
    super().__init__(objective, config, num_levels=num_levels, dim_x=dim_x)
    self._validate = validate if validate is not None else (lambda models: None)
    self.x_goal = x_goal

  def check_models(self, models) -> None:
    """Runs `validate(models)` (solve_sharded calls it too)."""
    self._validate(models)

  def solve(self, models, x0, key, beta, theta_init=None):
    self.check_models(models)
    return super().solve(models, x0, key, beta, theta_init)

  def solve_batch(self, models, x0s, keys, betas, theta_init=None):
    self.check_models(models)
    return super().solve_batch(models, x0s, keys, betas, theta_init)


__all__ = ["check_problem", "ValidatedPlanner"]
