"""Model-predictive control around any planner (SPEC A.7).

At every control step the planner solves from the current true state, the first
planned action is applied to the TRUE system, and the loop moves on:

  1. x_0 = the current state (IVP planners only: shooting, IVP collocation or
     transcription, CEM, MPPI);
  2. the planner runs its full `num_iters`, so the sigma annealing restarts on
     every replan;
  3. warm start (optional): the previous solution shifted one step left with its
     last element repeated (every leaf of theta along its time axis: actions and,
     for direct methods, states), no noise added; otherwise a fresh random init;
  4. u_0 is applied: x <- step_fn(x, u_0).

The closed loop is one `lax.scan` over environment steps inside one `jit`, and
`run_batch` vmaps it over initial states, keys and betas.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from sgp_jax.planning.core import GradientPlanner
from sgp_jax.types import Array, PRNGKey

StepFn = Callable  # the true system: (x (dim_x,), u (dim_u,)) -> x' (dim_x,)


class MPCResult(NamedTuple):
  """A closed-loop run (leading batch axis B for `run_batch`).

  states: (N+1, dim_x) the executed trajectory on the true system.
  actions: (N, dim_u) the applied actions.
  plan_costs: (N,) each replan's final cost (under the planner's model).
  plan_actions: (N, T, dim_u) each replan's action sequence.
  """
  states: Array
  actions: Array
  plan_costs: Array
  plan_actions: Array


def shift_plan(theta):
  """Shifts every leaf one step left along axis 0 and repeats its last element."""
  return jax.tree_util.tree_map(lambda a: jnp.concatenate([a[1:], a[-1:]], 0), theta)


class MPC:
  """Receding-horizon control of `step_fn` with `planner` (see module docstring).

  Args:
    planner: any IVP planner with the `GradientPlanner` contract (gradient,
      collocation/transcription without x_goal, CEM, MPPI).
    step_fn: the true system, (x, u) -> x'.
    num_steps: N, the control steps.
    warm_start: shift the previous solution instead of re-initialising.
  """

  def __init__(self, planner: GradientPlanner, step_fn: StepFn, num_steps: int,
               warm_start: bool = True):
    if num_steps < 1:
      raise ValueError(f"num_steps must be >= 1, got {num_steps}.")
    if getattr(planner, "x_goal", None) is not None:
      raise ValueError("MPC needs an initial-value planner; this planner has a fixed "
                       "x_goal (BVP), which a receding horizon cannot keep.")
    self.planner = planner
    self.step_fn = step_fn
    self.num_steps = int(num_steps)
    self.warm_start = warm_start
    self._run_jit = jax.jit(self._run)
    self._run_batch_jit = jax.jit(jax.vmap(self._run, in_axes=(None, 0, 0, 0)))

  def run(self, models, x0: Array, key: PRNGKey, beta) -> MPCResult:
    """One closed loop from x0 (dim_x,)."""
    self.planner.check_x0(x0)
    self.planner.check_models(models)
    return self._run_jit(models, x0, key, jnp.asarray(beta, jnp.float32))

  def run_batch(self, models, x0s: Array, keys: Array, betas) -> MPCResult:
    """Closed loops from x0s (B, dim_x) with keys (B, 2) and betas (B,)."""
    if x0s.ndim != 2:
      raise ValueError(f"x0s must have shape (B, dim_x), got {x0s.shape}.")
    self.planner.check_x0(x0s[0])
    if not bool(jnp.all(jnp.isfinite(x0s))):
      raise ValueError("x0s contains NaN or inf.")
    betas = jnp.asarray(betas, jnp.float32)
    if betas.shape != (x0s.shape[0],) or keys.shape[0] != x0s.shape[0]:
      raise ValueError(f"keys {keys.shape} and betas {betas.shape} must have the batch "
                       f"size {x0s.shape[0]} of x0s.")
    self.planner.check_models(models)
    return self._run_batch_jit(models, x0s, keys, betas)

  def _run(self, models, x0, key, beta) -> MPCResult:
    key_init, key_steps = jax.random.split(key)
    theta0 = self.planner.init(models, x0, key_init).theta

    def body(carry, key_t):
      x, theta_init = carry
      plan = self.planner.solve_traced(models, x, key_t, beta,
                                 theta_init if self.warm_start else None)
      u = plan.actions[0]
      x_next = self.step_fn(x, u)
      return (x_next, shift_plan(plan.theta)), (x_next, u, plan.cost, plan.actions)

    _, (xs, us, costs, plans) = jax.lax.scan(
        body, (x0, theta0), jax.random.split(key_steps, self.num_steps))
    return MPCResult(states=jnp.concatenate([x0[None], xs], 0), actions=us,
                     plan_costs=costs, plan_actions=plans)


__all__ = ["MPCResult", "shift_plan", "MPC"]
