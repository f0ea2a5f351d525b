"""Per-iteration noise-level and beta schedules for the planners (SPEC A.6)."""
from __future__ import annotations

import numpy as np
import jax.numpy as jnp

from sgp_jax.types import Array


def level_schedule(num_iters: int, num_levels: int) -> np.ndarray:
  """Score level index l(k) for planner iterations k = 0..num_iters-1.

  l(k) = round(L k / (num_iters + 1) - 1/2) with round-half-to-even (as the
  reference code's Python `round`), clipped to [0, L-1]: it walks from the
  largest noise level (index 0) to the smallest in near-equal blocks.
  """
  if num_iters < 1:
    raise ValueError(f"num_iters must be >= 1, got {num_iters}.")
  if num_levels < 1:
    raise ValueError(f"num_levels must be >= 1, got {num_levels}.")
  k = np.arange(num_iters)
  levels = np.round(num_levels * k / (num_iters + 1) - 0.5).astype(np.int32)
  return np.clip(levels, 0, num_levels - 1)


def beta_schedule(num_iters: int, beta, beta_min=0.0, kind: str = "constant") -> Array:
  """beta_k for k = 0..num_iters-1: constant, or cosine-annealed beta -> beta_min."""
  beta = jnp.asarray(beta, jnp.float32)
  if kind == "constant":
    return jnp.full((num_iters,), 1.0, jnp.float32) * beta
  if kind == "cosine":
    frac = jnp.arange(num_iters) / max(num_iters - 1, 1)
    return beta_min + (beta - beta_min) * 0.5 * (1.0 + jnp.cos(jnp.pi * frac))
  raise ValueError(f"beta schedule must be 'constant' or 'cosine', got {kind!r}.")
