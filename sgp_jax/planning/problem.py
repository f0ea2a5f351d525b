"""The control problem every planner solves: a (learned) model, costs and a score.

  ControlProblem     the callables, each taking the `models` pytree first
  make_problem       a ControlProblem from learned models (dynamics, reward, score,
                     a terminal value, a termination model)
  rollout            x_0..x_T of an action sequence under problem.dynamics
  trajectory_cost    sum_t c(x_t, u_t, t) + c_T(x_T), each term weighted by the
                     probability that the episode still runs (with a termination model)
  check_problem      the callables' shapes against the models (a clear ValueError)

`models` is any pytree holding the learned models' parameters; it is a planner
argument, never a closed-over constant, so one compile serves every checkpoint.
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np

from sgp_jax.types import Array

DynamicsFn = Callable  # (models, x (dim_x,), u (dim_u,)) -> x' (dim_x,)
RunningCostFn = Callable  # (models, x, u, t) -> scalar
TerminalCostFn = Callable  # (models, x) -> scalar
TerminationFn = Callable  # (models, x) -> p(the episode ends on reaching x), scalar
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
  termination(models, x) -> p          the probability that reaching x ends the
    episode, or None (the episode never ends inside the horizon); see
    `trajectory_cost`.
  """
  dim_x: int
  dim_u: int
  dynamics: DynamicsFn
  running_cost: Optional[RunningCostFn] = None
  terminal_cost: Optional[TerminalCostFn] = None
  score: Optional[ScoreFn] = None
  num_levels: int = 1
  score_sigma: Optional[Callable] = None
  termination: Optional[TerminationFn] = None


def make_problem(dynamics=None, score=None, reward=None,
                 running_cost: Optional[RunningCostFn] = None,
                 terminal_cost: Optional[TerminalCostFn] = None,
                 dim_x: Optional[int] = None, dim_u: Optional[int] = None,
                 value=None, value_weight: float = 1.0,
                 termination=None) -> ControlProblem:
  """A ControlProblem from learned models; `models` is then a dict of their parameters
  under the keys "dynamics", "reward", "score", "value" and "termination" (plus
  whatever the costs read).

  Args:
    dynamics: a dynamics model, `dynamics(params, x, u) -> x'` with `dim_x`, `dim_u`
      (e.g. `sgp_jax.make_dynamics_model`); its params are models["dynamics"].
    score: a score model with `score(params, z, level)`, `sigma(level)`, `num_levels`
      (`sgp_jax.make_score_model`); its params are models["score"].
    reward: a reward model `reward(params, x, u) -> r`; the running cost gets -r.
      Its params are models["reward"].
    running_cost, terminal_cost: cost callables as in ControlProblem (added to -r).
    dim_x, dim_u: the dims; None reads them from the dynamics or score model.
    value: a learned value beyond the horizon, `value(params, x) -> V` (e.g.
      `sgp_jax.models.make_value_model`); the terminal cost gets -value_weight *
      V(x_T) (so the objective is -sum_t r_hat - w V(x_T), MBOP's; a discount
      gamma^T of the tail is part of w). Its params are models["value"].
    value_weight: w >= 0, the weight of the value.
    termination: a learned termination model with `probability(params, x)` (e.g.
      `sgp_jax.models.make_termination_model`); `trajectory_cost` then weights each
      step's cost by the probability that the episode still runs. Its params are
      models["termination"].
  """
  if value is not None and not value_weight >= 0:
    raise ValueError(f"make_problem: value_weight must be >= 0, got {value_weight}.")
  dim_x = dim_x if dim_x is not None else _dim(dynamics, score, "dim_x")
  dim_u = dim_u if dim_u is not None else _dim(dynamics, score, "dim_u")
  cost = running_cost
  if reward is not None:
    def cost(m, x, u, t):
      minus_reward = -reward(m["reward"], x, u)
      return minus_reward if running_cost is None else running_cost(m, x, u, t) + minus_reward
  final_cost = terminal_cost
  if value is not None:
    weight = float(value_weight)

    def final_cost(m, x):
      minus_value = -weight * value(m["value"], x)
      return minus_value if terminal_cost is None else terminal_cost(m, x) + minus_value
  return ControlProblem(
      dim_x=dim_x, dim_u=dim_u,
      dynamics=(None if dynamics is None else
                lambda m, x, u: dynamics(m["dynamics"], x, u)),
      running_cost=cost, terminal_cost=final_cost,
      score=None if score is None else lambda m, z, level: score.score(m["score"], z, level),
      num_levels=1 if score is None else score.num_levels,
      score_sigma=None if score is None else lambda m, level: score.sigma(level),
      termination=(None if termination is None else
                   lambda m, x: termination.probability(m["termination"], x)))


