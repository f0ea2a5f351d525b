"""The planner contract: a planner is a NamedTuple of pure functions (as an optax
transformation is), and one set of solve functions runs any planner.

  state = planner.init(models, x0, key, theta_init=None)           -> PlanState
  state, metrics = planner.update(models, state, beta_k, level_k)
  result = planner.extract(models, state)                          -> PlanResult

  solve(planner, models, x0, key, beta, theta_init=None)       one plan, checked, jitted
  solve_batch(planner, models, x0s, keys, betas, theta_init=None)  a vmapped batch
  solve_sharded(planner, models, x0s, keys, betas, theta_init=None)  the batch over devices
  solve_traced(planner, models, x0, key, beta, theta_init=None)  no checks, no jit: for
      use inside your own jit / scan / vmap (the closed loop calls it every step)

A solve is one `lax.scan` of `update` over iterations k whose beta_k and score level
l(k) are precomputed (`sgp_jax.schedules`, SPEC A.6); `run_iterations` is that loop,
shared with the policy optimiser. The public solves check their inputs on the host
first (`check_inputs`, `check_batch`, and the planner's own `check_models`, which
runs its problem's callables abstractly), so a wrong shape fails with one clear
line instead of deep inside the scan. Planners are hashable (functions and a frozen
config), so the jitted solves take them as a static argument: one compile per
planner and input shapes.

`models` is any pytree holding the learned models and their parameters; it is an
argument, never a closed-over constant, so one compile serves every checkpoint.

`make_gradient_planner(objective, config, ...)` builds a planner that runs Adam on a
surrogate objective (single shooting, loss shooting, collocation, transcription);
`sampling_planner.make_sampling_planner` builds the zeroth-order ones (CEM, MPPI).
"""
from __future__ import annotations

import dataclasses
import functools
import numbers
from typing import Any, Callable, NamedTuple, Optional

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct
from jax.sharding import PartitionSpec

from sgp_jax import distributed, schedules
from sgp_jax.types import Array, PRNGKey


# ------------------------------------------------------------------ configs
@dataclasses.dataclass(frozen=True)
class PlannerConfig:
  """Settings of the iteration loop, shared by every planner.

  Attributes:
    horizon: T, the number of actions.
    num_iters: iterations per solve.
    beta_schedule: "constant" (the paper's figures) or "cosine" (beta -> beta_min).
    beta_min: the end of the cosine beta schedule.
    anneal: walk the score's noise levels from largest to smallest (SPEC A.6);
      otherwise always use the smallest.
    init_std: std of the random initial actions (0 gives zeros).
    action_low, action_high: optional box on actions (projection after each step).
    record_history: keep per-iteration metrics (costs memory at large batches).
    batch_chunk: plans solved at once (vmapped) inside `solve_batch`, the batch
      walked chunk by chunk (`lax.map`) so that a large batch keeps its working set
      in cache; None: 64 on CPU, the whole batch on GPU/TPU.
  """
  horizon: int = 20
  num_iters: int = 500
  beta_schedule: str = "constant"
  beta_min: float = 0.0
  anneal: bool = True
  init_std: float = 0.1
  action_low: Optional[float] = None
  action_high: Optional[float] = None
  record_history: bool = True
  batch_chunk: Optional[int] = None

  def __post_init__(self):
    if self.horizon < 1:
      raise ValueError(f"horizon must be >= 1, got {self.horizon}.")
    if self.num_iters < 1:
      raise ValueError(f"num_iters must be >= 1, got {self.num_iters}.")
    schedules.check_beta_schedule(self.beta_schedule)
    for name in ("action_low", "action_high"):
      value = getattr(self, name)
      if value is not None and not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number or None (one bound for every action "
                        f"dimension; a planner config is hashable), got {value!r}.")
    if (self.action_low is not None and self.action_high is not None
        and self.action_low >= self.action_high):
      raise ValueError(f"action_low {self.action_low} must be < action_high "
                       f"{self.action_high}.")
    if self.batch_chunk is not None and self.batch_chunk < 1:
      raise ValueError(f"batch_chunk must be >= 1 or None, got {self.batch_chunk}.")


@dataclasses.dataclass(frozen=True)
class GradientPlannerConfig(PlannerConfig):
  """`PlannerConfig` plus Adam's learning rate (the gradient planners)."""
  learning_rate: float = 1e-2

  def __post_init__(self):
    super().__post_init__()
    if not self.learning_rate > 0:
      raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}.")


