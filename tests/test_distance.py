"""SPEC A.3 / E.1: the smoothed distance, the KDE log-likelihood and the exact score.

Every check runs in float64 (inside `jax.enable_x64(True)`, so nothing leaks to
other tests) against plain-numpy formulas written independently of the library's
streaming log-sum-exp, at tolerance 1e-10.
"""
import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import naive_distance, naive_log_density, naive_score, naive_sq_dists
from sgp_jax import distance

TOL = 1e-10
SIGMAS = (0.05, 0.3, 1.0, 3.0)


def _quantities(z, data, sigmas, metric, chunk, grads=True):
  """Everything the tests compare, for a vector of sigmas, in one compiled call.

  sigma is a traced argument (vmapped), so one compile per (shape, chunk) serves
  every sigma: eager `lax.scan`s would re-compile on every call.
  """
  def per_sigma(sigma):
    dist = lambda q: distance.smoothed_distance(q, data, sigma, chunk_size=chunk)
    logp = lambda q: distance.log_density(q, data, sigma, chunk_size=chunk)
    out = {"d": dist(z), "logp": logp(z),
           "score": distance.empirical_score(z, data, sigma, chunk_size=chunk)}
    if grads:
      out["grad_d"] = jax.grad(lambda q: jnp.sum(dist(q)))(z)
      out["grad_logp"] = jax.grad(lambda q: jnp.sum(logp(q)))(z)
      out["mean_shift"] = distance.mean_shift(z, data, sigma, chunk_size=chunk)
    return out
  out = jax.vmap(per_sigma)(sigmas)
  out["energy"] = distance.softmin_energy(z, data, metric, chunk_size=chunk)
  out["nearest"] = distance.nearest_distance(z, data, chunk_size=chunk)
  return out


_quantities_jit = jax.jit(_quantities, static_argnames=("chunk", "grads"))


def _compute(z, data, sigmas=SIGMAS, metric=None, chunk=2048, grads=True):
  metric = np.ones(data.shape[-1]) if metric is None else metric
  out = _quantities_jit(jnp.asarray(z), jnp.asarray(data), jnp.asarray(sigmas),
                        jnp.asarray(metric), chunk=chunk, grads=grads)
  return jax.tree_util.tree_map(np.asarray, out)


def _data_and_queries(seed, n_data, dim, batch_shape):
  rng = np.random.default_rng(seed)
  data = rng.normal(size=(n_data, dim))
  z = rng.normal(scale=1.5, size=batch_shape + (dim,))
  return data, z


@pytest.fixture
def x64():
  with jax.enable_x64(True):
    yield


@pytest.mark.usefixtures("x64")
@pytest.mark.parametrize("batch_shape,dim", [((), 1), ((7,), 3), ((2, 1, 4), 5)])
def test_distance_likelihood_identity(batch_shape, dim):
  """d_sigma + sigma^2 log p_sigma = -sigma^2 (log N + n/2 log(2 pi sigma^2)) (E.1)."""
  n_data = 37
  data, z = _data_and_queries(len(batch_shape) * 10 + dim, n_data, dim, batch_shape)
  out = _compute(z, data)
  assert out["d"].dtype == np.float64
  chex.assert_shape(out["d"], (len(SIGMAS),) + batch_shape)
  for i, sigma in enumerate(SIGMAS):
    d = out["d"][i]
    # The library's d against the numpy formula...
    np.testing.assert_allclose(d, naive_distance(z, data, sigma), rtol=TOL, atol=TOL)
    # ... and the identity with log p computed from the Gaussian pdf (not from d).
    const = -sigma ** 2 * (math.log(n_data) + 0.5 * dim * math.log(2 * math.pi * sigma ** 2))
    lhs = d + sigma ** 2 * naive_log_density(z, data, sigma)
    np.testing.assert_allclose(lhs, np.full(batch_shape, const), rtol=0, atol=TOL)
    # The library's log_density agrees with the pdf-based one.
    np.testing.assert_allclose(out["logp"][i], naive_log_density(z, data, sigma),
                               rtol=TOL, atol=TOL)
    # Bounds of SPEC A.3: min 1/2||z-z_i||^2 - sigma^2 log N <= d <= min 1/2||z-z_i||^2.
    half_min = 0.5 * naive_sq_dists(z, data).min(-1)
    assert np.all(d <= half_min + TOL)
    assert np.all(d >= half_min - sigma ** 2 * math.log(n_data) - TOL)


