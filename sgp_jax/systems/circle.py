"""Points on a circle of radius r in R^2 (SPEC B.3's score sanity check)."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from sgp_jax.types import Array, PRNGKey


def sample(key: PRNGKey, num: int, radius: float = 3.0) -> Array:
  """num points uniform in angle on the circle of `radius`, shape (num, 2)."""
  if num < 1 or not radius > 0:
    raise ValueError(f"need num >= 1 and radius > 0, got {num}, {radius}.")
  angle = jax.random.uniform(key, (num,), minval=0.0, maxval=2 * jnp.pi)
  return radius * jnp.stack([jnp.cos(angle), jnp.sin(angle)], -1)


def radial_error(z: Array, radius: float = 3.0) -> Array:
  """| ||z|| - radius |, shape z.shape[:-1]."""
  return jnp.abs(jnp.linalg.norm(z, axis=-1) - radius)


__all__ = ["sample", "radial_error"]
