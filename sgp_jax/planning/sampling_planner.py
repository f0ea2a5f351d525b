"""The zeroth-order planner that CEM and MPPI share: sample, score, refit (SPEC 0, A.9.3).

Both search over action sequences us (T, dim_u) by sampling Gaussian perturbations
around a mean, scoring every sample with a `TrajectoryLoss`
(`objectives.penalized_loss(problem, penalty)` or `ensemble_variance_loss`), and
refitting the mean (and std) with their own `refit` rule (`cem.cem_refit`,
`mppi.mppi_refit`). The planner has the common contract (`base.Planner`): the
state's `theta` is the mean and its `opt_state` the sampler's (std, key), and it
runs on the same loop (`base.solve`, `solve_batch`, ...) with precomputed beta_k
and level l(k). A warm start passes the initial mean as `theta_init`.

The SGP score surrogate has a meaningful gradient but no meaningful value, so the
sampling planners refuse it; give them values instead: `score_value_penalty`
(the same learned score read as a value by Tweedie's formula; set `anneal=True`
to walk its noise levels as SGP does), the exact `distance_penalty`, or a learned
`dde_penalty`.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from sgp_jax.planning.base import (Planner, PlannerConfig, PlanResult, PlanState, clip_actions,
                                   last_level)
from sgp_jax.planning.objectives import TrajectoryLoss
from sgp_jax.planning.problem import ControlProblem, check_problem, rollout
from sgp_jax.planning.shooting import initial_actions
from sgp_jax.types import Array


@dataclasses.dataclass(frozen=True)
class SamplingPlannerConfig(PlannerConfig):
  """Settings of CEM and MPPI (the loop settings of `PlannerConfig` plus these).

  Attributes:
    num_samples: sampled action sequences per iteration.
    num_elites: CEM's elite count.
    sample_std: initial std of the perturbations, in action units (> 0).
    min_std: CEM's floor on the refit std.
    smoothing: in [0, 1): weight of the old mean (and CEM std) in the refit.
    adapt_std: CEM refits the std to the elites (False keeps it fixed).
    temperature: MPPI's lambda (> 0).
    init_std: std of the random initial mean (0: zeros).
    anneal: walk the noise levels (only matters for level-dependent penalties).
  """
  num_samples: int = 64
  num_elites: int = 8
  sample_std: float = 0.5
  min_std: float = 1e-3
  smoothing: float = 0.0
  adapt_std: bool = True
  temperature: float = 1.0
  init_std: float = 0.0
  anneal: bool = False

  def __post_init__(self):
    super().__post_init__()
    if self.num_samples < 1:
      raise ValueError(f"num_samples must be >= 1, got {self.num_samples}.")
    if not 1 <= self.num_elites <= self.num_samples:
      raise ValueError(f"num_elites must be in [1, num_samples={self.num_samples}], "
                       f"got {self.num_elites}.")
    if not self.sample_std > 0:
      raise ValueError(f"sample_std (the sampling sigma) must be > 0, got "
                       f"{self.sample_std}.")
    if not self.min_std >= 0:
      raise ValueError(f"min_std must be >= 0, got {self.min_std}.")
    if not 0.0 <= self.smoothing < 1.0:
      raise ValueError(f"smoothing must be in [0, 1), got {self.smoothing}.")
    if not self.temperature > 0:
      raise ValueError(f"temperature must be > 0, got {self.temperature}.")


class SamplerState(NamedTuple):
  std: Array   # (T, dim_u) the perturbation std
  key: Array   # the sampler's PRNG key


RefitFn = Callable  # (us (N, T, du), losses (N,), mean, std, config) -> (mean, std)


def make_sampling_planner(problem: ControlProblem, loss: TrajectoryLoss,
                          config: SamplingPlannerConfig, refit: RefitFn,
                          name: str) -> Planner:
  """A zeroth-order planner minimising `loss` with the mean/std update `refit`."""
  if not isinstance(config, SamplingPlannerConfig):
    raise TypeError(f"{name} needs a SamplingPlannerConfig, got {type(config).__name__}.")
  if loss.gradient_only:
    raise ValueError(
        f"{name} needs penalty *values*, but this loss uses a gradient-only penalty "
        "(the score surrogate). Use objectives.score_value_penalty, distance_penalty "
        "or dde_penalty.")
  c = config
  level = last_level(c, problem.num_levels)

  def init(models, x0, key, theta_init=None) -> PlanState:
    key_init, key_run = jax.random.split(key)
    mean = initial_actions(problem, key_init, c) if theta_init is None else theta_init
    std = jnp.full_like(mean, c.sample_std)
    return PlanState(theta=mean, opt_state=SamplerState(std, key_run), x0=x0,
                     iteration=jnp.zeros((), jnp.int32))

  def update(models, state: PlanState, beta, level):
    mean, (std, key) = state.theta, state.opt_state
    key, key_eps = jax.random.split(key)
    eps = jax.random.normal(key_eps, (c.num_samples,) + mean.shape, mean.dtype)
    us = clip_actions(mean[None] + std[None] * eps, c)
    losses, aux = jax.vmap(lambda u: loss(models, u, state.x0, beta, level))(us)
    losses = jnp.where(jnp.isnan(losses), jnp.inf, losses)
    new_mean, new_std = refit(us, losses, mean, std, c)
    best = jnp.argmin(losses)
    metrics = {"loss": losses[best], "cost": aux["cost"][best],
               "mean_sample_loss": jnp.mean(losses)}
    return PlanState(clip_actions(new_mean, c), SamplerState(new_std, key), state.x0,
                     state.iteration + 1), metrics

  def extract(models, state: PlanState) -> PlanResult:
    us = state.theta
    _, aux = loss(models, us, state.x0, 0.0, level)
    return PlanResult(actions=us, states=rollout(problem, models, state.x0, us),
                      cost=aux["cost"], theta=us, history={})

  return Planner(init=init, update=update, extract=extract, config=c, dim_x=problem.dim_x,
                 num_levels=problem.num_levels,
                 check_models=lambda models: check_problem(problem, models, name=name))


__all__ = ["SamplingPlannerConfig", "SamplerState", "RefitFn", "make_sampling_planner"]
