"""Score models of the (Gaussian-smoothed) data and denoising score matching.

A `ScoreModel` learns grad log p_sigma over z = (x, u) ("xu") or z = (x, u, x')
("xux") in normalised coordinates z_bar = (z - b) / k, and returns the score in
raw units, s(z) = s_phi(z_bar, level) / k (SPEC A.4.1). With one noise level the
network ignores `level`; with L levels it is a `NoiseConditionedMLP` (SPEC A.4.2).

Losses (Song & Ermon): for a level with noise sigma,
  L_sigma(phi) = E_batch 1/2 || s_phi(z_bar + sigma eps) + eps / sigma ||^2,
the squared norm summed over dimensions and averaged over the batch; multi-level
losses weight each level by sigma^2.
"""
from __future__ import annotations



from typing import Sequence

import chex
import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from sgp_jax import networks
from sgp_jax.normalization import Normalizer, concat_normalizers
from sgp_jax.types import Array, Params, PRNGKey


# ----------------------------------------------------------------- schedules
def cosine_sigmas(sigma_max: float, sigma_min: float, num_levels: int) -> np.ndarray:
  """sigma_l = sigma_min + (sigma_max - sigma_min) (1 + cos(pi (l-1)/(L-1))) / 2, decreasing."""
  _check_schedule(sigma_max, sigma_min, num_levels)
  if num_levels == 1:
    return np.array([sigma_max], np.float32)
  l = np.arange(num_levels)
  return (sigma_min + (sigma_max - sigma_min) * 0.5 *
          (1 + np.cos(np.pi * l / (num_levels - 1)))).astype(np.float32)


def geometric_sigmas(sigma_max: float, sigma_min: float, num_levels: int) -> np.ndarray:
  """Log-spaced levels from sigma_max down to sigma_min."""
  _check_schedule(sigma_max, sigma_min, num_levels)
  return np.geomspace(sigma_max, sigma_min, num_levels).astype(np.float32)


def _check_schedule(sigma_max, sigma_min, num_levels):
  if not (0 < sigma_min < np.inf and 0 < sigma_max < np.inf):
    raise ValueError(f"noise levels must be finite and > 0, got max={sigma_max}, "
                     f"min={sigma_min}.")
  if sigma_min > sigma_max:
    raise ValueError(f"sigma_min={sigma_min} must not exceed sigma_max={sigma_max}.")
  if num_levels < 1:
    raise ValueError(f"num_levels must be >= 1, got {num_levels}.")


# ------------------------------------------------------------------- model
@struct.dataclass
class ScoreModel:
  """A score network together with its normaliser and noise levels.

  Attributes:
    net: the flax module (static).
    normalizer: the normaliser of z (x, u and for "xux" x'), a pytree.
    sigmas: noise levels in normalised units, shape (L,), decreasing.
    kind: "xu" or "xux" (static).
    dim_x, dim_u: block sizes (static).
  """
  net: object = struct.field(pytree_node=False)
  normalizer: Normalizer
  sigmas: Array
  kind: str = struct.field(pytree_node=False, default="xu")
  dim_x: int = struct.field(pytree_node=False, default=0)
  dim_u: int = struct.field(pytree_node=False, default=0)

  @property
  def num_levels(self) -> int:
    return int(self.sigmas.shape[0])

  @property
  def conditioned(self) -> bool:
    """Whether the network takes a level: several noise levels, or a conditioned MLP."""
    return self.num_levels > 1 or isinstance(self.net, networks.NoiseConditionedMLP)

  @property
  def dim(self) -> int:
    return self.dim_x * (2 if self.kind == "xux" else 1) + self.dim_u

  def init(self, key: PRNGKey) -> Params:
    z = jnp.zeros((1, self.dim))
    if self.conditioned:
      return self.net.init(key, z, jnp.zeros((1,), jnp.int32))
    return self.net.init(key, z)

  def score_normalized(self, params: Params, z_bar: Array, level=0) -> Array:
    """s_phi(z_bar, level): the score in normalised coordinates, shape z_bar.shape."""
    if self.conditioned:
      return self.net.apply(params, z_bar, level)
    return self.net.apply(params, z_bar)

  def score(self, params: Params, z: Array, level=0) -> Array:
    """grad_z log p(z) in raw units for raw z of shape (..., dim)."""
    self.check_input(z)
    z_bar = self.normalizer.normalize(z)
    return self.normalizer.score_to_raw(self.score_normalized(params, z_bar, level))

  def sigma(self, level=0) -> Array:
    """The noise level (normalised units) at `level`."""
    return self.sigmas[level]

  def check_input(self, z: Array) -> None:
    if z.shape[-1] != self.dim:
      raise ValueError(
          f"{self.kind} score model expects z of dim {self.dim} "
          f"(dim_x={self.dim_x}, dim_u={self.dim_u}), got shape {z.shape}.")

  def split(self, z: Array):
    """Splits z (..., dim) into its x, u (and x') blocks."""
    x, u = z[..., :self.dim_x], z[..., self.dim_x:self.dim_x + self.dim_u]
    if self.kind == "xux":
      return x, u, z[..., self.dim_x + self.dim_u:]
    return x, u


