"""The 1D illustration of SPEC B.1/B.2: a few points on [-1, 1] and f(x) = x^2 sin x."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from sgp_jax.types import Array, PRNGKey


def target(x: Array) -> Array:
  """f(x) = x^2 sin(x), element-wise."""
  return x ** 2 * jnp.sin(x)


def sample_points(key: PRNGKey, num: int, low: float = -1.0, high: float = 1.0) -> Array:
  """num points uniform in [low, high], shape (num, 1)."""
  if num < 1 or not high > low:
    raise ValueError(f"need num >= 1 and low < high, got {num}, [{low}, {high}].")
  return jax.random.uniform(key, (num, 1), minval=low, maxval=high)


def grid(low: float = -2.0, high: float = 2.0, num: int = 10_000) -> Array:
  """The evaluation grid, shape (num, 1)."""
  return jnp.linspace(low, high, num)[:, None]


__all__ = ["target", "sample_points", "grid"]
