"""Smoothed distance to data and the exact score of the Gaussian-smoothed data.

For data D = {z_i} (N points in R^n) and smoothing sigma (SPEC A.3):

  d_sigma(z)   = -sigma^2 log sum_i exp(-||z - z_i||^2 / (2 sigma^2))
  log p_sigma  = -d_sigma / sigma^2 - log N - (n/2) log(2 pi sigma^2)
  s_sigma(z)   = grad log p_sigma(z) = sum_i w_i(z) (z_i - z) / sigma^2

with softmax weights w_i. Every function here streams over the data in chunks
(a `lax.scan` with a running log-sum-exp), so memory is O(batch x chunk x n),
never O(batch x N): a million data points are fine. Gradients stream too: the
energy's custom VJP uses grad_z d_sigma = -sigma^2 s_sigma from the same pass, and
recomputes the chunks for the data's cotangent only when the data is differentiated.
"""
from __future__ import annotations

import functools
import math
from typing import Optional, Tuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.custom_derivatives import SymbolicZero

from sgp_jax.types import Array

DEFAULT_CHUNK = 2048


def _check_inputs(z: Array, data: Array) -> None:
  """Shapes always; emptiness and finiteness of the data when it is concrete."""
  if data.ndim != 2:
    raise ValueError(f"data must have shape (N, n), got {data.shape}.")
  if data.shape[0] == 0:
    raise ValueError(f"data is empty (shape {data.shape}): the distance to no data "
                     "is undefined.")
  if z.ndim < 1 or z.shape[-1] != data.shape[-1]:
    raise ValueError(
        f"query z must have shape (..., {data.shape[-1]}) to match data of "
        f"shape {data.shape}, got {z.shape}.")
  if not isinstance(data, jax.core.Tracer):
    finite = np.isfinite(np.asarray(data))  # no copy for a host float array
    if not finite.all():
      rows = np.flatnonzero(~finite.all(axis=-1))
      raise ValueError(f"data has NaN or inf in {rows.size} of {data.shape[0]} rows "
                       f"(first: row {rows[0]}); drop or fix them first.")


def _float_dtype(*arrays):
  """The common floating dtype (integer inputs are promoted to float32)."""
  return jnp.result_type(*arrays, jnp.float32)


