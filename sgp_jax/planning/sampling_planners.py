"""Zeroth-order planners: the cross-entropy method (CEM) and MPPI (SPEC 0, A.9.3).

Both search over action sequences us (T, dim_u) by sampling Gaussian
perturbations around a mean, scoring every sample with a `TrajectoryLoss`
(`penalties.penalized_loss(problem, penalty)` or `ensemble_variance_loss`), and
refitting:

  CEM   the mean AND the per-(t, j) std are refit to the `num_elites` best samples,
        std floored at `min_std`, both optionally smoothed
        (new = smoothing * old + (1 - smoothing) * refit). With adapt_std=False the
        std stays fixed: the authors' minimal "CEM".
  MPPI  mean <- sum_i w_i us_i, w = softmax(-(L_i - min L) / temperature), the std
        fixed (the path-integral update with the control-cost term omitted).

They share the gradient planners' contract and loop (they subclass
`GradientPlanner`): init / update / solve / solve_batch / solve_sharded, one
`lax.scan` over iterations with precomputed beta_k and level l(k), vmapped over
x0s, keys and betas. The state's `theta` is the mean and its `opt_state` the
sampler's (std, key). A warm start passes the initial mean as `theta_init`.

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

from sgp_jax.planning.core import GradientPlannerConfig, PlanState, clip_actions
from sgp_jax.planning.penalties import TrajectoryLoss, loss_objective
from sgp_jax.planning.shooting import ControlProblem
from sgp_jax.planning.validation import ValidatedPlanner, check_problem
from sgp_jax.types import Array


@dataclasses.dataclass(frozen=True)
class SamplingPlannerConfig(GradientPlannerConfig):
  """Settings of CEM and MPPI (the inherited `learning_rate` is unused).

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


def cem_refit(us: Array, losses: Array, mean: Array, std: Array,
              config: SamplingPlannerConfig):
  """Mean and (if adapt_std) std of the `num_elites` lowest-loss samples, smoothed."""
  _, idx = jax.lax.top_k(-losses, config.num_elites)
  elites = us[idx]
  a = config.smoothing
  new_mean = a * mean + (1 - a) * jnp.mean(elites, 0)
  if not config.adapt_std:
    return new_mean, std
  new_std = a * std + (1 - a) * jnp.std(elites, 0)
  return new_mean, jnp.maximum(new_std, config.min_std)


def mppi_refit(us: Array, losses: Array, mean: Array, std: Array,
               config: SamplingPlannerConfig):
  """Softmax-weighted mean, w_i ~ exp(-(L_i - min L) / temperature); std unchanged."""
  w = jax.nn.softmax(-(losses - jnp.min(losses)) / config.temperature)
  a = config.smoothing
  return a * mean + (1 - a) * jnp.tensordot(w, us, axes=1), std


class SamplingPlanner(ValidatedPlanner):
  """A zeroth-order planner with the gradient planners' contract (module docstring)."""

  def __init__(self, problem: ControlProblem, loss: TrajectoryLoss,
               config: SamplingPlannerConfig, refit: RefitFn, name: str):
    if not isinstance(config, SamplingPlannerConfig):
      raise TypeError(f"{name} needs a SamplingPlannerConfig, got {type(config).__name__}.")
    if loss.gradient_only:
      raise ValueError(
          f"{name} needs penalty *values*, but this loss uses a gradient-only penalty "
          "(the score surrogate). Use penalties.score_value_penalty, distance_penalty "
          "or dde_penalty.")
    super().__init__(loss_objective(problem, loss), config,
                     num_levels=problem.num_levels, dim_x=problem.dim_x,
                     validate=lambda models: check_problem(problem, models, name=name))
    self.problem = problem
    self.refit = refit

  def init(self, models, x0: Array, key, theta_init=None) -> PlanState:
    key_init, key_run = jax.random.split(key)
    mean = (self.objective.init_theta(models, x0, key_init, self.config)
            if theta_init is None else theta_init)
    std = jnp.full_like(mean, self.config.sample_std)
    return PlanState(theta=mean, opt_state=SamplerState(std, key_run), x0=x0,
                     iteration=jnp.zeros((), jnp.int32))

  def update(self, models, state: PlanState, beta, level):
    c = self.config
    mean, (std, key) = state.theta, state.opt_state
    key, key_eps = jax.random.split(key)
    eps = jax.random.normal(key_eps, (c.num_samples,) + mean.shape, mean.dtype)
    us = clip_actions(mean[None] + std[None] * eps, c)
    losses, aux = jax.vmap(
        lambda u: self.objective.loss(models, u, state.x0, beta, level))(us)
    losses = jnp.where(jnp.isnan(losses), jnp.inf, losses)
    new_mean, new_std = self.refit(us, losses, mean, std, c)
    best = jnp.argmin(losses)
    metrics = {"loss": losses[best], "cost": aux["cost"][best],
               "mean_sample_loss": jnp.mean(losses)}
    return PlanState(clip_actions(new_mean, c), SamplerState(new_std, key), state.x0,
                     state.iteration + 1), metrics


def make_cem(problem: ControlProblem, loss: TrajectoryLoss,
             config: SamplingPlannerConfig) -> SamplingPlanner:
  """CEM with elite refit of the mean and the std (see module docstring)."""
  return SamplingPlanner(problem, loss, config, cem_refit, "CEM")


def make_mppi(problem: ControlProblem, loss: TrajectoryLoss,
              config: SamplingPlannerConfig) -> SamplingPlanner:
  """MPPI with softmax weights at `config.temperature` (see module docstring)."""
  return SamplingPlanner(problem, loss, config, mppi_refit, "MPPI")


__all__ = ["SamplingPlannerConfig", "SamplerState", "cem_refit", "mppi_refit",
           "SamplingPlanner", "make_cem", "make_mppi"]