# ------------------------------------------------------------------ state, result
@struct.dataclass
class PlanState:
  theta: Any           # decision variables
  opt_state: Any       # the optimiser's (or sampler's) state
  x0: Array            # (dim_x,)
  iteration: Array     # int32 scalar


class PlanResult(NamedTuple):
  """What a solve returns (leading batch axis B for `solve_batch`).

  actions: (T, dim_u) the planned actions.
  states: (T+1, dim_x) the states the plan predicts (model rollout or decision states).
  cost: scalar task cost of the final plan (without the penalty).
  theta: the final decision variables.
  history: dict of per-iteration metrics, each (num_iters,), empty if not recorded.
  """
  actions: Array
  states: Array
  cost: Array
  theta: Any
  history: dict


def no_model_check(models) -> None:
  """The default `Planner.check_models`: accepts any models."""
  del models


class Planner(NamedTuple):
  """A planner: pure functions and the settings they were built with.

  init(models, x0 (dim_x,), key, theta_init=None) -> PlanState
  update(models, state, beta_k, level_k) -> (PlanState, metrics dict of scalars)
  extract(models, state) -> PlanResult (history empty; the solves fill it)
  config: its `PlannerConfig` (horizon, num_iters, beta and level schedules, ...).
  dim_x: the state dimension x0 must have.
  num_levels: the score's noise levels (the level schedule walks them).
  check_models(models): raises ValueError when `models` do not fit the problem
    (host side; the public solves call it).
  initial_value: False for a boundary-value planner (a fixed x_goal), which a
    receding-horizon loop cannot use.
  """
  init: Callable
  update: Callable
  extract: Callable
  config: PlannerConfig
  dim_x: int
  num_levels: int = 1
  check_models: Callable = no_model_check
  initial_value: bool = True


# ------------------------------------------------------------------ the loop
def run_iterations(update: Callable, models, state, betas: Array, levels: Array,
                   record_history: bool = True):
  """`update(models, state, beta_k, level_k)` scanned over betas, levels (num_iters,).

  Returns (final state, history: dict of (num_iters,) metrics, or {} when not
  recorded). The one optimisation loop of every planner and the policy optimiser.
  """
  def body(state, inputs):
    state, metrics = update(models, state, *inputs)
    return state, (metrics if record_history else {})
  return jax.lax.scan(body, state, (betas, levels))


def iteration_betas(config, beta) -> Array:
  """beta_k (num_iters,) of `config`'s beta schedule from `beta` (any config with
  num_iters, beta_min and beta_schedule: a PlannerConfig or a PolicyConfig)."""
  return schedules.beta_schedule(config.num_iters, beta, config.beta_min,
                                 config.beta_schedule)


def last_level(config: PlannerConfig, num_levels: int) -> int:
  """The score level of the last iteration (where a plan's final cost is read)."""
  return int(schedules.iteration_levels(config.num_iters, num_levels, config.anneal)[-1])


def solve_traced(planner: Planner, models, x0: Array, key: PRNGKey, beta,
                 theta_init=None) -> PlanResult:
  """One solve as a traceable function (no host checks, no jit): x0 (dim_x,).

  Call `check_inputs` (or `check_x0` and `planner.check_models`) on the host first.
  """
  c = planner.config
  levels = schedules.iteration_levels(c.num_iters, planner.num_levels, c.anneal)
  state = planner.init(models, x0, key, theta_init)
  state, history = run_iterations(planner.update, models, state,
                                  iteration_betas(c, beta), jnp.asarray(levels),
                                  c.record_history)
  return planner.extract(models, state)._replace(history=history)


def solve_chunked(planner: Planner, models, x0s: Array, keys: Array, betas: Array,
                  theta_init=None) -> PlanResult:
  """The batched solve as a traceable function: `solve_traced` vmapped over chunks of
  `config.batch_chunk` plans, the chunks walked by `lax.map`."""
  chunk = planner.config.batch_chunk
  if chunk is None and jax.default_backend() == "cpu":
    chunk = 64
  one = lambda args: solve_traced(planner, models, *args)
  inputs = (x0s, keys, betas, theta_init)
  if chunk is None or chunk >= x0s.shape[0]:
    return jax.vmap(one)(inputs)
  return jax.lax.map(one, inputs, batch_size=chunk)


