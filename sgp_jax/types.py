"""Shared pytree types and array aliases.

`Transitions` is the one container every learner and planner reads: a batch of
one-step transitions (x, u, x') with an optional reward. Arrays have a leading
batch axis N; a single transition is never stored on its own.
"""
from __future__ import annotations

from typing import Any, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array
PRNGKey = jax.Array
Params = Any  # a flax parameter pytree


class Transitions(NamedTuple):
  """A batch of transitions; leading axis N on every field.

  Attributes:
    x: states, shape (N, dim_x).
    u: actions, shape (N, dim_u).
    x_next: successor states, shape (N, dim_x).
    reward: rewards r(x, u), shape (N,), or None when the reward is not given.
  """
  x: Array
  u: Array
  x_next: Array
  reward: Optional[Array] = None

  @property
  def num(self) -> int:
    return int(self.x.shape[0])

  @property
  def dim_x(self) -> int:
    return int(self.x.shape[-1])

  @property
  def dim_u(self) -> int:
    return int(self.u.shape[-1])

  def xu(self) -> Array:
    """The (x, u) pairs concatenated, shape (N, dim_x + dim_u)."""
    return jnp.concatenate([self.x, self.u], axis=-1)

  def xux(self) -> Array:
    """The (x, u, x') triples concatenated, shape (N, 2 dim_x + dim_u)."""
    return jnp.concatenate([self.x, self.u, self.x_next], axis=-1)


def validate_transitions(data: Transitions, name: str = "data") -> Transitions:
  """Checks shapes, dtypes and finiteness; raises ValueError naming the problem.

  Runs on concrete (host or device) arrays, never inside jit.
  """
  fields = {"x": data.x, "u": data.u, "x_next": data.x_next}
  if data.reward is not None:
    fields["reward"] = data.reward
  for field, value in fields.items():
    arr = np.asarray(value)
    want_ndim = 1 if field == "reward" else 2
    if arr.ndim != want_ndim:
      raise ValueError(
          f"{name}.{field} must have {want_ndim} dimension(s) "
          f"({'(N,)' if want_ndim == 1 else '(N, dim)'}), got shape {arr.shape}.")
    if not np.issubdtype(arr.dtype, np.floating):
      raise ValueError(f"{name}.{field} must be floating point, got {arr.dtype}.")
    bad = ~np.isfinite(arr)
    if bad.any():
      rows = np.unique(np.nonzero(bad)[0])
      raise ValueError(
          f"{name}.{field} has {int(bad.sum())} non-finite value(s) (NaN or inf), "
          f"first at row(s) {rows[:5].tolist()}.")
  n = {k: np.shape(v)[0] for k, v in fields.items()}
  if len(set(n.values())) != 1:
    raise ValueError(f"{name} fields have mismatched lengths: {n}.")
  if np.shape(data.x)[1] != np.shape(data.x_next)[1]:
    raise ValueError(
        f"{name}.x has dim {np.shape(data.x)[1]} but {name}.x_next has dim "
        f"{np.shape(data.x_next)[1]}; they must match.")
  if n["x"] == 0:
    raise ValueError(f"{name} is empty (0 transitions).")
  return data
