"""A prior for the plan: a feedback policy rolled through the learned model.

  policy_prior(policy_apply, dynamics_apply, horizon) -> prior
  prior(models, x0)          -> actions (T, dim_u): x_0 = x0, u_t = pi(x_t),
                                x_{t+1} = f_hat(x_t, u_t) for t < T
  prior(models, x0, head)    -> the plan `head` (k, dim_u), k <= T, completed by the
                                policy: u_t = head[t] for t < k, then u_t = pi(x_t)
                                along the model's states

E.g. the data set's behaviour-cloning policy as the initial action sequence of SGP
(MBOP's BC prior): `closed_loop.mpc_controller(planner, warm_start="prior",
prior=prior)` starts every replan from it, and "shift+prior" from the previous plan
shifted one step whose new last action is the policy's. The policy's and the
model's parameters are read from the `models` pytree, never closed over.
"""
from __future__ import annotations

from typing import Callable, Optional

import jax
import jax.numpy as jnp

from sgp_jax.types import Array

PolicyFn = Callable  # (models, x (dim_x,)) -> u (dim_u,)
DynamicsFn = Callable  # (models, x (dim_x,), u (dim_u,)) -> x' (dim_x,)
PlanPrior = Callable  # (models, x0 (dim_x,), head=None) -> actions (T, dim_u)


def policy_prior(policy_apply: PolicyFn, dynamics_apply: DynamicsFn,
                 horizon: int) -> PlanPrior:
  """The prior `prior(models, x0, head=None) -> actions (horizon, dim_u)` (see module).

  Args:
    policy_apply: u = policy_apply(models, x), unbatched, e.g.
      `lambda m, x: bc(m["bc"], x)` for a `sgp_jax.models.BCPolicy` bc.
    dynamics_apply: x' = dynamics_apply(models, x, u), unbatched (e.g. a
      `ControlProblem`'s `dynamics`).
    horizon: T, the number of actions (the planner's horizon).
  """
  horizon = int(horizon)
  if horizon < 1:
    raise ValueError(f"policy_prior: horizon must be >= 1, got {horizon}.")

  def prior(models, x0: Array, head: Optional[Array] = None) -> Array:
    if jnp.ndim(x0) != 1:
      raise ValueError(f"policy_prior: x0 must have shape (dim_x,), got {jnp.shape(x0)}.")
    x = x0
    actions = []
    if head is not None:
      if jnp.ndim(head) != 2 or jnp.shape(head)[0] > horizon:
        raise ValueError(f"policy_prior: head must have shape (k, dim_u) with k <= "
                         f"{horizon}, got {jnp.shape(head)}.")

      def follow(x, u):
        return dynamics_apply(models, x, u), None
      x, _ = jax.lax.scan(follow, x, head)
      actions.append(head)

    def act(x, _):
      u = policy_apply(models, x)
      return dynamics_apply(models, x, u), u

    remaining = horizon - (0 if head is None else jnp.shape(head)[0])
    if remaining > 0:
      _, us = jax.lax.scan(act, x, None, length=remaining)
      actions.append(us)
    return jnp.concatenate(actions, 0)

  return prior


__all__ = ["policy_prior", "PlanPrior"]