@pytest.mark.usefixtures("x64")
@pytest.mark.parametrize("batch_shape,dim", [((), 2), ((2, 3), 3)])
def test_gradient_of_distance_is_minus_sigma2_score(batch_shape, dim):
  """Autodiff of d_sigma equals -sigma^2 s_sigma; s_sigma equals sum_i w_i (z_i - z)/sigma^2."""
  data, z = _data_and_queries(dim, 23, dim, batch_shape)
  # chunk 5 does not divide N = 23: the padded last chunk is differentiated too.
  out = _compute(z, data, chunk=5)
  chex.assert_shape(out["score"], (len(SIGMAS),) + z.shape)
  chex.assert_tree_all_finite(out)
  for i, sigma in enumerate(SIGMAS):
    score = out["score"][i]
    np.testing.assert_allclose(out["grad_d"][i], -sigma ** 2 * score, rtol=TOL, atol=TOL)
    # sigma^2 s is the mean-shift vector (an O(1) quantity): compare it at 1e-10.
    np.testing.assert_allclose(sigma ** 2 * score, sigma ** 2 * naive_score(z, data, sigma),
                               rtol=TOL, atol=TOL)
    # The score is also the gradient of log p (the likelihood side of E.1).
    np.testing.assert_allclose(sigma ** 2 * out["grad_logp"][i], sigma ** 2 * score,
                               rtol=TOL, atol=TOL)
    # One mean-shift step lands on the softmax-weighted data mean.
    np.testing.assert_allclose(out["mean_shift"][i], z + sigma ** 2 * naive_score(z, data, sigma),
                               rtol=TOL, atol=TOL)


@pytest.mark.usefixtures("x64")
def test_chunking_matches_unchunked_formula():
  """Chunk sizes that divide N, that do not, of 1, and larger than N all agree."""
  n_data, dim = 60, 3
  data, z = _data_and_queries(5, n_data, dim, (4, 5))
  metric = np.array([2.0, 0.5, 10.0])  # anisotropic, as in raw units (SPEC A.3)
  logits = -0.5 * np.sum(metric * (z[..., None, :] - data) ** 2, -1)
  m = logits.max(-1, keepdims=True)
  naive_energy = -(np.squeeze(m, -1) + np.log(np.exp(logits - m).sum(-1)))
  sigma = 0.4
  for chunk in (7, 12, 64):  # 12 divides N = 60; 7 does not; 64 > N is clipped to N
    out = _compute(z, data, sigmas=(sigma,), metric=metric, chunk=chunk, grads=False)
    msg = f"chunk_size={chunk}"
    np.testing.assert_allclose(out["energy"], naive_energy, rtol=TOL, atol=TOL, err_msg=msg)
    np.testing.assert_allclose(out["d"][0], naive_distance(z, data, sigma), rtol=TOL, atol=TOL,
                               err_msg=msg)
    np.testing.assert_allclose(sigma ** 2 * out["score"][0],
                               sigma ** 2 * naive_score(z, data, sigma), rtol=TOL, atol=TOL,
                               err_msg=msg)
    np.testing.assert_allclose(out["nearest"], np.sqrt(naive_sq_dists(z, data).min(-1)),
                               rtol=TOL, atol=TOL, err_msg=msg)


@pytest.mark.usefixtures("x64")
def test_far_queries_are_stable():
  """Queries far from all data (every exp underflows) stay finite and exact."""
  data = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
  z = np.array([[1e3, -2e3], [50.0, 50.0]])
  sigma = 0.01
  out = _compute(z, data, sigmas=(sigma,), chunk=2)
  chex.assert_tree_all_finite(out)
  np.testing.assert_allclose(out["d"][0], naive_distance(z, data, sigma), rtol=TOL)
  np.testing.assert_allclose(sigma ** 2 * out["score"][0],
                             sigma ** 2 * naive_score(z, data, sigma), rtol=TOL, atol=TOL)
  np.testing.assert_allclose(out["grad_d"][0], -sigma ** 2 * out["score"][0], rtol=TOL)


@pytest.mark.usefixtures("x64")
def test_million_points_stream_in_bounded_memory():
  """10^6 data points: runs, matches the naive formula, never builds a (B, N) array."""
  n_data, dim, batch, sigma = 10 ** 6, 2, 16, 0.05
  rng = np.random.default_rng(1)
  data = rng.uniform(-1.0, 1.0, size=(n_data, dim))
  z = rng.uniform(-1.0, 1.0, size=(batch, dim))
  dist_fn = jax.jit(lambda q, x: distance.smoothed_distance(q, x, sigma))
  score_fn = jax.jit(lambda q, x: distance.empirical_score(q, x, sigma))
  data_j, z_j = jnp.asarray(data), jnp.asarray(z)
  naive_bytes = batch * n_data * 8  # the (B, N) float64 logits alone
  for fn in (dist_fn, score_fn):
    stats = fn.lower(z_j, data_j).compile().memory_analysis()
    if stats is not None:
      # Streaming needs about one padded copy of the data plus (B, chunk) blocks.
      assert stats.temp_size_in_bytes < naive_bytes / 4, stats
  d = np.asarray(dist_fn(z_j, data_j))
  s = np.asarray(score_fn(z_j, data_j))
  chex.assert_shape(d, (batch,))
  chex.assert_shape(s, (batch, dim))
  for i in (0, 5, 11):  # a subsample of queries, each against all 10^6 points
    np.testing.assert_allclose(d[i], naive_distance(z[i], data, sigma), rtol=TOL, atol=TOL)
    np.testing.assert_allclose(sigma ** 2 * s[i], sigma ** 2 * naive_score(z[i], data, sigma),
                               rtol=1e-9, atol=TOL)


