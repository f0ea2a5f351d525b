"""Noise-level and penalty-weight schedules, shared by score training, annealed
Langevin sampling and the planners.

  cosine_sigmas, geometric_sigmas   the score's noise levels sigma_0 > ... > sigma_{L-1}
  level_schedule(num_iters, L)      the level index l(k) of iteration k (SPEC A.6)
  beta_schedule(num_iters, beta)    the penalty weight beta_k: constant, or cosine-annealed
                                    beta -> beta_min (an optax schedule)
  iteration_levels(num_iters, L)    l(k), or the smallest level throughout without annealing
"""
from __future__ import annotations

import numpy as np
import jax.numpy as jnp
import optax

from sgp_jax.types import Array

BETA_SCHEDULES = ("constant", "cosine")


# ----------------------------------------------------------------- sigma levels
def cosine_sigmas(sigma_max: float, sigma_min: float, num_levels: int) -> np.ndarray:
  """sigma_l = sigma_min + (sigma_max - sigma_min) (1 + cos(pi l/(L-1))) / 2, l = 0..L-1,
  decreasing; shape (L,)."""
  _check_sigmas(sigma_max, sigma_min, num_levels)
  if num_levels == 1:
    return np.array([sigma_max], np.float32)
  l = np.arange(num_levels)
  return (sigma_min + (sigma_max - sigma_min) * 0.5 *
          (1 + np.cos(np.pi * l / (num_levels - 1)))).astype(np.float32)


def geometric_sigmas(sigma_max: float, sigma_min: float, num_levels: int) -> np.ndarray:
  """Log-spaced levels from sigma_max down to sigma_min; shape (L,)."""
  _check_sigmas(sigma_max, sigma_min, num_levels)
  return np.geomspace(sigma_max, sigma_min, num_levels).astype(np.float32)


def _check_sigmas(sigma_max, sigma_min, num_levels):
  if not (0 < sigma_min < np.inf and 0 < sigma_max < np.inf):
    raise ValueError(f"noise levels must be finite and > 0, got max={sigma_max}, "
                     f"min={sigma_min}.")
  if sigma_min > sigma_max:
    raise ValueError(f"sigma_min={sigma_min} must not exceed sigma_max={sigma_max}.")
  if num_levels < 1:
    raise ValueError(f"num_levels must be >= 1, got {num_levels}.")


# ----------------------------------------------------------------- level index l(k)
def level_schedule(num_iters: int, num_levels: int) -> np.ndarray:
  """Score level index l(k) for iterations k = 0..num_iters-1, shape (num_iters,) int32.

  l(k) = round(L k / (num_iters + 1) - 1/2) with round-half-to-even (the reference
  code's Python `round`), clipped to [0, L-1]: it walks from the largest noise level
  (index 0) to the smallest in near-equal blocks (SPEC A.6). E.g. L = 10 and
  num_iters = 50: blocks of 6, 5 (x 8) and 4 iterations; the reference loop stops one
  iteration earlier (k <= max_iters - 2), so its last block has 3.
  """
  if num_iters < 1:
    raise ValueError(f"num_iters must be >= 1, got {num_iters}.")
  if num_levels < 1:
    raise ValueError(f"num_levels must be >= 1, got {num_levels}.")
  k = np.arange(num_iters)
  levels = np.round(num_levels * k / (num_iters + 1) - 0.5).astype(np.int32)
  return np.clip(levels, 0, num_levels - 1)


# ----------------------------------------------------------------- penalty weight beta_k
def check_beta_schedule(kind: str) -> None:
  if kind not in BETA_SCHEDULES:
    raise ValueError(f"beta_schedule must be 'constant' or 'cosine', got {kind!r}.")


def beta_schedule(num_iters: int, beta, beta_min=0.0, kind: str = "constant") -> Array:
  """beta_k for k = 0..num_iters-1, shape (num_iters,) float32.

  "constant": beta_k = beta. "cosine": beta_k = beta_min + (beta - beta_min) c_k with
  c_k = (1 + cos(pi k / (num_iters - 1))) / 2 (optax's cosine decay from 1 to 0), so
  beta_0 = beta and beta_{num_iters-1} = beta_min. `beta` may be traced.
  """
  check_beta_schedule(kind)
  beta = jnp.asarray(beta, jnp.float32)
  if kind == "constant":
    return jnp.broadcast_to(beta, (num_iters,))
  decay = optax.cosine_decay_schedule(1.0, max(num_iters - 1, 1))(jnp.arange(num_iters))
  return (beta_min + (beta - beta_min) * decay).astype(jnp.float32)


def iteration_levels(num_iters: int, num_levels: int, anneal: bool = True) -> np.ndarray:
  """The level of every iteration, (num_iters,) int32: `level_schedule` when annealing,
  else the smallest noise level L-1 throughout."""
  if anneal:
    return level_schedule(num_iters, num_levels)
  if num_levels < 1:
    raise ValueError(f"num_levels must be >= 1, got {num_levels}.")
  return np.full((num_iters,), num_levels - 1, np.int32)


__all__ = ["cosine_sigmas", "geometric_sigmas", "level_schedule", "beta_schedule",
           "check_beta_schedule", "iteration_levels", "BETA_SCHEDULES"]