# The jitted solves behind `solve` and `solve_batch`; the planner is static (hashable).
solve_jit = jax.jit(solve_traced, static_argnums=0)
solve_batch_jit = jax.jit(solve_chunked, static_argnums=0)


# ------------------------------------------------------------------ checked solves
def solve(planner: Planner, models, x0: Array, key: PRNGKey, beta,
          theta_init=None) -> PlanResult:
  """Plans from one initial state x0 (dim_x,) with penalty weight beta (checked, jitted)."""
  x0, beta = check_inputs(planner, models, x0, beta)
  return solve_jit(planner, models, x0, key, beta, theta_init)


def solve_batch(planner: Planner, models, x0s: Array, keys: Array, betas: Array,
                theta_init=None) -> PlanResult:
  """Plans for a batch: x0s (B, dim_x), keys (B, 2), betas (B,) (checked, jitted)."""
  x0s, keys, betas = check_batch(planner, models, x0s, keys, betas)
  return solve_batch_jit(planner, models, x0s, keys, betas, theta_init)


def solve_sharded(planner: Planner, models, x0s: Array, keys: Array, betas: Array,
                  theta_init=None) -> PlanResult:
  """`solve_batch` with the batch split over every device of every process.

  The batch axis is sharded over `distributed.batch_mesh()` (padded with copies
  of its last row to a multiple of the device count, the padding dropped from
  the result) and the models are replicated; each device walks its part in
  chunks as `solve_batch` does. With several processes (`distributed.initialize`)
  every process passes the same inputs and gets the whole result as host arrays.
  With one device this is `solve_batch`. Results equal `solve_batch`'s.
  """
  mesh = distributed.batch_mesh()
  if mesh.size == 1:
    return solve_batch(planner, models, x0s, keys, betas, theta_init)
  x0s, keys, betas = check_batch(planner, models, x0s, keys, betas)
  size = x0s.shape[0]
  pad = -size % mesh.size
  inputs = jax.tree.map(lambda a: _pad_rows(a, pad), (x0s, keys, betas, theta_init))
  result = _sharded_solver(planner, mesh)(
      distributed.replicate(models, mesh), *distributed.shard_batch(inputs, mesh))
  result = distributed.gather(result)
  return jax.tree.map(lambda a: a[:size], result) if pad else result


@functools.lru_cache(maxsize=None)
def _sharded_solver(planner: Planner, mesh):
  """The jitted shard_map of `solve_chunked` for one planner and device mesh."""
  batch = PartitionSpec(mesh.axis_names[0])
  return jax.jit(jax.shard_map(
      functools.partial(solve_chunked, planner), mesh=mesh,
      in_specs=(PartitionSpec(),) + (batch,) * 4, out_specs=batch))


def check_inputs(planner: Planner, models, x0, beta) -> tuple[Array, Array]:
  """Host checks of one solve's inputs (x0, beta and the models); returns x0 as a
  float array and beta as float32."""
  x0 = _as_float(x0)
  check_x0(planner, x0)
  beta = jnp.asarray(beta, jnp.float32)
  _check_finite(beta, "beta")
  planner.check_models(models)
  return x0, beta


def check_batch(planner: Planner, models, x0s, keys, betas):
  """Host checks of a batch's inputs and the models; returns (x0s float, keys, betas)."""
  x0s = _as_float(x0s)
  if x0s.ndim != 2:
    raise ValueError(f"x0s must have shape (B, dim_x), got {x0s.shape}.")
  if x0s.shape[0] == 0:
    raise ValueError("the plan batch is empty (x0s of shape "
                     f"{x0s.shape}); pass at least one initial state, key and beta.")
  check_x0(planner, x0s[0])
  _check_finite(x0s, "x0s")
  betas = jnp.asarray(betas, jnp.float32)
  if betas.shape != (x0s.shape[0],) or keys.shape[0] != x0s.shape[0]:
    raise ValueError(f"keys {keys.shape} and betas {betas.shape} must have the batch "
                     f"size {x0s.shape[0]} of x0s.")
  _check_finite(betas, "betas")
  planner.check_models(models)
  return x0s, keys, betas


def check_x0(planner: Planner, x0: Array) -> None:
  """Raises ValueError unless x0 is a finite vector of shape (dim_x,)."""
  if x0.ndim != 1 or x0.shape[0] != planner.dim_x:
    raise ValueError(f"x0 must have shape ({planner.dim_x},), got {x0.shape}.")
  _check_finite(x0, "x0")