@pytest.mark.usefixtures("x64")
def test_streamed_vjp_matches_autodiff_of_the_formula():
  """The custom VJP's cotangents for z, the data, the metric and sigma equal
  autodiff of the plain log-sum-exp formula (chunk 5 does not divide N = 23)."""
  data, z = _data_and_queries(7, 23, 3, (4,))
  metric = np.array([2.0, 0.5, 10.0])
  g_out = np.random.default_rng(8).normal(size=(4,))  # a non-uniform output cotangent

  def naive_energy(q, x, m):
    logits = -0.5 * jnp.sum(m * (q[:, None, :] - x[None]) ** 2, -1)
    return -jax.scipy.special.logsumexp(logits, axis=-1)

  def naive_d(q, x, sigma):
    return sigma ** 2 * naive_energy(q, x, 1.0 / sigma ** 2)

  lib_energy = lambda q, x, m: distance.softmin_energy(q, x, m, chunk_size=5)
  lib_d = lambda q, x, sigma: distance.smoothed_distance(q, x, sigma, chunk_size=5)
  for lib, naive, third in ((lib_energy, naive_energy, metric), (lib_d, naive_d, 0.3)):
    args = (jnp.asarray(z), jnp.asarray(data), jnp.asarray(third))
    got = jax.jit(jax.grad(lambda *a: jnp.sum(g_out * lib(*a)), argnums=(0, 1, 2)))(*args)
    want = jax.grad(lambda *a: jnp.sum(g_out * naive(*a)), argnums=(0, 1, 2))(*args)
    for g, w in zip(got, want):
      np.testing.assert_allclose(g, w, rtol=1e-9, atol=TOL)


def test_gradient_memory_streams_like_the_forward_pass():
  """10^6 points x 64 queries in 5-D: the compiled gradient's temporaries stay under
  1 GB (plain autodiff of the scan stores every (B, chunk) block: about 3.2 GB)."""
  n_data, batch, dim, sigma = 10 ** 6, 64, 5, 0.1
  data = jax.ShapeDtypeStruct((n_data, dim), jnp.float32)
  z = jax.ShapeDtypeStruct((batch, dim), jnp.float32)
  loss = lambda q, x: jnp.sum(distance.smoothed_distance(q, x, sigma))
  for argnums in (0, 1):
    stats = jax.jit(jax.grad(loss, argnums=argnums)).lower(z, data).compile().memory_analysis()
    if stats is None:
      pytest.skip("this backend reports no memory analysis")
    assert stats.temp_size_in_bytes < 1e9, (argnums, stats)


def test_input_errors():
  data = jnp.zeros((5, 2))
  with pytest.raises(ValueError, match="dim|shape"):
    distance.smoothed_distance(jnp.zeros((3, 3)), data, 0.1)
  with pytest.raises(ValueError, match="data must have shape"):
    distance.empirical_score(jnp.zeros((3, 2)), jnp.zeros((5, 2, 1)), 0.1)
  # sigma as a Python, numpy or jax scalar: zero, negative and NaN are all refused.
  for bad in (0.0, -0.1, np.float32(0.0), jnp.array(-0.5), float("nan"), np.inf):
    with pytest.raises(ValueError, match="sigma"):
      distance.smoothed_distance(jnp.zeros((3, 2)), data, bad)
    with pytest.raises(ValueError, match="sigma"):
      distance.empirical_score(jnp.zeros((3, 2)), data, bad)
  with pytest.raises(ValueError, match="sigma must be a scalar"):
    distance.smoothed_distance(jnp.zeros((3, 2)), data, jnp.array([0.1, 0.2]))
  # Empty data, or data with NaN rows, would silently give NaN.
  with pytest.raises(ValueError, match="data is empty"):
    distance.smoothed_distance(jnp.zeros((3, 2)), jnp.zeros((0, 2)), 0.1)
  nan_data = np.zeros((5, 2))
  nan_data[3, 1] = np.nan
  for fn in (distance.smoothed_distance, distance.empirical_score):
    with pytest.raises(ValueError, match=r"NaN or inf in 1 of 5 rows \(first: row 3\)"):
      fn(jnp.zeros((3, 2)), nan_data, 0.1)


def test_integer_inputs_are_promoted_to_float():
  """Integer queries and data give the float32 result, not a TypeError in lax.scan."""
  z, data = np.array([[0, 1], [2, 2]]), np.array([[0, 0], [1, 1], [3, 2]])
  for fn in (distance.smoothed_distance, distance.empirical_score):
    got = fn(z, data, 1)
    assert got.dtype == jnp.float32
    np.testing.assert_allclose(got, fn(z.astype(np.float32), data.astype(np.float32), 1.0))
  np.testing.assert_allclose(distance.nearest_distance(z, data), [1.0, 1.0])


def test_float32_default_does_not_leak_x64():
  """The x64 blocks above are scoped: outside them, arrays are float32 again."""
  d = distance.smoothed_distance(jnp.ones((2, 2)), jnp.zeros((3, 2)), 0.5)
  assert d.dtype == jnp.float32
