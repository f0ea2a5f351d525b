"""Annealed Langevin sampling from a score model (for visual checks, SPEC A.4.2)."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from sgp_jax.schedules import level_schedule
from sgp_jax.models import ScoreModel
from sgp_jax.types import Array, Params, PRNGKey


def annealed_langevin(model: ScoreModel, params: Params, z0: Array, key: PRNGKey,
                      num_steps: int, step_size: float, noise: bool = True) -> Array:
  """Runs z <- z + (eps/2) s(z, l_k) + sqrt(eps) xi for k = 0..num_steps-1.

  The level l_k walks from the largest to the smallest noise level with the
  planners' schedule (a single-level model always uses level 0). With
  noise=False it is plain annealed gradient ascent on log p. Works in raw units.

  Args:
    z0: initial particles, shape (B, dim).
  Returns:
    the final particles, shape (B, dim).
  """
  if num_steps < 1 or not step_size > 0:
    raise ValueError(f"need num_steps >= 1 and step_size > 0, got {num_steps}, {step_size}.")
  model.check_input(z0)
  levels = jnp.asarray(level_schedule(num_steps, model.num_levels))
  keys = jax.random.split(key, num_steps)

  def body(z, inputs):
    level, k = inputs
    s = model.score(params, z, level)
    z = z + 0.5 * step_size * s
    if noise:
      z = z + jnp.sqrt(step_size) * jax.random.normal(k, z.shape, z.dtype)
    return z, None

  z, _ = jax.lax.scan(body, z0, (levels, keys))
  return z
