"""Per-dimension affine normalisers z_bar = (z - offset) / scale (SPEC A.4.3).

A score learned in normalised coordinates maps back to raw units element-wise:
grad_z log p(z) = s(z_bar) / scale.
"""
from __future__ import annotations

from typing import Sequence

import jax.numpy as jnp
import numpy as np
from flax import struct

from sgp_jax.types import Array


@struct.dataclass
class Normalizer:
  """z_bar = (z - offset) / scale, element-wise; both fields shape (n,)."""
  scale: Array
  offset: Array

  @property
  def dim(self) -> int:
    return int(self.scale.shape[-1])

  def normalize(self, z: Array) -> Array:
    return (z - self.offset) / self.scale

  def denormalize(self, z_bar: Array) -> Array:
    return z_bar * self.scale + self.offset

  def score_to_raw(self, score_bar: Array) -> Array:
    """Maps a score in normalised coordinates to raw coordinates."""
    return score_bar / self.scale

  @classmethod
  def identity(cls, dim: int) -> "Normalizer":
    return cls(jnp.ones((dim,)), jnp.zeros((dim,)))

  @classmethod
  def from_scale(cls, scale, offset=0.0, dim: int | None = None) -> "Normalizer":
    """From a given scale and offset (scalars broadcast to `dim`)."""
    scale = np.asarray(scale, np.float32)
    offset = np.asarray(offset, np.float32)
    if dim is None:
      dim = int(np.broadcast(scale, offset).size)
    scale = np.broadcast_to(scale, (dim,)).copy()
    offset = np.broadcast_to(offset, (dim,)).copy()
    if np.any(scale <= 0) or not np.all(np.isfinite(scale)):
      raise ValueError(f"normaliser scale must be finite and > 0, got {scale}.")
    return cls(jnp.asarray(scale), jnp.asarray(offset))

  @classmethod
  def from_box(cls, low, high) -> "Normalizer":
    """Half box width and box centre: the box maps onto [-1, 1]^n."""
    low, high = np.asarray(low, np.float32), np.asarray(high, np.float32)
    return cls.from_scale((high - low) / 2.0, (high + low) / 2.0)

  @classmethod
  def from_data(cls, data, eps: float = 1e-6) -> "Normalizer":
    """Scale max - min, offset the midpoint: data map into [-0.5, 0.5]^n."""
    data = np.asarray(data, np.float32)
    if data.ndim != 2 or data.shape[0] == 0:
      raise ValueError(f"data must have shape (N, n) with N > 0, got {data.shape}.")
    lo, hi = data.min(0), data.max(0)
    return cls.from_scale(np.maximum(hi - lo, eps), (hi + lo) / 2.0)


def concat_normalizers(normalizers: Sequence[Normalizer]) -> Normalizer:
  """Block-diagonal concatenation, e.g. (x, u) or (x, u, x')."""
  return Normalizer(jnp.concatenate([n.scale for n in normalizers]),
                    jnp.concatenate([n.offset for n in normalizers]))
