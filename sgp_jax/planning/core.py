"""The shared contract of the gradient planners.

A gradient planner minimises a surrogate objective J(theta; beta_k, level_k) over
decision variables theta (a pytree: an action sequence, states and actions, or
policy parameters) with an optax optimiser. Its loop is one `jax.lax.scan` over
iterations whose beta_k and score level l(k) are precomputed (SPEC A.6), and the
whole solve is vmapped over initial states, seeds and beta values.

Contract (optax-like, pure functions):
  state = planner.init(models, x0, key, theta_init=None)
  state, metrics = planner.update(models, state, beta_k, level_k)
  result = planner.solve(models, x0, key, beta, theta_init=None)
  results = planner.solve_batch(models, x0s, keys, betas)
  result = planner.solve_traced(models, x0, key, beta)   # inside your own jit/scan/vmap

`solve` and `solve_batch` check their inputs on the host and jit; `solve_traced` is
the same solve without checks or jit, for composing into a larger jitted program
(MPC, the closed-loop evaluator); call `check_x0` on the host first.

`models` is any pytree holding the learned models and their parameters; it is an
argument, never a closed-over constant, so one compile serves every checkpoint.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, NamedTuple, Optional

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct
from jax.sharding import PartitionSpec

from sgp_jax import distributed
from sgp_jax.planning import annealing
from sgp_jax.types import Array, PRNGKey


@dataclasses.dataclass(frozen=True)
class GradientPlannerConfig:
  """Settings shared by every gradient planner.

  Attributes:
    horizon: T, the number of actions.
    num_iters: optimiser iterations per solve.
    learning_rate: Adam's learning rate.
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
  learning_rate: float = 1e-2
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
    if not self.learning_rate > 0:
      raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}.")
    if self.beta_schedule not in ("constant", "cosine"):
      raise ValueError(f"beta_schedule must be 'constant' or 'cosine', got "
                       f"{self.beta_schedule!r}.")
    if (self.action_low is not None and self.action_high is not None
        and self.action_low >= self.action_high):
      raise ValueError(f"action_low {self.action_low} must be < action_high "
                       f"{self.action_high}.")
    if self.batch_chunk is not None and self.batch_chunk < 1:
      raise ValueError(f"batch_chunk must be >= 1 or None, got {self.batch_chunk}.")


@struct.dataclass
class PlanState:
  theta: Any           # decision variables
  opt_state: Any
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


class Objective(NamedTuple):
  """What a concrete planner supplies.

  init_theta(models, x0, key, config) -> theta
  loss(models, theta, x0, beta, level) -> (surrogate loss, aux dict with "cost")
  extract(models, theta, x0) -> (actions (T, dim_u), states (T+1, dim_x))
  project(theta, config) -> theta   (after each optimiser step; e.g. action boxes)
  """
  init_theta: Callable
  loss: Callable
  extract: Callable
  project: Callable


def clip_actions(u: Array, config: GradientPlannerConfig) -> Array:
  if config.action_low is None and config.action_high is None:
    return u
  return jnp.clip(u, config.action_low, config.action_high)