def _chunked(data: Array, chunk: int) -> Tuple[Array, Array]:
  """data (N, n) zero-padded to (C, chunk, n) blocks and their validity mask (C, chunk)."""
  n_data, dim = data.shape
  n_chunks = -(-n_data // chunk)
  data_p = jnp.pad(data, ((0, n_chunks * chunk - n_data), (0, 0)))
  mask = jnp.arange(n_chunks * chunk) < n_data
  return data_p.reshape(n_chunks, chunk, dim), mask.reshape(n_chunks, chunk)


def _block_logits(z: Array, block: Array, block_mask: Array, metric: Array) -> Array:
  """-1/2 sum_j m_j (z_bj - z_ij)^2 for z (B, n) and one block (chunk, n): (B, chunk)."""
  diff = z[:, None, :] - block[None, :, :]
  logits = -0.5 * jnp.sum(metric * diff * diff, axis=-1)
  return jnp.where(block_mask[None, :], logits, -jnp.inf)


def _stream_softmin(z: Array, data: Array, metric: Array, chunk: int,
                    second_moment: bool = False):
  """Streams over data chunks; returns (lse, weighted mean of data, weighted second
  moment or None).

  z: (B, n); data: (N, n); metric: (n,).
  lse[b] = logsumexp_i(-1/2 sum_j m_j (z_bj - z_ij)^2), shape (B,).
  mean[b] = sum_i w_bi z_i with w = softmax of the same logits, shape (B, n).
  second[b] = sum_i w_bi z_i * z_i (elementwise), shape (B, n), if second_moment.
  """
  chunk = max(1, min(chunk, data.shape[0]))
  data_c, mask_c = _chunked(data, chunk)

  def body(carry, inputs):
    run_max, run_sum, run_wz, run_wzz = carry
    block, block_mask = inputs
    logits = _block_logits(z, block, block_mask, metric)  # (B, chunk)
    new_max = jnp.maximum(run_max, jnp.max(logits, axis=-1))
    rescale = jnp.exp(run_max - new_max)
    weights = jnp.exp(logits - new_max[:, None])
    run_sum = run_sum * rescale + jnp.sum(weights, axis=-1)
    run_wz = run_wz * rescale[:, None] + weights @ block
    if second_moment:
      run_wzz = run_wzz * rescale[:, None] + weights @ (block * block)
    return (new_max, run_sum, run_wz, run_wzz), None

  batch, dim = z.shape
  zeros = jnp.zeros((batch, dim), z.dtype)
  init = (jnp.full((batch,), -jnp.inf, z.dtype), jnp.zeros((batch,), z.dtype), zeros,
          zeros if second_moment else None)
  (run_max, run_sum, run_wz, run_wzz), _ = jax.lax.scan(body, init, (data_c, mask_c))
  second = run_wzz / run_sum[:, None] if second_moment else None
  return run_max + jnp.log(run_sum), run_wz / run_sum[:, None], second


@functools.partial(jax.custom_vjp, nondiff_argnums=(3,))
def _softmin_lse(z: Array, data: Array, metric: Array, chunk: int) -> Array:
  """lse of `_stream_softmin`, with a streamed VJP: its backward pass keeps only
  (B, n) residuals, so the gradient's memory is that of the forward pass."""
  return _stream_softmin(z, data, metric, chunk)[0]


def _softmin_lse_fwd(z, data, metric, chunk):
  # Symbolic zeros tell which inputs are differentiated: the data cotangent costs a
  # second streamed pass and the metric cotangent a second moment, so each is only
  # computed when asked for.
  data_perturbed, metric_perturbed = data.perturbed, metric.perturbed
  z, data, metric = z.value, data.value, metric.value
  lse, mean, second = _stream_softmin(z, data, metric, chunk,
                                      second_moment=metric_perturbed)
  return lse, (z, metric, lse, mean, second, data if data_perturbed else None)


def _softmin_lse_bwd(chunk, residuals, g):
  z, metric, lse, mean, second, data = residuals
  if isinstance(g, SymbolicZero):
    return None, None, None
  # d lse / d z = m (mean - z)
  g_z = g[:, None] * metric * (mean - z)
  g_metric = None
  if second is not None:  # d lse / d m_j = -1/2 sum_i w_i (z_j - z_ij)^2
    g_metric = -0.5 * jnp.sum(g[:, None] * (z * z - 2.0 * z * mean + second), axis=0)
  g_data = None
  if data is not None:  # d lse / d z_i = w_i m (z - z_i), summed over the batch
    size = max(1, min(chunk, data.shape[0]))
    data_c, mask_c = _chunked(data, size)

    def block_cotangent(_, inputs):
      block, block_mask = inputs
      gw = g[:, None] * jnp.exp(_block_logits(z, block, block_mask, metric) - lse[:, None])
      return None, metric * (gw.T @ z - jnp.sum(gw, axis=0)[:, None] * block)

    _, g_blocks = jax.lax.scan(block_cotangent, None, (data_c, mask_c))
    g_data = g_blocks.reshape(-1, data.shape[1])[:data.shape[0]]
  return g_z, g_data, g_metric


_softmin_lse.defvjp(_softmin_lse_fwd, _softmin_lse_bwd, symbolic_zeros=True)


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
  z, data = jnp.asarray(z), jnp.asarray(data)
  _check_inputs(z, data)
  dtype = _float_dtype(z, data)
  metric = jnp.ones((data.shape[-1],), dtype) if metric is None else (
      jnp.broadcast_to(jnp.asarray(metric, dtype), (data.shape[-1],)))
  flat = z.reshape(-1, z.shape[-1]).astype(dtype)
  lse = _softmin_lse(flat, data.astype(dtype), metric, int(chunk_size))
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
  metric = jnp.asarray(1.0 / sigma**2, _float_dtype(z, data))
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
  z, data = jnp.asarray(z), jnp.asarray(data)
  _check_inputs(z, data)
  dtype = _float_dtype(z, data)
  flat = z.reshape(-1, z.shape[-1]).astype(dtype)
  metric = jnp.full((data.shape[-1],), 1.0 / sigma**2, dtype)
  _, mean, _ = _stream_softmin(flat, data.astype(dtype), metric, chunk_size)
  return ((mean - flat) / sigma**2).reshape(z.shape)


def mean_shift(z: Array, data: Array, sigma: float,
               chunk_size: int = DEFAULT_CHUNK) -> Array:
  """One mean-shift step z <- sum_i w_i(z) z_i (a unit gradient step on d_sigma)."""
  return z + sigma**2 * empirical_score(z, data, sigma, chunk_size)


def nearest_distance(z: Array, data: Array,
                     chunk_size: int = DEFAULT_CHUNK) -> Array:
  """min_i ||z - z_i||, the hard distance to data, shape z.shape[:-1]."""
  # The sigma -> 0 limit of d_sigma, computed directly and streamed.
  z, data = jnp.asarray(z), jnp.asarray(data)
  _check_inputs(z, data)
  dtype = _float_dtype(z, data)
  flat, data = z.reshape(-1, z.shape[-1]).astype(dtype), data.astype(dtype)
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
  """A concrete sigma (Python, numpy or jax scalar) must be finite and > 0; a traced
  one (inside jit, e.g. indexed by an annealing level) is the caller's to check."""
  if isinstance(sigma, jax.core.Tracer):
    return
  value = np.asarray(sigma)
  if value.ndim != 0 or not np.issubdtype(value.dtype, np.number):
    raise ValueError(f"sigma must be a scalar, got {sigma!r}.")
  if not (np.isfinite(value) and value > 0):
    raise ValueError(f"sigma must be finite and > 0, got {value.item()}.")


__all__ = ["softmin_energy", "smoothed_distance", "log_density",
           "empirical_score", "mean_shift", "nearest_distance"]