def make_score_model(kind: str, x_normalizer: Normalizer, u_normalizer: Normalizer,
                     sigmas: Sequence[float], hidden: Sequence[int],
                     activation: str = "elu", layer_norm: bool = False,
                     alpha: float = 1.0) -> ScoreModel:
  """Builds an xu or xux score model.

  Args:
    kind: "xu" for z = (x, u) or "xux" for z = (x, u, x').
    x_normalizer, u_normalizer: block normalisers.
    sigmas: noise level(s) in normalised units; one level gives a plain MLP,
      several a noise-conditioned MLP.
    hidden: hidden widths.
    alpha: for "xux", x' is normalised with scale k_x / alpha (alpha > 1 weighs
      dynamics mismatch more, SPEC A.4.3).
  """
  if kind not in ("xu", "xux"):
    raise ValueError(f"kind must be 'xu' or 'xux', got {kind!r}.")
  sigmas = np.asarray(sigmas, np.float32).reshape(-1)
  if sigmas.size == 0:
    raise ValueError("sigmas is empty; give at least one noise level (> 0, normalised "
                     "units).")
  bad = ~(np.isfinite(sigmas) & (sigmas > 0))
  if bad.any():
    raise ValueError(f"sigmas must be finite and > 0; got {sigmas[bad].tolist()} at "
                     f"level(s) {np.nonzero(bad)[0].tolist()} of {sigmas.tolist()}.")
  if alpha <= 0:
    raise ValueError(f"alpha must be > 0, got {alpha}.")
  blocks = [x_normalizer, u_normalizer]
  if kind == "xux":
    blocks.append(Normalizer(x_normalizer.scale / alpha, x_normalizer.offset))
  normalizer = concat_normalizers(blocks)
  dim = normalizer.dim
  if sigmas.size > 1:
    net = networks.NoiseConditionedMLP(tuple(hidden), dim, int(sigmas.size), activation)
  else:
    net = networks.MLP(tuple(hidden), dim, activation, layer_norm)
  return ScoreModel(net=net, normalizer=normalizer, sigmas=jnp.asarray(sigmas),
                    kind=kind, dim_x=x_normalizer.dim, dim_u=u_normalizer.dim)


# ------------------------------------------------------------------ losses
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


def score_data(model: ScoreModel, x: Array, u: Array, x_next: Array | None = None) -> Array:
  """Concatenates the blocks a score model expects: (x, u) or (x, u, x')."""
  if model.kind == "xux":
    if x_next is None:
      raise ValueError("an xux score model needs x_next.")
    return jnp.concatenate([x, u, x_next], axis=-1)
  return jnp.concatenate([x, u], axis=-1)


__all__ = ["cosine_sigmas", "geometric_sigmas", "ScoreModel", "make_score_model",
           "dsm_loss", "dsm_loss_at_level", "score_data"]