def _dim(dynamics, score, name: str) -> int:
  for model in (dynamics, score):
    if model is not None and getattr(model, name, None):
      return int(getattr(model, name))
  raise ValueError(f"make_problem cannot read {name} from the models; pass {name}=...")


ROLLOUT_UNROLL = 10  # scan unrolling: fewer loop trips for small per-step work (measured)


def rollout(problem: ControlProblem, models, x0: Array, us: Array) -> Array:
  """States x_0..x_T, shape (T+1, dim_x), of the actions us (T, dim_u)."""
  def step(x, u):
    x_next = problem.dynamics(models, x, u)
    return x_next, x_next
  _, xs = jax.lax.scan(step, x0, us, unroll=ROLLOUT_UNROLL)
  return jnp.concatenate([x0[None], xs], 0)


def survival(problem: ControlProblem, models, xs: Array) -> Array:
  """a_t = prod_{1<=s<=t} (1 - p(x_s)), t = 0..T (a_0 = 1), shape (T+1,): the model's
  probability that an episode at x_0 still runs at x_t (ones without a termination
  model). x_0 itself is the state the episode is in, so it has not ended."""
  if problem.termination is None:
    return jnp.ones(xs.shape[:1])
  ended = jax.vmap(problem.termination, in_axes=(None, 0))(models, xs[1:])
  return jnp.concatenate([jnp.ones((1,)), jnp.cumprod(1.0 - ended)])


def trajectory_cost(problem: ControlProblem, models, xs: Array, us: Array) -> Array:
  """sum_t a_t c(x_t, u_t, t) + a_T c_T(x_T) for xs (T+1, dim_x), us (T, dim_u).

  a_t = `survival`: with a termination model, step t's cost (the reward of the step
  from x_t, which the env pays also on the step that ends the episode) counts only
  while the episode runs, and the terminal cost (a value beyond the horizon) only if
  x_T is not an end; without one every a_t = 1 (the plain sum).
  """
  weighted = problem.termination is not None
  alive = survival(problem, models, xs) if weighted else None
  total = jnp.zeros(())
  if problem.running_cost is not None:
    t = jnp.arange(us.shape[0])
    costs = jax.vmap(problem.running_cost, in_axes=(None, 0, 0, 0))(models, xs[:-1], us, t)
    total += jnp.sum(alive[:-1] * costs if weighted else costs)
  if problem.terminal_cost is not None:
    final = problem.terminal_cost(models, xs[-1])
    total += alive[-1] * final if weighted else final
  return total


# ----------------------------------------------------------------- checks
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
  if problem.termination is not None:
    try:
      out = jax.eval_shape(problem.termination, models, x)
    except (ValueError, TypeError) as e:
      raise ValueError(f"{name}: problem.termination does not accept x ({dx},) with "
                       f"these models: {e}") from e
    if getattr(out, "shape", None) != ():
      raise ValueError(f"{name}: problem.termination maps x ({dx},) to shape "
                       f"{getattr(out, 'shape', out)}, expected a scalar probability.")
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


__all__ = ["ControlProblem", "make_problem", "rollout", "survival", "trajectory_cost",
           "check_problem", "ROLLOUT_UNROLL"]
