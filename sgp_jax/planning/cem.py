"""The cross-entropy method (CEM) on the shared sampling planner (SPEC 0, A.9.3).

Each iteration refits the mean AND the per-(t, j) std to the `num_elites` lowest-loss
samples, the std floored at `min_std`, both optionally smoothed
(new = smoothing * old + (1 - smoothing) * refit). With adapt_std=False the std
stays fixed: the authors' minimal "CEM". See `sampling_planner` for the loop.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from sgp_jax.planning.base import Planner
from sgp_jax.planning.objectives import TrajectoryLoss
from sgp_jax.planning.problem import ControlProblem
from sgp_jax.planning.sampling_planner import SamplingPlannerConfig, make_sampling_planner
from sgp_jax.types import Array


def cem_refit(us: Array, losses: Array, mean: Array, std: Array,
              config: SamplingPlannerConfig):
  """Mean and (if adapt_std) std of the `num_elites` lowest-loss samples, smoothed.

  us: (N, T, dim_u) the samples; losses: (N,); mean, std: (T, dim_u).
  """
  _, idx = jax.lax.top_k(-losses, config.num_elites)
  elites = us[idx]
  a = config.smoothing
  new_mean = a * mean + (1 - a) * jnp.mean(elites, 0)
  if not config.adapt_std:
    return new_mean, std
  new_std = a * std + (1 - a) * jnp.std(elites, 0)
  return new_mean, jnp.maximum(new_std, config.min_std)


def make_cem(problem: ControlProblem, loss: TrajectoryLoss,
             config: SamplingPlannerConfig) -> Planner:
  """CEM minimising `loss` over action sequences (see module docstring)."""
  return make_sampling_planner(problem, loss, config, cem_refit, "CEM")


__all__ = ["cem_refit", "make_cem"]
