"""Feedback-policy optimisation through a learned model (SPEC A.8).

A policy u_t = pi_theta(x_t, t) (optionally clamped) is optimised over batches of
initial states drawn uniformly in a box, with exploration noise
u_t = pi(x_t, t) + w_t, w ~ N(0, noise_std^2), rolled through the learned
dynamics. Policies: time-varying open loop (u_t = k_t), time-varying affine
(u_t = K_t x_t + k_t), or a flax MLP u = pi(x).

Value gradient, two options:
  first_order   d/dtheta of mean_i V_i, differentiated through the dynamics;
  zeroth_order  a surrogate whose gradient is
                (1 / (B std^2)) sum_i [V(x_i0, w_i) - V(x_i0, 0)] sum_t Dpi(x_it)^T w_it
                (zero-noise baseline, states detached, actions recomputed by the
                policy; Suh et al. 2022).
Score term ("DRisk"): -beta mean_i sum_t <z_it, sg(s(z_it))>, z = (x_t, u_t) on the
noisy rollout; it back-propagates through the dynamics in both modes (no sigma^2).
Update: global-norm clipping (default 0.5 T), then Adam. The logged cost is that
of zero-noise rollouts. The loop is one `lax.scan`; `solve_batch` vmaps it over
seeds and betas.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, NamedTuple, Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

from sgp_jax import networks, schedules
from sgp_jax.normalization import Normalizer
from sgp_jax.planning.base import iteration_betas, run_iterations
from sgp_jax.planning.objectives import score_penalty, trajectory_points
from sgp_jax.planning.problem import ControlProblem, check_problem, trajectory_cost
from sgp_jax.types import Array, Params, PRNGKey


# ------------------------------------------------------------------- policies
class Policy(NamedTuple):
  """init(key) -> params; apply(params, x (dim_x,), t int) -> u (dim_u,), unclamped.

  horizon: the number of time steps a time-varying policy covers (None: any).
  """
  dim_x: int
  dim_u: int
  init: Callable
  apply: Callable
  horizon: Optional[int] = None


def open_loop_policy(horizon: int, dim_x: int, dim_u: int,
                     init_std: float = 0.0) -> Policy:
  """u_t = k_t: params (T, dim_u)."""
  return Policy(dim_x, dim_u,
                init=lambda key: init_std * jax.random.normal(key, (horizon, dim_u)),
                apply=lambda params, x, t: params[t], horizon=horizon)


def affine_policy(horizon: int, dim_x: int, dim_u: int,
                  init_std: float = 0.0) -> Policy:
  """u_t = K_t x_t + k_t: params {"K": (T, dim_u, dim_x), "k": (T, dim_u)}."""
  def init(key):
    key_gain, key_bias = jax.random.split(key)
    return {"K": init_std * jax.random.normal(key_gain, (horizon, dim_u, dim_x)),
            "k": init_std * jax.random.normal(key_bias, (horizon, dim_u))}
  return Policy(dim_x, dim_u, init=init,
                apply=lambda params, x, t: params["K"][t] @ x + params["k"][t],
                horizon=horizon)


def mlp_policy(dim_x: int, dim_u: int, hidden: Sequence[int] = (64, 64),
               activation: str = "elu", x_normalizer: Optional[Normalizer] = None,
               output_scale: float = 1.0) -> Policy:
  """u = output_scale * MLP(x_bar), time-invariant; x_bar from `x_normalizer`."""
  net = networks.MLP(tuple(hidden), dim_u, activation)
  norm = x_normalizer.normalize if x_normalizer is not None else (lambda x: x)
  return Policy(dim_x, dim_u, init=lambda key: net.init(key, jnp.zeros((dim_x,))),
                apply=lambda params, x, t: output_scale * net.apply(params, norm(x)))


# -------------------------------------------------------------------- config
@dataclasses.dataclass(frozen=True)
class PolicyConfig:
  """Settings of the policy optimiser.

  Attributes:
    horizon: T.
    num_iters: Adam steps.
    learning_rate: Adam's learning rate.
    batch_size: B, initial states per step.
    x0_low, x0_high: the box of initial states, each (dim_x,).
    noise_std: exploration noise std (> 0 for zeroth_order).
    gradient: "first_order" or "zeroth_order".
    clamp: "none", "hard" (clip) or "tanh" (mid + half tanh((u - mid) / half)),
      to [action_low, action_high].
    grad_clip: global-norm clip; None gives 0.5 * horizon; 0 disables.
    beta_schedule, beta_min, anneal: as in `PlannerConfig`.
    record_history: keep per-iteration metrics (adds a zero-noise evaluation).
  """
  horizon: int = 20
  num_iters: int = 500
  learning_rate: float = 1e-3
  batch_size: int = 64
  x0_low: tuple = ()
  x0_high: tuple = ()
  noise_std: float = 0.0
  gradient: str = "first_order"
  clamp: str = "none"
  action_low: Any = None
  action_high: Any = None
  grad_clip: Optional[float] = None
  beta_schedule: str = "constant"
  beta_min: float = 0.0
  anneal: bool = True
  record_history: bool = True

  def __post_init__(self):
    if self.horizon < 1 or self.num_iters < 1 or self.batch_size < 1:
      raise ValueError("horizon, num_iters and batch_size must be >= 1, got "
                       f"{self.horizon}, {self.num_iters}, {self.batch_size}.")
    if not self.learning_rate > 0:
      raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}.")
    lo, hi = np.asarray(self.x0_low, float), np.asarray(self.x0_high, float)
    if lo.ndim != 1 or lo.shape != hi.shape or lo.size == 0 or np.any(lo > hi):
      raise ValueError(f"x0_low and x0_high must be equal-length non-empty with low <= "
                       f"high, got {self.x0_low}, {self.x0_high}.")
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
      raise ValueError("x0_low and x0_high must be finite.")
    if self.gradient not in ("first_order", "zeroth_order"):
      raise ValueError(f"gradient must be 'first_order' or 'zeroth_order', got "
                       f"{self.gradient!r}.")
    if self.noise_std < 0 or (self.gradient == "zeroth_order" and not self.noise_std > 0):
      raise ValueError(f"noise_std must be >= 0, and > 0 for zeroth_order; got "
                       f"{self.noise_std}.")
    if self.clamp not in ("none", "hard", "tanh"):
      raise ValueError(f"clamp must be 'none', 'hard' or 'tanh', got {self.clamp!r}.")
    if self.clamp != "none" and (self.action_low is None or self.action_high is None
                                 or np.any(np.asarray(self.action_low)
                                           >= np.asarray(self.action_high))):
      raise ValueError(f"clamp={self.clamp!r} needs action_low < action_high, got "
                       f"{self.action_low}, {self.action_high}.")
    schedules.check_beta_schedule(self.beta_schedule)

  @property
  def clip_norm(self) -> float:
    return 0.5 * self.horizon if self.grad_clip is None else float(self.grad_clip)


@struct.dataclass
class PolicyState:
  params: Params
  opt_state: Any
  key: Array
  iteration: Array  # int32 scalar


class PolicyResult(NamedTuple):
  """params: the final policy parameters; cost: their mean zero-noise cost on a
  fresh batch of initial states; history: per-iteration metrics (num_iters,)."""
  params: Params
  cost: Array
  history: dict


# ----------------------------------------------------------------- optimiser
class PolicyOptimizer:
  """Optimises `policy` on `problem` (dynamics, costs, optional xu score)."""

  def __init__(self, problem: ControlProblem, policy: Policy, config: PolicyConfig):
    if (policy.dim_x, policy.dim_u) != (problem.dim_x, problem.dim_u):
      raise ValueError(f"policy dims (dim_x={policy.dim_x}, dim_u={policy.dim_u}) do not "
                       f"match the problem's ({problem.dim_x}, {problem.dim_u}).")
    if policy.horizon is not None and policy.horizon < config.horizon:
      raise ValueError(f"the policy covers {policy.horizon} steps but the horizon is "
                       f"{config.horizon}.")
    if len(config.x0_low) != problem.dim_x:
      raise ValueError(f"x0_low/x0_high have {len(config.x0_low)} entries; dim_x is "
                       f"{problem.dim_x}.")
    params = jax.eval_shape(policy.init, jax.random.PRNGKey(0))
    out = jax.eval_shape(policy.apply, params,
                         jax.ShapeDtypeStruct((problem.dim_x,), jnp.float32),
                         jax.ShapeDtypeStruct((), jnp.int32))
    if out.shape != (problem.dim_u,):
      raise ValueError(f"policy.apply returns shape {out.shape}, expected "
                       f"({problem.dim_u},).")
    self.problem, self.policy, self.config = problem, policy, config
    chain = [optax.clip_by_global_norm(config.clip_norm)] if config.clip_norm > 0 else []
    self.optimizer = optax.chain(*chain, optax.adam(config.learning_rate))
    self.levels = jnp.asarray(schedules.iteration_levels(
        config.num_iters, problem.num_levels, config.anneal))
    self._low = jnp.asarray(config.x0_low, jnp.float32)
    self._high = jnp.asarray(config.x0_high, jnp.float32)
    self._solve_jit = jax.jit(self.solve_traced)
    self._solve_batch_jit = jax.jit(jax.vmap(self.solve_traced, in_axes=(None, 0, 0, None)))

  # -------------------------------------------------------------- pieces
  def act(self, params: Params, x: Array, t) -> Array:
    """The (clamped) policy action at x (dim_x,), step t: (dim_u,)."""
    u = self.policy.apply(params, x, t)
    c = self.config
    if c.clamp == "hard":
      return jnp.clip(u, c.action_low, c.action_high)
    if c.clamp == "tanh":
      lo, hi = jnp.asarray(c.action_low), jnp.asarray(c.action_high)
      mid, half = (hi + lo) / 2, (hi - lo) / 2
      return mid + half * jnp.tanh((u - mid) / half)
    return u

  def rollout(self, models, params: Params, x0: Array, noise: Array):
    """xs (T+1, dim_x) and executed us (T, dim_u) with u_t = pi(x_t, t) + noise_t."""
    def step(x, inputs):
      t, w = inputs
      u = self.act(params, x, t) + w
      x_next = self.problem.dynamics(models, x, u)
      return x_next, (x_next, u)
    _, (xs, us) = jax.lax.scan(step, x0, (jnp.arange(noise.shape[0]), noise))
    return jnp.concatenate([x0[None], xs], 0), us

  def evaluate(self, models, params: Params, x0s: Array) -> Array:
    """Zero-noise costs of the policy from x0s (B, dim_x): shape (B,)."""
    noise = jnp.zeros((x0s.shape[0], self.config.horizon, self.problem.dim_u))
    return self._costs(models, *self._rollouts(models, params, x0s, noise))

  def sample_x0(self, key: PRNGKey) -> Array:
    """B initial states uniform in [x0_low, x0_high]: (B, dim_x)."""
    return jax.random.uniform(key, (self.config.batch_size, self.problem.dim_x),
                              minval=self._low, maxval=self._high)

  def _rollouts(self, models, params, x0s, noise):
    return jax.vmap(self.rollout, in_axes=(None, None, 0, 0))(models, params, x0s, noise)

  def _costs(self, models, xs, us):
    return jax.vmap(lambda x, u: trajectory_cost(self.problem, models, x, u))(xs, us)

  def loss(self, models, params: Params, x0s: Array, noise: Array, beta, level):
    """The surrogate (value + beta * score term) and aux {"cost": mean noisy cost}."""
    c = self.config
    xs, us = self._rollouts(models, params, x0s, noise)
    costs = self._costs(models, xs, us)
    if c.gradient == "first_order":
      value = jnp.mean(costs)
    else:
      baseline = self.evaluate(models, params, x0s)
      advantage = jax.lax.stop_gradient(costs - baseline)  # (B,)
      steps = jnp.arange(c.horizon)
      acts = jax.vmap(jax.vmap(self.act, in_axes=(None, 0, 0)), in_axes=(None, 0, None))(
          params, jax.lax.stop_gradient(xs[:, :-1]), steps)  # (B, T, dim_u)
      value = jnp.sum(advantage[:, None, None] * acts * noise) / (
          c.batch_size * c.noise_std ** 2)
    total = value
    if self.problem.score is not None:
      z = jax.vmap(trajectory_points)(xs, us)  # (B, T, dim_x + dim_u)
      total = total + beta * jnp.mean(jax.vmap(
          lambda zi: score_penalty(self.problem.score, models, zi, level))(z))
    return total, {"cost": jnp.mean(costs)}

  # ------------------------------------------------------------ contract
  def init(self, key: PRNGKey, params_init: Optional[Params] = None) -> PolicyState:
    key_init, key_run = jax.random.split(key)
    params = self.policy.init(key_init) if params_init is None else params_init
    return PolicyState(params=params, opt_state=self.optimizer.init(params), key=key_run,
                       iteration=jnp.zeros((), jnp.int32))

  def update(self, models, state: PolicyState, beta, level):
    c = self.config
    key, key_x0, key_noise = jax.random.split(state.key, 3)
    x0s = self.sample_x0(key_x0)
    noise = c.noise_std * jax.random.normal(
        key_noise, (c.batch_size, c.horizon, self.problem.dim_u))
    (loss, aux), grads = jax.value_and_grad(self.loss, argnums=1, has_aux=True)(
        models, state.params, x0s, noise, beta, level)
    updates, opt_state = self.optimizer.update(grads, state.opt_state, state.params)
    metrics = {"loss": loss, "noisy_cost": aux["cost"],
               "grad_norm": optax.global_norm(grads)}
    if c.record_history:
      metrics["cost"] = jnp.mean(self.evaluate(models, state.params, x0s))
    return PolicyState(optax.apply_updates(state.params, updates), opt_state, key,
                       state.iteration + 1), metrics

  def solve_traced(self, models, key, beta, params_init=None) -> PolicyResult:
    """The solve as a traceable function (no host checks, no jit): the planners'
    loop (`base.run_iterations`) over the beta and level schedules."""
    state, history = run_iterations(self.update, models, self.init(key, params_init),
                                    iteration_betas(self.config, beta), self.levels,
                                    self.config.record_history)
    x0s = self.sample_x0(jax.random.fold_in(key, 1))
    cost = jnp.mean(self.evaluate(models, state.params, x0s))
    return PolicyResult(params=state.params, cost=cost, history=history)

  def _check(self, models) -> None:
    check_problem(self.problem, models, name="policy optimiser",
                  score_kind=None if self.problem.score is None else "xu")

  def solve(self, models, key: PRNGKey, beta, params_init=None) -> PolicyResult:
    """Optimises the policy once (key seeds init, initial states and noise)."""
    self._check(models)
    return self._solve_jit(models, key, jnp.asarray(beta, jnp.float32), params_init)

  def solve_batch(self, models, keys: Array, betas, params_init=None) -> PolicyResult:
    """Independent optimisations for keys (B, 2) and betas (B,), vmapped."""
    betas = jnp.asarray(betas, jnp.float32)
    if betas.shape != (keys.shape[0],):
      raise ValueError(f"betas {betas.shape} must have the batch size of keys "
                       f"{keys.shape}.")
    self._check(models)
    return self._solve_batch_jit(models, keys, betas, params_init)


__all__ = ["Policy", "open_loop_policy", "affine_policy", "mlp_policy", "PolicyConfig",
           "PolicyState", "PolicyResult", "PolicyOptimizer"]
