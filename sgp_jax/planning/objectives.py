"""What the planners minimise: the score surrogate, uncertainty penalties and
trajectory losses (SPEC A.5, A.9).

The score surrogate (SPEC A.5):
  score_penalty(score, models, z, level)   -sum_t <z_t, sg(s(z_t))>: its gradient is
                                           -sum_t J_t^T s(z_t), its value means nothing.
  injected_score_penalty(problem, ...)     sigma_l^2 times it (collocation, transcription).

A `Penalty` scores one trajectory: penalty(models, xs (T+1, dim_x), us (T, dim_u),
level) -> scalar. The choices (SPEC A.5, A.9):

  score_penalty_of(problem)         the SGP surrogate on z_t = (x_t, u_t); `gradient_only`,
                                    so the sampling planners refuse it.
  distance_penalty(...)             sum_t d_sigma(z_t): the exact smoothed distance to
                                    the data (O(N) per point, non-amortised).
  dde_penalty(...)                  sum_t DDE(z_t): a learned distance (data_distance.py).
  score_value_penalty(...)          sum_t sigma_l^2 ||s(z_bar_t, l)||^2 / 2: a *value*
                                    read off a learned score by Tweedie's formula (the
                                    score penalty for zeroth-order planners).
  state_variance_penalty(...)       sum_t tr Cov_k f_k(x_t, u_t): MOPO-style ensemble
                                    disagreement of the state predictions.

A `TrajectoryLoss` is what an action-sequence planner minimises:
loss(models, us (T, dim_u), x0 (dim_x,), beta, level) -> (loss, {"cost": task cost, ...}):

  penalized_loss(problem, penalty)  cost(rollout) + beta * penalty(rollout)
  ensemble_variance_loss(...)       mean_k J_k + beta * Var_k J_k (unbiased), J_k the
                                    cost of the rollout under ensemble member k (A.9.2)

`shooting.make_loss_shooting` turns any TrajectoryLoss into a gradient planner,
`cem.make_cem` / `mppi.make_mppi` into zeroth-order ones.
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np

from sgp_jax import distance
from sgp_jax.normalization import Normalizer
from sgp_jax.planning.problem import ControlProblem, rollout, trajectory_cost
from sgp_jax.types import Array

GetFn = Callable  # models -> the part of `models` a penalty needs


# ------------------------------------------------------------- score surrogate
def score_penalty(score_fn: Callable, models, z: Array, level) -> Array:
  """-sum_t <z_t, stop_gradient(s(z_t, level))>: its gradient is -sum_t J_t^T s(z_t).

  z: (T, dim_z) the points whose likelihood the plan should raise.
  """
  s = jax.lax.stop_gradient(score_fn(models, z, level))
  return -jnp.sum(z * s)


def injected_score_penalty(problem: ControlProblem, models, z: Array, level) -> Array:
  """sigma_l^2 * (-sum_t <z_t, sg(s(z_t, l))>): gradient -sigma_l^2 sum_t J_t^T s(z_t)."""
  sigma = jax.lax.stop_gradient(problem.score_sigma(models, level))
  return sigma ** 2 * score_penalty(problem.score, models, z, level)


# ------------------------------------------------------------------ points
def _check_kind(kind: str) -> None:
  if kind not in ("xu", "xux"):
    raise ValueError(f"kind must be 'xu' or 'xux', got {kind!r}.")


def _check_positive(value, name: str) -> None:
  if isinstance(value, (int, float, np.floating, np.integer)) and not value > 0:
    raise ValueError(f"{name} must be > 0, got {value}.")


def trajectory_points(xs: Array, us: Array, kind: str = "xu") -> Array:
  """The points a penalty scores: (x_t, u_t) or (x_t, u_t, x_{t+1}), t < T.

  xs: (T+1, dim_x); us: (T, dim_u). Returns (T, dim_z).
  """
  _check_kind(kind)
  if kind == "xu":
    return jnp.concatenate([xs[:-1], us], -1)
  return jnp.concatenate([xs[:-1], us, xs[1:]], -1)


# ---------------------------------------------------------------- penalties
class Penalty(NamedTuple):
  """fn(models, xs (T+1, dim_x), us (T, dim_u), level) -> scalar.

  gradient_only: the value is a stop-gradient surrogate (meaningful gradient,
  meaningless value); zeroth-order planners cannot use it.
  """
  fn: Callable
  gradient_only: bool = False

  def __call__(self, models, xs: Array, us: Array, level) -> Array:
    return self.fn(models, xs, us, level)


def score_penalty_of(problem: ControlProblem) -> Penalty:
  """The SGP penalty -sum_t <z_t, sg(s(z_t, level))> on z_t = (x_t, u_t) (SPEC A.5a)."""
  if problem.score is None:
    raise ValueError("score_penalty_of needs problem.score.")
  return Penalty(lambda models, xs, us, level: score_penalty(
      problem.score, models, trajectory_points(xs, us), level), gradient_only=True)


def distance_penalty(get_data: GetFn, sigma: float,
                     normalizer: Optional[Normalizer] = None, kind: str = "xu",
                     chunk_size: int = distance.DEFAULT_CHUNK) -> Penalty:
  """sum_t d_sigma(z_bar_t) to the data (exact, O(N) per point; SPEC A.9.5).

  Args:
    get_data: models -> raw data points (N, dim_z), e.g. lambda m: m["data"]
      (the data travel in `models`, not as a compiled-in constant).
    sigma: smoothing (> 0) in the units of z_bar.
    normalizer: maps raw z to z_bar (both the queries and the data); None: raw.
    kind: "xu" or "xux" points.
  """
  _check_positive(sigma, "sigma")
  _check_kind(kind)
  norm = normalizer.normalize if normalizer is not None else (lambda z: z)

  def fn(models, xs, us, level):
    z = norm(trajectory_points(xs, us, kind))
    return jnp.sum(distance.smoothed_distance(z, norm(get_data(models)), sigma,
                                              chunk_size))
  return Penalty(fn)


def dde_penalty(dde, get_params: GetFn, kind: str = "xu") -> Penalty:
  """sum_t DDE(z_t): a learned distance to data (`sgp_jax.models.data_distance`, SPEC A.5d)."""
  _check_kind(kind)
  return Penalty(lambda models, xs, us, level: jnp.sum(
      dde(get_params(models), trajectory_points(xs, us, kind))))


def score_value_penalty(score_model, get_params: GetFn) -> Penalty:
  """sum_t sigma_l^2 ||s(z_bar_t, l)||^2 / 2: the score penalty as a value (Tweedie).

  Tweedie's formula: sigma^2 grad log p_sigma(z_bar) = E[z_data | z_bar] - z_bar, so
  sigma^2 ||s||^2 / 2 = ||z_bar - E[z_data | z_bar]||^2 / (2 sigma^2): the squared
  distance from the denoised point over 2 sigma^2. For one data point this equals
  -log p_sigma(z_bar) + const exactly; for small sigma it approaches
  min_i ||z_bar - z_i||^2 / (2 sigma^2), the negative log-likelihood the SGP penalty
  differentiates, so beta means the same for both. Its gradient is NOT the score:
  use it where values are needed (CEM, MPPI), the score surrogate for gradients.

  score_model: anything with `normalizer.normalize`, `score_normalized(params,
    z_bar, level)` and `sigma(level)` (a `sgp_jax.models.ScoreModel`, kind "xu" or
    "xux"); get_params: models -> its parameters. `level` is the planner's level.
  """
  kind = getattr(score_model, "kind", "xu")
  _check_kind(kind)

  def fn(models, xs, us, level):
    z_bar = score_model.normalizer.normalize(trajectory_points(xs, us, kind))
    s = score_model.score_normalized(get_params(models), z_bar, level)
    return 0.5 * score_model.sigma(level) ** 2 * jnp.sum(s ** 2)
  return Penalty(fn)


def state_variance_penalty(ensemble, get_params: GetFn, metric=None) -> Penalty:
  """sum_t sum_j m_j Var_k f_k(x_t, u_t)_j (unbiased): MOPO-style disagreement.

  ensemble: a `sgp_jax.models.DynamicsEnsemble`; get_params: models -> its
  stacked parameters; metric: per-dimension weights (dim_x,) or None (ones).
  """
  return Penalty(lambda models, xs, us, level: jnp.sum(
      ensemble.prediction_variance(get_params(models), xs[:-1], us, metric)))


# ------------------------------------------------------------ trajectory losses
class TrajectoryLoss(NamedTuple):
  """fn(models, us (T, dim_u), x0 (dim_x,), beta, level) -> (loss, aux with "cost")."""
  fn: Callable
  gradient_only: bool = False

  def __call__(self, models, us: Array, x0: Array, beta, level):
    return self.fn(models, us, x0, beta, level)


def penalized_loss(problem: ControlProblem,
                   penalty: Optional[Penalty] = None) -> TrajectoryLoss:
  """cost(rollout of us under problem.dynamics) + beta * penalty(rollout)."""
  def fn(models, us, x0, beta, level):
    xs = rollout(problem, models, x0, us)
    cost = trajectory_cost(problem, models, xs, us)
    if penalty is None:
      return cost, {"cost": cost}
    return cost + beta * penalty(models, xs, us, level), {"cost": cost}
  return TrajectoryLoss(fn, penalty is not None and penalty.gradient_only)


def ensemble_variance_loss(problem: ControlProblem, ensemble,
                           get_params: GetFn) -> TrajectoryLoss:
  """mean_k J_k + beta * Var_k J_k, unbiased (ddof 1), SPEC A.9.2.

  J_k = trajectory_cost under ensemble member k's rollout of the same us. The
  variance of the predicted *cost* is penalised, not that of the states.
  aux: "cost" = mean_k J_k, "cost_variance" = Var_k J_k.
  """
  if ensemble.num_members < 2:
    raise ValueError("an ensemble variance needs at least 2 members, got "
                     f"{ensemble.num_members}.")

  def fn(models, us, x0, beta, level):
    xs_k = ensemble.rollout_all(get_params(models), x0, us)  # (K, T+1, dim_x)
    costs = jax.vmap(lambda xs: trajectory_cost(problem, models, xs, us))(xs_k)
    mean, var = jnp.mean(costs), jnp.var(costs, ddof=1)
    return mean + beta * var, {"cost": mean, "cost_variance": var}
  return TrajectoryLoss(fn)


__all__ = ["score_penalty", "injected_score_penalty", "trajectory_points", "Penalty",
           "score_penalty_of", "distance_penalty", "dde_penalty", "score_value_penalty",
           "state_variance_penalty", "TrajectoryLoss", "penalized_loss",
           "ensemble_variance_loss"]
