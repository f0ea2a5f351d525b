"""Smoothed distance to data and the exact score of the Gaussian-smoothed data.

For data D = {z_i} (N points in R^n) and smoothing sigma (SPEC A.3):

  d_sigma(z)   = -sigma^2 log sum_i exp(-||z - z_i||^2 / (2 sigma^2))
  log p_sigma  = -d_sigma / sigma^2 - log N - (n/2) log(2 pi sigma^2)
  s_sigma(z)   = grad log p_sigma(z) = sum_i w_i(z) (z_i - z) / sigma^2

with softmax weights w_i. Every function here streams over the data in chunks
(a `lax.scan` with a running log-sum-exp), so memory is O(batch x chunk x n),
never O(batch x N): a million data points are fine.
"""
from __future__ import annotations

import math
from typing import Optional, Tuple


import jax
import jax.numpy as jnp

from sgp_jax.types import Array

DEFAULT_CHUNK = 2048


def _check_inputs(z: Array, data: Array) -> None:
  if data.ndim != 2:
    raise ValueError(f"data must have shape (N, n), got {data.shape}.")
  if z.ndim < 1 or z.shape[-1] != data.shape[-1]:
    raise ValueError(
        f"query z must have shape (..., {data.shape[-1]}) to match data of "
        f"shape {data.shape}, got {z.shape}.")


