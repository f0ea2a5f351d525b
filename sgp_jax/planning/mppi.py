"""MPPI on the shared sampling planner (SPEC 0, A.9.3).

Each iteration sets mean <- sum_i w_i us_i with w = softmax(-(L_i - min L) / temperature),
the std fixed (the path-integral update with the control-cost term omitted), the
mean optionally smoothed. See `sampling_planner` for the loop.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from sgp_jax.planning.base import Planner
from sgp_jax.planning.objectives import TrajectoryLoss
from sgp_jax.planning.problem import ControlProblem
from sgp_jax.planning.sampling_planner import SamplingPlannerConfig, make_sampling_planner
from sgp_jax.types import Array


def mppi_refit(us: Array, losses: Array, mean: Array, std: Array,
               config: SamplingPlannerConfig):
  """Softmax-weighted mean, w_i ~ exp(-(L_i - min L) / temperature); std unchanged.

  us: (N, T, dim_u) the samples; losses: (N,); mean, std: (T, dim_u).
  """
  w = jax.nn.softmax(-(losses - jnp.min(losses)) / config.temperature)
  a = config.smoothing
  return a * mean + (1 - a) * jnp.tensordot(w, us, axes=1), std


def make_mppi(problem: ControlProblem, loss: TrajectoryLoss,
              config: SamplingPlannerConfig) -> Planner:
  """MPPI minimising `loss` at `config.temperature` (see module docstring)."""
  return make_sampling_planner(problem, loss, config, mppi_refit, "MPPI")


__all__ = ["mppi_refit", "make_mppi"]
