"""Light-dark: the 2D single integrator x' = x + u with a hole in the data (SPEC B.4).

States are uniform in [-1, 1]^2 except the disk of radius `hole_radius` at the
origin, actions uniform in [-u_max, u_max]^2. The true dynamics are fine inside
the hole; it is only out of distribution.
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
class LightDarkParams:
  x_max: float = 1.0
  u_max: float = 0.1
  hole_radius: float = 0.4
  start: tuple = (0.8, 0.2)
  goal: tuple = (-0.8, 0.2)


def step(x: Array, u: Array) -> Array:
  """x' = x + u (no action bound)."""
  return linear.step(x, u, dt=1.0)


def in_hole(x: Array, params: LightDarkParams = LightDarkParams()) -> Array:
  """True where ||x|| < hole_radius, shape x.shape[:-1]."""
  return jnp.linalg.norm(x, axis=-1) < params.hole_radius


def make_dataset(key: PRNGKey, num_candidates: int,
                 params: LightDarkParams = LightDarkParams()) -> Transitions:
  """Uniform (x, u) candidates; those with x in the hole are dropped (SPEC B.4)."""
  if num_candidates < 1:
    raise ValueError(f"num_candidates must be >= 1, got {num_candidates}.")
  kx, ku = jax.random.split(key)
  x = linear.uniform(kx, num_candidates, [-params.x_max] * 2, [params.x_max] * 2)
  u = linear.uniform(ku, num_candidates, [-params.u_max] * 2, [params.u_max] * 2)
  keep = ~np.asarray(in_hole(x, params))
  x, u = x[keep], u[keep]
  return Transitions(x=x, u=u, x_next=step(x, u))


__all__ = ["DIM_X", "DIM_U", "LightDarkParams", "step", "in_hole", "make_dataset"]
