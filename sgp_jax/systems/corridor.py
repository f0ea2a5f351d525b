"""The L-shaped corridor: x' = x + 0.1 clip(u, -1, 1), x, u in R^2 (SPEC B.5).

The corridor of width w is the union of the horizontal strip [-w/2, L] x [-w/2, w/2]
and the vertical strip [-w/2, w/2] x [-w/2, L]; the reference code's test "all
coordinates >= -w/2 and any coordinate <= w/2" is that union (without the far
ends). Data: candidates uniform in the two strips (half each) with uniform u; a
transition is kept when both x and x' are in the corridor.
"""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from sgp_jax.systems import linear
from sgp_jax.types import Array, PRNGKey, Transitions

DIM_X, DIM_U = 2, 2


@dataclasses.dataclass(frozen=True)
class CorridorParams:
  width: float = 0.2
  length: float = 2.0
  dt: float = 0.1
  u_max: float = 1.0
  start: tuple = (0.0, 1.0)
  goal: tuple = (1.0, 0.0)


def step(x: Array, u: Array, params: CorridorParams = CorridorParams()) -> Array:
  """x' = x + dt clip(u, -u_max, u_max)."""
  return linear.step(x, u, params.dt, params.u_max)


def rollout(x0: Array, us: Array, params: CorridorParams = CorridorParams()) -> Array:
  """True states (T+1, 2) of actions us (T, 2)."""
  return linear.rollout(x0, us, params.dt, params.u_max)


def in_corridor(x: Array, params: CorridorParams = CorridorParams()) -> Array:
  """The reference test: all(x >= -w/2) and any(x <= w/2); shape x.shape[:-1]."""
  half = params.width / 2
  return jnp.all(x >= -half, axis=-1) & jnp.any(x <= half, axis=-1)


def distance_outside(x: Array, params: CorridorParams = CorridorParams()) -> Array:
  """Euclidean distance from x to the (unbounded) L-shaped corridor; 0 inside."""
  half = params.width / 2
  # distance to each strip {x_k in [-h, h], x_other >= -h}, then the min of the two
  def strip(k):
    other = 1 - k
    dk = jnp.maximum(jnp.abs(x[..., k]) - half, 0.0)
    do = jnp.maximum(-half - x[..., other], 0.0)
    return jnp.sqrt(dk ** 2 + do ** 2)
  return jnp.minimum(strip(0), strip(1))


def make_dataset(key: PRNGKey, num_candidates: int,
                 params: CorridorParams = CorridorParams()) -> Transitions:
  """Transitions whose x and x' both lie in the corridor (SPEC B.5)."""
  if num_candidates < 2:
    raise ValueError(f"num_candidates must be >= 2, got {num_candidates}.")
  kh, kv, ku = jax.random.split(key, 3)
  h, n = params.width / 2, num_candidates // 2
  horizontal = linear.uniform(kh, n, [-h, -h], [params.length, h])
  vertical = linear.uniform(kv, num_candidates - n, [-h, -h], [h, params.length])
  x = jnp.concatenate([horizontal, vertical], 0)
  u = linear.uniform(ku, num_candidates, [-params.u_max] * 2, [params.u_max] * 2)
  x_next = step(x, u, params)
  keep = np.asarray(in_corridor(x, params) & in_corridor(x_next, params))
  return Transitions(x=x[keep], u=u[keep], x_next=x_next[keep])


__all__ = ["DIM_X", "DIM_U", "CorridorParams", "step", "rollout", "in_corridor",
           "distance_outside", "make_dataset"]
