"""Denoising score matching (`sgp_jax.score`): the loss's value where it is known in
closed form, and SPEC E.2: a DSM-trained score matches the exact empirical score of
p_sigma.

The closed form: for a linear score s_bar(z_bar) = a z_bar + c of normalised data
z_bar (mean 0 over the batch) and noise sigma,
  1/2 E_eps || a (z_bar + sigma eps) + c + eps / sigma ||^2
    = 1/2 mean_b || a z_bar_b + c ||^2 + 1/2 n (a sigma + 1 / sigma)^2,
minimised at a = -1 / (v + sigma^2) for data of variance v: the score of
N(0, (v + sigma^2) I).

Trained with `sgp_jax.models.make_score_model` + `dsm_loss` + `sgp_jax.training.train`
and compared with `sgp_jax.distance.empirical_score` (SPEC A.3), the oracle:

  * 1D three-point set (SPEC B.2: N = 3 points on [-1, 1], sigma = 0.2). The model
    is an "xu" model with dim_x = 1, dim_u = 0 and identity normalisers, so raw and
    normalised units coincide and the oracle is empirical_score(grid, data, sigma).
  * 2D circle (radius 3, centre c, 1000 points). The model is "xu" with dim_x =
    dim_u = 1 and the normaliser k = 2r, b = c of SPEC A.4.3. sigma is in
    normalised units, so the oracle in raw units is
    empirical_score((grid - c)/k, (data - c)/k, sigma) / k (SPEC A.4.1).

Threshold (SPEC E.2, ours): relative L2 error ||s_hat - s|| / ||s|| < 0.1 over
the grid points where p_sigma > 1 % of its maximum on the grid; for noise-
conditioned models at every level. The data are tiled (each point repeated
equally often), which leaves the empirical distribution unchanged but gives
every minibatch many noise draws.
"""
import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sgp_jax import distance, training
from sgp_jax.models import ScoreModel, make_score_model
from sgp_jax.normalization import Normalizer
from sgp_jax.score import dsm_loss

THRESHOLD = 0.1
BATCH = 512

CIRCLE_R = 3.0
CIRCLE_C = np.array([0.5, -1.0], np.float32)
CIRCLE_K = 2 * CIRCLE_R


# ---------------------------------------------------------------- closed form
K, B_OFFSET = np.array([2.0, 0.5], np.float32), np.array([1.0, -3.0], np.float32)


def _linear_score_data(n=40000, v=0.3):
  """Raw data whose normalised values have batch mean 0 and variance v per dim."""
  z_bar = np.random.default_rng(0).normal(size=(n, 2))
  z_bar = (z_bar - z_bar.mean(0)) / z_bar.std(0) * np.sqrt(v)
  return jnp.asarray(z_bar * K + B_OFFSET, jnp.float32), z_bar


def _closed_form(a, c, sigma, z_bar):
  data_term = 0.5 * np.mean(np.sum((a * z_bar + c) ** 2, -1))
  return data_term + 0.5 * z_bar.shape[1] * (a * sigma + 1 / sigma) ** 2


def test_dsm_loss_value_of_a_linear_score():
  sigma = 0.4
  model = make_score_model("xu", Normalizer.from_scale(K[0], B_OFFSET[0], dim=1),
                           Normalizer.from_scale(K[1], B_OFFSET[1], dim=1), [sigma],
                           hidden=())  # one Dense layer: s_bar = W z_bar + c
  z, z_bar = _linear_score_data()
  c = np.array([0.3, -0.2], np.float32)
  for a in (0.0, -1.0, -1 / (0.3 + sigma ** 2), -5.0):
    params = {"params": {"Dense_0": {"kernel": a * jnp.eye(2), "bias": jnp.asarray(c)}}}
    got = float(dsm_loss(model, params, z, jax.random.PRNGKey(1)))
    want = _closed_form(a, c, sigma, z_bar)
    np.testing.assert_allclose(got, want, rtol=0.02, err_msg=f"a = {a}")
  # The exact minimiser over a (c = 0) beats its neighbours by the closed form's margin.
  losses = {}
  for a in (-1 / (0.3 + sigma ** 2) * f for f in (0.5, 1.0, 1.5)):
    params = {"params": {"Dense_0": {"kernel": a * jnp.eye(2), "bias": jnp.zeros(2)}}}
    losses[a] = float(dsm_loss(model, params, z, jax.random.PRNGKey(2)))
  assert min(losses, key=losses.get) == pytest.approx(-1 / (0.3 + sigma ** 2))