def _stream_softmin(z: Array, data: Array, metric: Array,
                    chunk: int) -> Tuple[Array, Array]:
  """Streams over data chunks; returns (lse, weighted mean of data).

  z: (B, n); data: (N, n); metric: (n,).
  lse[b] = logsumexp_i(-1/2 sum_j m_j (z_bj - z_ij)^2), shape (B,).
  mean[b] = sum_i w_bi z_i with w = softmax of the same logits, shape (B, n).
  """
  n_data, dim = data.shape
  chunk = max(1, min(chunk, n_data))
  n_chunks = -(-n_data // chunk)
  pad = n_chunks * chunk - n_data
  data_p = jnp.pad(data, ((0, pad), (0, 0)))
  mask = jnp.arange(n_chunks * chunk) < n_data
  data_c = data_p.reshape(n_chunks, chunk, dim)
  mask_c = mask.reshape(n_chunks, chunk)

  def body(carry, inputs):
    run_max, run_sum, run_wz = carry
    block, block_mask = inputs
    diff = z[:, None, :] - block[None, :, :]
    logits = -0.5 * jnp.sum(metric * diff * diff, axis=-1)  # (B, chunk)
    logits = jnp.where(block_mask[None, :], logits, -jnp.inf)
    new_max = jnp.maximum(run_max, jnp.max(logits, axis=-1))
    rescale = jnp.exp(run_max - new_max)
    weights = jnp.exp(logits - new_max[:, None])
    run_sum = run_sum * rescale + jnp.sum(weights, axis=-1)
    run_wz = run_wz * rescale[:, None] + weights @ block
    return (new_max, run_sum, run_wz), None

  batch = z.shape[0]
  init = (jnp.full((batch,), -jnp.inf, z.dtype), jnp.zeros((batch,), z.dtype),
          jnp.zeros((batch, dim), z.dtype))
  (run_max, run_sum, run_wz), _ = jax.lax.scan(body, init, (data_c, mask_c))
  return run_max + jnp.log(run_sum), run_wz / run_sum[:, None]


def softmin_energy(z: Array, data: Array, metric: Optional[Array] = None,
                   chunk_size: int = DEFAULT_CHUNK) -> Array:
  """E(z) = -logsumexp_i(-1/2 sum_j m_j (z_j - z_ij)^2) for any batch shape.

  Args:
    z: queries, shape (..., n).
    data: data points, shape (N, n).
    metric: per-dimension weights m, shape (n,) or scalar; defaults to ones.
    chunk_size: data points processed at once.

  Returns:
    E, shape z.shape[:-1]. With m = 1/sigma^2, E = d_sigma / sigma^2.
  """
  _check_inputs(z, data)
  dtype = jnp.result_type(z, data)
  metric = jnp.ones((data.shape[-1],), dtype) if metric is None else (
      jnp.broadcast_to(jnp.asarray(metric, dtype), (data.shape[-1],)))
  flat = z.reshape(-1, z.shape[-1]).astype(dtype)
  lse, _ = _stream_softmin(flat, data.astype(dtype), metric, chunk_size)
  return (-lse).reshape(z.shape[:-1])


def smoothed_distance(z: Array, data: Array, sigma: float,
                      chunk_size: int = DEFAULT_CHUNK) -> Array:
  """d_sigma(z) = -sigma^2 log sum_i exp(-||z - z_i||^2 / (2 sigma^2)).

  Args:
    z: queries, shape (..., n).
    data: data points, shape (N, n).
    sigma: smoothing (> 0), in the units of z.

  Returns:
    d_sigma(z), shape z.shape[:-1].
  """
  _check_sigma(sigma)
  metric = jnp.asarray(1.0 / sigma**2, jnp.result_type(z, data))
  return sigma**2 * softmin_energy(z, data, metric, chunk_size)


def log_density(z: Array, data: Array, sigma: float,
                chunk_size: int = DEFAULT_CHUNK) -> Array:
  """log p_sigma(z) of the Gaussian KDE (1/N) sum_i N(z; z_i, sigma^2 I)."""
  n_data, dim = data.shape
  d = smoothed_distance(z, data, sigma, chunk_size)
  return (-d / sigma**2 - math.log(n_data)
          - 0.5 * dim * jnp.log(2.0 * math.pi * sigma**2))


def empirical_score(z: Array, data: Array, sigma: float,
                    chunk_size: int = DEFAULT_CHUNK) -> Array:
  """Exact score of p_sigma: sum_i w_i(z) (z_i - z) / sigma^2.

  Args:
    z: queries, shape (..., n).
    data: data points, shape (N, n).
    sigma: smoothing (> 0).

  Returns:
    the score, shape z.shape.
  """
  _check_sigma(sigma)
  _check_inputs(z, data)
  dtype = jnp.result_type(z, data)
  flat = z.reshape(-1, z.shape[-1]).astype(dtype)
  metric = jnp.full((data.shape[-1],), 1.0 / sigma**2, dtype)
  _, mean = _stream_softmin(flat, data.astype(dtype), metric, chunk_size)
  return ((mean - flat) / sigma**2).reshape(z.shape)


def mean_shift(z: Array, data: Array, sigma: float,
               chunk_size: int = DEFAULT_CHUNK) -> Array:
  """One mean-shift step z <- sum_i w_i(z) z_i (a unit gradient step on d_sigma)."""
  return z + sigma**2 * empirical_score(z, data, sigma, chunk_size)


def nearest_distance(z: Array, data: Array,
                     chunk_size: int = DEFAULT_CHUNK) -> Array:
  """min_i ||z - z_i||, the hard distance to data, shape z.shape[:-1]."""
  # The sigma -> 0 limit of d_sigma, computed directly and streamed.
  _check_inputs(z, data)
  flat = z.reshape(-1, z.shape[-1])
  n_data = data.shape[0]
  chunk = max(1, min(chunk_size, n_data))
  n_chunks = -(-n_data // chunk)
  data_p = jnp.pad(data, ((0, n_chunks * chunk - n_data), (0, 0)),
                   constant_values=jnp.inf)
  data_c = data_p.reshape(n_chunks, chunk, -1)

  def body(best, block):
    d2 = jnp.sum((flat[:, None, :] - block[None]) ** 2, axis=-1)
    return jnp.minimum(best, jnp.min(d2, axis=-1)), None

  best, _ = jax.lax.scan(body, jnp.full(flat.shape[:1], jnp.inf, flat.dtype),
                         data_c)
  return jnp.sqrt(best).reshape(z.shape[:-1])


def _check_sigma(sigma) -> None:
  if isinstance(sigma, (int, float)) and not sigma > 0:
    raise ValueError(f"sigma must be > 0, got {sigma}.")


__all__ = ["softmin_energy", "smoothed_distance", "log_density",
           "empirical_score", "mean_shift", "nearest_distance"]