def _check_finite(x: Array, name: str) -> None:
  if not isinstance(x, jax.core.Tracer) and not bool(jnp.all(jnp.isfinite(x))):
    raise ValueError(f"{name} contains NaN or inf: {x}" if jnp.size(x) <= 8 else
                     f"{name} contains NaN or inf.")


def _as_float(x) -> Array:
  """x as a jax array, integers promoted to float32 (floats keep their dtype)."""
  x = jnp.asarray(x)
  return x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(jnp.float32)


def _pad_rows(a: Array, pad: int) -> Array:
  """a with `pad` copies of its last row appended along axis 0."""
  if not pad:
    return a
  a = np.asarray(a)
  return np.concatenate([a, np.repeat(a[-1:], pad, axis=0)])


def batch_inputs(x0s: Array, seed: int, betas) -> tuple[Array, Array, Array]:
  """Helper: keys and betas broadcast to the batch of x0s (B, dim_x)."""
  chex.assert_rank(x0s, 2)
  b = x0s.shape[0]
  keys = jax.random.split(jax.random.PRNGKey(seed), b)
  return x0s, keys, jnp.broadcast_to(jnp.asarray(betas, jnp.float32), (b,))


# ------------------------------------------------------------------ gradient planners
def clip_actions(u: Array, config: PlannerConfig) -> Array:
  """u projected on the config's action box (unchanged without one)."""
  if config.action_low is None and config.action_high is None:
    return u
  return jnp.clip(u, config.action_low, config.action_high)


class Objective(NamedTuple):
  """What a gradient planner minimises, and how its decision variables theta look.

  init_theta(models, x0, key, config) -> theta
  loss(models, theta, x0, beta, level) -> (surrogate loss, aux dict with "cost")
  extract(models, theta, x0) -> (actions (T, dim_u), states (T+1, dim_x))
  project(theta, config) -> theta   (after each optimiser step; e.g. action boxes)
  """
  init_theta: Callable
  loss: Callable
  extract: Callable
  project: Callable


def make_gradient_planner(objective: Objective, config: GradientPlannerConfig,
                          dim_x: int, num_levels: int = 1,
                          check_models: Callable = no_model_check,
                          initial_value: bool = True) -> Planner:
  """Adam (`config.learning_rate`) on `objective`'s surrogate, theta projected after
  every step. The result's `cost` is the task cost of the final theta (the loss's
  aux "cost" at beta = 0 and the last iteration's level)."""
  if not isinstance(config, GradientPlannerConfig):
    raise TypeError("a gradient planner needs a GradientPlannerConfig, got "
                    f"{type(config).__name__}.")
  optimizer = optax.adam(config.learning_rate)
  final_level = last_level(config, num_levels)

  def init(models, x0, key, theta_init=None) -> PlanState:
    theta = (objective.init_theta(models, x0, key, config)
             if theta_init is None else theta_init)
    return PlanState(theta=theta, opt_state=optimizer.init(theta), x0=x0,
                     iteration=jnp.zeros((), jnp.int32))

  def update(models, state: PlanState, beta, level):
    def loss_fn(theta):
      return objective.loss(models, theta, state.x0, beta, level)
    (loss, aux), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.theta)
    updates, opt_state = optimizer.update(grads, state.opt_state, state.theta)
    theta = objective.project(optax.apply_updates(state.theta, updates), config)
    metrics = {"loss": loss, "cost": aux["cost"], "grad_norm": optax.global_norm(grads)}
    return PlanState(theta, opt_state, state.x0, state.iteration + 1), metrics

  def extract(models, state: PlanState) -> PlanResult:
    actions, states = objective.extract(models, state.theta, state.x0)
    _, aux = objective.loss(models, state.theta, state.x0, 0.0, final_level)
    return PlanResult(actions=actions, states=states, cost=aux["cost"],
                      theta=state.theta, history={})

  return Planner(init=init, update=update, extract=extract, config=config, dim_x=dim_x,
                 num_levels=int(num_levels), check_models=check_models,
                 initial_value=initial_value)


__all__ = ["PlannerConfig", "GradientPlannerConfig", "PlanState", "PlanResult", "Planner",
           "no_model_check", "run_iterations", "iteration_betas", "last_level", "solve_traced",
           "solve_chunked", "solve", "solve_batch", "solve_sharded", "check_inputs",
           "check_batch", "check_x0", "batch_inputs", "clip_actions", "Objective",
           "make_gradient_planner"]