class GradientPlanner:
  """Adam on a surrogate objective, the loop a `lax.scan`; see module docstring."""

  def __init__(self, objective: Objective, config: GradientPlannerConfig,
               num_levels: int = 1, dim_x: Optional[int] = None):
    self.objective = objective
    self.config = config
    self.num_levels = int(num_levels)
    self.dim_x = dim_x
    self.optimizer = optax.adam(config.learning_rate)
    if config.anneal:
      self.levels = jnp.asarray(annealing.level_schedule(config.num_iters, self.num_levels))
    else:
      self.levels = jnp.full((config.num_iters,), self.num_levels - 1, jnp.int32)
    self._solve_jit = jax.jit(self.solve_traced)
    self._solve_batch_jit = jax.jit(self.solve_chunked)
    self._solve_sharded_jits = {}  # one per device mesh, built on first use

  # ------------------------------------------------------------- contract
  def init(self, models, x0: Array, key: PRNGKey, theta_init=None) -> PlanState:
    theta = (self.objective.init_theta(models, x0, key, self.config)
             if theta_init is None else theta_init)
    return PlanState(theta=theta, opt_state=self.optimizer.init(theta), x0=x0,
                     iteration=jnp.zeros((), jnp.int32))

  def update(self, models, state: PlanState, beta, level) -> tuple[PlanState, dict]:
    def loss_fn(theta):
      return self.objective.loss(models, theta, state.x0, beta, level)
    (loss, aux), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.theta)
    updates, opt_state = self.optimizer.update(grads, state.opt_state, state.theta)
    theta = self.objective.project(optax.apply_updates(state.theta, updates), self.config)
    metrics = {"loss": loss, "cost": aux["cost"],
               "grad_norm": optax.global_norm(grads)}
    return PlanState(theta, opt_state, state.x0, state.iteration + 1), metrics

  def solve(self, models, x0: Array, key: PRNGKey, beta, theta_init=None) -> PlanResult:
    """Plans from one initial state x0 (dim_x,) with penalty weight beta."""
    x0 = _as_float(x0)
    self.check_x0(x0)
    beta = jnp.asarray(beta, jnp.float32)
    _check_finite(beta, "beta")
    return self._solve_jit(models, x0, key, beta, theta_init)

  def solve_batch(self, models, x0s: Array, keys: Array, betas: Array,
                  theta_init=None) -> PlanResult:
    """Plans for a batch: x0s (B, dim_x), keys (B, 2), betas (B,)."""
    x0s, keys, betas = self._check_batch(x0s, keys, betas)
    return self._solve_batch_jit(models, x0s, keys, betas, theta_init)

  def solve_chunked(self, models, x0s, keys, betas, theta_init=None) -> PlanResult:
    """The batched solve as a traceable function: `solve_traced` vmapped over chunks
    of `config.batch_chunk` plans, the chunks walked by `lax.map`."""
    chunk = self.config.batch_chunk
    if chunk is None and jax.default_backend() == "cpu":
      chunk = 64
    one = lambda args: self.solve_traced(models, *args)
    inputs = (x0s, keys, betas, theta_init)
    if chunk is None or chunk >= x0s.shape[0]:
      return jax.vmap(one)(inputs)
    return jax.lax.map(one, inputs, batch_size=chunk)

  def betas(self, beta) -> Array:
    c = self.config
    return annealing.beta_schedule(c.num_iters, beta, c.beta_min, c.beta_schedule)

  def solve_traced(self, models, x0, key, beta, theta_init=None) -> PlanResult:
    """The solve as a traceable function (no host checks, no jit): x0 (dim_x,)."""
    state = self.init(models, x0, key, theta_init)

    def body(state, inputs):
      beta_k, level_k = inputs
      state, metrics = self.update(models, state, beta_k, level_k)
      return state, (metrics if self.config.record_history else {})

    state, history = jax.lax.scan(body, state, (self.betas(beta), self.levels))
    actions, states = self.objective.extract(models, state.theta, x0)
    _, aux = self.objective.loss(models, state.theta, x0, 0.0, self.levels[-1])
    return PlanResult(actions=actions, states=states, cost=aux["cost"],
                      theta=state.theta, history=history)

  def solve_sharded(self, models, x0s: Array, keys: Array, betas: Array,
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
      return self.solve_batch(models, x0s, keys, betas, theta_init)
    x0s, keys, betas = self._check_batch(x0s, keys, betas)
    self.check_models(models)
    size = x0s.shape[0]
    pad = -size % mesh.size
    inputs = jax.tree.map(lambda a: _pad_rows(a, pad), (x0s, keys, betas, theta_init))
    if mesh not in self._solve_sharded_jits:
      batch = PartitionSpec(mesh.axis_names[0])
      self._solve_sharded_jits[mesh] = jax.jit(jax.shard_map(
          self.solve_chunked, mesh=mesh, in_specs=(PartitionSpec(),) + (batch,) * 4,
          out_specs=batch))
    result = self._solve_sharded_jits[mesh](
        distributed.replicate(models, mesh), *distributed.shard_batch(inputs, mesh))
    result = distributed.gather(result)
    return jax.tree.map(lambda a: a[:size], result) if pad else result

  def _check_batch(self, x0s, keys, betas):
    """Host checks of a batch's inputs; returns them as arrays (x0s float)."""
    x0s = _as_float(x0s)
    if x0s.ndim != 2:
      raise ValueError(f"x0s must have shape (B, dim_x), got {x0s.shape}.")
    if x0s.shape[0] == 0:
      raise ValueError("the plan batch is empty (x0s of shape "
                       f"{x0s.shape}); pass at least one initial state, key and beta.")
    self.check_x0(x0s[0])
    _check_finite(x0s, "x0s")
    betas = jnp.asarray(betas, jnp.float32)
    if betas.shape != (x0s.shape[0],) or keys.shape[0] != x0s.shape[0]:
      raise ValueError(f"keys {keys.shape} and betas {betas.shape} must have the batch "
                       f"size {x0s.shape[0]} of x0s.")
    _check_finite(betas, "betas")
    return x0s, keys, betas

  def check_models(self, models) -> None:
    """Raises ValueError if `models` do not fit the planner's problem (a hook: no
    check here; the planner factories' `ValidatedPlanner` checks)."""
    del models

  def check_x0(self, x0: Array) -> None:
    """Raises ValueError unless x0 is a finite vector of shape (dim_x,)."""
    if x0.ndim != 1 or (self.dim_x is not None and x0.shape[0] != self.dim_x):
      raise ValueError(f"x0 must have shape ({self.dim_x},), got {x0.shape}.")
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


def score_penalty(score_fn: Callable, models, z: Array, level) -> Array:
  """-sum_t <z_t, stop_gradient(s(z_t, level))>: its gradient is -sum_t J_t^T s(z_t).

  z: (T, dim_z) the points whose likelihood the plan should raise.
  """
  s = jax.lax.stop_gradient(score_fn(models, z, level))
  return -jnp.sum(z * s)


def batch_inputs(x0s: Array, seed: int, betas) -> tuple[Array, Array, Array]:
  """Helper: keys and betas broadcast to the batch of x0s (B, dim_x)."""
  chex.assert_rank(x0s, 2)
  b = x0s.shape[0]
  keys = jax.random.split(jax.random.PRNGKey(seed), b)
  return x0s, keys, jnp.broadcast_to(jnp.asarray(betas, jnp.float32), (b,))
