"""Denoising score matching: the training loss of `sgp_jax.models.ScoreModel`.

For a level with noise sigma (Song & Ermon),
  L_sigma(phi) = E_batch 1/2 || s_phi(z_bar + sigma eps) + eps / sigma ||^2,
the squared norm summed over dimensions and averaged over the batch, in the
model's normalised coordinates z_bar; multi-level losses weight each level by
sigma^2. Its minimiser is the score of the data smoothed by N(0, sigma^2 I).
"""
from __future__ import annotations

import chex
import jax
import jax.numpy as jnp

from sgp_jax.models.score import ScoreModel
from sgp_jax.schedules import cosine_sigmas, geometric_sigmas  # re-exported
from sgp_jax.types import Array, Params, PRNGKey


def dsm_loss_at_level(model: ScoreModel, params: Params, z_bar: Array,
                      key: PRNGKey, level) -> Array:
  """1/2 mean_b || s(z_bar + sigma eps, level) + eps / sigma ||^2 at one level."""
  sigma = model.sigmas[level]
  eps = jax.random.normal(key, z_bar.shape, z_bar.dtype)
  pred = model.score_normalized(params, z_bar + sigma * eps, level)
  return 0.5 * jnp.mean(jnp.sum((pred + eps / sigma) ** 2, axis=-1))


def dsm_loss(model: ScoreModel, params: Params, z: Array, key: PRNGKey,
             sample_level: bool = True, per_sample: bool = False) -> Array:
  """Denoising score-matching loss on raw data z of shape (B, dim).

  One level: the plain loss. Several levels: sigma^2-weighted, either summed over
  all levels (sample_level=False), at one level drawn uniformly per minibatch
  (sample_level=True), or at one level drawn per sample (per_sample=True, the
  NCSNv2 loss: 1/2 mean_b sigma_b^2 || s(z_bar_b + sigma_b eps_b, l_b) + eps_b /
  sigma_b ||^2).
  """
  chex.assert_rank(z, 2)
  model.check_input(z)
  z_bar = model.normalizer.normalize(z)
  if not model.conditioned:
    return dsm_loss_at_level(model, params, z_bar, key, 0)
  key_level, key_noise = jax.random.split(key)
  if per_sample:
    levels = jax.random.randint(key_level, z.shape[:1], 0, model.num_levels)
    sigma = model.sigmas[levels][:, None]
    eps = jax.random.normal(key_noise, z_bar.shape, z_bar.dtype)
    pred = model.score_normalized(params, z_bar + sigma * eps, levels)
    return 0.5 * jnp.mean(jnp.sum((sigma * pred + eps) ** 2, axis=-1))
  if sample_level:
    level = jax.random.randint(key_level, (), 0, model.num_levels)
    return model.sigmas[level] ** 2 * dsm_loss_at_level(
        model, params, z_bar, key_noise, level)
  keys = jax.random.split(key, model.num_levels)
  levels = jnp.arange(model.num_levels)
  per_level = jax.vmap(lambda k, l: dsm_loss_at_level(model, params, z_bar, k, l))(
      keys, levels)
  return jnp.sum(model.sigmas ** 2 * per_level)


__all__ = ["cosine_sigmas", "geometric_sigmas", "dsm_loss", "dsm_loss_at_level"]