class _LevelLinear(nn.Module):
  """s_bar(z_bar, l) = a_l z_bar with one fixed slope per level."""
  slopes: tuple

  @nn.compact
  def __call__(self, z, level):
    a = jnp.asarray(self.slopes)[jnp.asarray(level)]
    return jnp.reshape(a, jnp.shape(a) + (1,) * (z.ndim - jnp.ndim(a))) * z


def test_multi_level_dsm_weights_each_level_by_sigma_squared():
  """Summed over levels: sum_l sigma_l^2 L_l; a level per sample: the mean over levels;
  a level per minibatch: one of the sigma_l^2 L_l."""
  sigmas = np.array([1.0, 0.5, 0.25], np.float32)
  slopes = (-0.5, -1.2, -2.0)
  model = ScoreModel(net=_LevelLinear(slopes), normalizer=Normalizer(
      jnp.asarray(K), jnp.asarray(B_OFFSET)), sigmas=jnp.asarray(sigmas), kind="xu",
      dim_x=1, dim_u=1)
  z, z_bar = _linear_score_data()
  per_level = np.array([s ** 2 * _closed_form(a, 0.0, s, z_bar)
                        for a, s in zip(slopes, sigmas)])
  key = jax.random.PRNGKey(3)
  np.testing.assert_allclose(dsm_loss(model, {}, z, key, sample_level=False),
                             per_level.sum(), rtol=0.02)
  np.testing.assert_allclose(dsm_loss(model, {}, z, key, per_sample=True),
                             per_level.mean(), rtol=0.02)
  drawn = float(dsm_loss(model, {}, z, key, sample_level=True))
  assert np.min(np.abs(per_level - drawn) / per_level) < 0.02, (drawn, per_level)


