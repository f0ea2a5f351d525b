"""The 2D single integrator x' = x + dt * u (SPEC B.4, B.5), in pure JAX.

Light-dark uses dt = 1 and no action bound; the corridor uses dt = 0.1 and a hard
clamp of u to [-1, 1]^2. Both data sets are one-step transitions, so this module
only holds the step, its rollout and a uniform sampler.
"""
from __future__ import annotations

from typing import Optional

import jax
import jax.numpy as jnp

from sgp_jax.types import Array, PRNGKey


def step(x: Array, u: Array, dt: float = 1.0, u_max: Optional[float] = None) -> Array:
  """x + dt * clip(u, -u_max, u_max); x (..., n), u (..., n)."""
  if x.shape[-1] != u.shape[-1]:
    raise ValueError(f"a single integrator needs x and u of one dim, got {x.shape} and "
                     f"{u.shape}.")
  if u_max is not None:
    u = jnp.clip(u, -u_max, u_max)
  return x + dt * u


def rollout(x0: Array, us: Array, dt: float = 1.0, u_max: Optional[float] = None) -> Array:
  """States x_0..x_T, shape (T+1, n), of actions us (T, n) from x0 (n,)."""
  def body(x, u):
    x_next = step(x, u, dt, u_max)
    return x_next, x_next
  _, xs = jax.lax.scan(body, x0, us)
  return jnp.concatenate([x0[None], xs], 0)


def uniform(key: PRNGKey, num: int, low, high) -> Array:
  """num points uniform in the box [low, high] (each (n,)), shape (num, n)."""
  low, high = jnp.asarray(low, jnp.float32), jnp.asarray(high, jnp.float32)
  if low.shape != high.shape or low.ndim != 1 or not bool(jnp.all(high > low)):
    raise ValueError(f"the box needs 1-D low < high of one shape, got {low}, {high}.")
  return jax.random.uniform(key, (num, low.shape[0]), minval=low, maxval=high)


__all__ = ["step", "rollout", "uniform"]