def _train_dsm(model, points, steps, learning_rate, seed=0, sample_level=False):
  """Trains `model` by DSM on `points` for about `steps` Adam steps; returns params."""
  steps_per_epoch = 20
  # 5 % held out (a cheap validation pass); the rest gives `steps_per_epoch` batches.
  reps = -(-int(steps_per_epoch * BATCH / 0.95) // points.shape[0]) + 1
  z = np.tile(points, (reps, 1))
  epochs = max(1, steps // steps_per_epoch)
  config = training.TrainConfig(epochs=epochs, batch_size=BATCH, learning_rate=learning_rate,
                                validation_fraction=0.05, epochs_per_call=epochs,
                                keep_best=False, seed=seed)
  params = model.init(jax.random.PRNGKey(seed))
  loss = lambda p, batch, key: dsm_loss(model, p, batch, key, sample_level=sample_level)
  result = training.train(loss, params, z, config)
  chex.assert_tree_all_finite(result.params)
  assert result.history["train_loss"].shape == (epochs,)
  return result.params


def _relative_error(pred, exact, mask):
  pred, exact = np.asarray(pred), np.asarray(exact)
  assert pred.shape == exact.shape, (pred.shape, exact.shape)
  return float(np.linalg.norm((pred - exact)[mask]) / np.linalg.norm(exact[mask]))


def _mass_mask(grid_bar, data_bar, sigma):
  """Grid points where p_sigma > 1 % of its maximum on the grid.

  The grids reach 4 sigma beyond the data, past the 1 % contour (about 3 sigma
  from the nearest point), so the mask is the whole region where p_sigma has mass.
  """
  logp = np.asarray(distance.log_density(jnp.asarray(grid_bar), jnp.asarray(data_bar), sigma))
  mask = logp > np.log(0.01) + logp.max()
  assert 20 < mask.sum() < mask.size  # a real region, not the whole grid
  return mask


# ---------------------------------------------------------------- 1D (SPEC B.2)
def _three_points():
  return np.random.default_rng(123).uniform(-1.0, 1.0, size=(3, 1)).astype(np.float32)


def _check_1d(model, params, points, levels):
  errors = []
  for level in levels:
    sigma = float(model.sigmas[level])
    grid = np.linspace(points.min() - 4 * sigma, points.max() + 4 * sigma, 401,
                       dtype=np.float32)[:, None]
    exact = distance.empirical_score(jnp.asarray(grid), jnp.asarray(points), sigma)
    pred = model.score(params, jnp.asarray(grid), level)
    chex.assert_shape(pred, grid.shape)
    errors.append(_relative_error(pred, exact, _mass_mask(grid, points, sigma)))
  return errors


def test_1d_three_points_single_sigma():
  points = _three_points()
  model = make_score_model("xu", Normalizer.identity(1), Normalizer.identity(0), [0.2],
                           hidden=(32, 32, 32))
  assert model.dim == 1 and not model.conditioned
  untrained = _check_1d(model, model.init(jax.random.PRNGKey(0)), points, [0])
  assert untrained[0] > 0.5  # the metric does tell a wrong score apart
  params = _train_dsm(model, points, steps=2000, learning_rate=5e-3)
  (err,) = _check_1d(model, params, points, [0])
  assert err < THRESHOLD, f"relative L2 error {err:.3f}"


def test_1d_three_points_noise_conditioned():
  points = _three_points()
  sigmas = [0.4, 0.28, 0.2]
  model = make_score_model("xu", Normalizer.identity(1), Normalizer.identity(0), sigmas,
                           hidden=(32, 32, 32))
  assert model.conditioned and model.num_levels == 3
  params = _train_dsm(model, points, steps=2000, learning_rate=5e-3)
  errors = _check_1d(model, params, points, range(3))
  assert max(errors) < THRESHOLD, f"per-level relative L2 errors {errors}"


# ------------------------------------------------------------------- 2D circle
def _circle_points(n=1000):
  angles = np.random.default_rng(0).uniform(0.0, 2 * np.pi, n)
  return (CIRCLE_C + CIRCLE_R * np.stack([np.cos(angles), np.sin(angles)], -1)).astype(np.float32)


def _circle_model(sigmas):
  x_norm = Normalizer.from_scale(CIRCLE_K, CIRCLE_C[0], dim=1)
  u_norm = Normalizer.from_scale(CIRCLE_K, CIRCLE_C[1], dim=1)
  return make_score_model("xu", x_norm, u_norm, sigmas, hidden=(64, 64, 64))


def _check_circle(model, params, points, levels):
  points_bar = (points - CIRCLE_C) / CIRCLE_K
  errors = []
  for level in levels:
    sigma = float(model.sigmas[level])
    half_width = CIRCLE_K * (0.5 + 4 * sigma)  # ring radius r = k/2, plus 4 sigma
    g = np.linspace(-half_width, half_width, 41, dtype=np.float32)
    grid = (np.stack(np.meshgrid(g, g), -1).reshape(-1, 2) + CIRCLE_C).astype(np.float32)
    grid_bar = (grid - CIRCLE_C) / CIRCLE_K
    np.testing.assert_allclose(model.normalizer.normalize(jnp.asarray(grid)), grid_bar,
                               rtol=1e-5, atol=1e-5)
    exact = distance.empirical_score(jnp.asarray(grid_bar), jnp.asarray(points_bar),
                                     sigma) / CIRCLE_K
    # The same oracle straight in raw units: isotropic k, so sigma_raw = k sigma.
    np.testing.assert_allclose(
        exact, distance.empirical_score(jnp.asarray(grid), jnp.asarray(points),
                                        sigma * CIRCLE_K), rtol=1e-3, atol=1e-3)
    pred = model.score(params, jnp.asarray(grid), level)
    chex.assert_shape(pred, grid.shape)
    errors.append(_relative_error(pred, exact, _mass_mask(grid_bar, points_bar, sigma)))
  return errors


def test_circle_single_sigma():
  points = _circle_points()
  model = _circle_model([0.15])
  untrained = _check_circle(model, model.init(jax.random.PRNGKey(0)), points, [0])
  assert untrained[0] > 0.5
  params = _train_dsm(model, points, steps=2000, learning_rate=5e-3)
  (err,) = _check_circle(model, params, points, [0])
  assert err < THRESHOLD, f"relative L2 error {err:.3f}"


def test_circle_noise_conditioned_two_levels():
  """The fast noise-conditioned circle check: two levels, 1500 steps."""
  points = _circle_points()
  model = _circle_model([0.3, 0.2])
  params = _train_dsm(model, points, steps=1500, learning_rate=5e-3)
  errors = _check_circle(model, params, points, range(2))
  assert max(errors) < THRESHOLD, f"per-level relative L2 errors {errors}"


@pytest.mark.slow
@pytest.mark.parametrize("sample_level", [False, True])
def test_circle_noise_conditioned_three_levels(sample_level):
  """Three levels down to sigma = 0.15, both NCSN loss options (SPEC A.4.2)."""
  points = _circle_points()
  model = _circle_model([0.3, 0.21, 0.15])
  params = _train_dsm(model, points, steps=4000 if not sample_level else 8000,
                      learning_rate=5e-3, sample_level=sample_level)
  errors = _check_circle(model, params, points, range(3))
  assert max(errors) < THRESHOLD, f"per-level relative L2 errors {errors}"
