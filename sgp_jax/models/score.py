"""Score models of the (Gaussian-smoothed) data.

A `ScoreModel` learns grad log p_sigma over z = (x, u) ("xu") or z = (x, u, x')
("xux") in normalised coordinates z_bar = (z - b) / k, and returns the score in
raw units, s(z) = s_phi(z_bar, level) / k (SPEC A.4.1). With one noise level the
network ignores `level`; with L levels it is a `NoiseConditionedMLP` (SPEC A.4.2).
Trained by denoising score matching (`sgp_jax.score.dsm_loss`).
"""
from __future__ import annotations

from typing import Any, Dict, Sequence

import jax.numpy as jnp
import numpy as np
from flax import struct

from sgp_jax import networks
from sgp_jax.models.base import NormalizedModel
from sgp_jax.normalization import Normalizer, concat_normalizers
from sgp_jax.types import Array, Params, PRNGKey


@struct.dataclass
class ScoreModel(NormalizedModel):
  """A score network together with its normaliser and noise levels.

  Attributes:
    net: the flax module (static).
    normalizer: the normaliser of z (x, u and for "xux" x'), a pytree.
    sigmas: noise levels in normalised units, shape (L,), decreasing.
    kind: "xu" or "xux" (static).
    dim_x, dim_u: block sizes (static).
  """
  net: Any = struct.field(pytree_node=False)
  normalizer: Normalizer
  sigmas: Array
  kind: str = struct.field(pytree_node=False, default="xu")
  dim_x: int = struct.field(pytree_node=False, default=0)
  dim_u: int = struct.field(pytree_node=False, default=0)
  model_type = "score"
  label = "score model"

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

  @property
  def input_dims(self) -> Dict[str, int]:
    return {"z": self.dim}

  def expected_inputs(self) -> str:
    return f"z of dim {self.dim} ({self.kind}: dim_x={self.dim_x}, dim_u={self.dim_u})"

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


def point_score_model(normalizer: Normalizer, sigmas: Sequence[float],
                      hidden: Sequence[int], activation: str = "elu") -> ScoreModel:
  """A score model of plain points z (dim n = normalizer.dim): an "xu" model whose u
  block is empty, so `dsm_loss`, `score` and `annealed_langevin` apply unchanged."""
  empty = Normalizer(jnp.ones((0,)), jnp.zeros((0,)))
  return make_score_model("xu", normalizer, empty, sigmas, hidden, activation)


def score_data(model: ScoreModel, x: Array, u: Array, x_next: Array | None = None) -> Array:
  """Concatenates the blocks a score model expects: (x, u) or (x, u, x')."""
  if model.kind == "xux":
    if x_next is None:
      raise ValueError("an xux score model needs x_next.")
    return jnp.concatenate([x, u, x_next], axis=-1)
  return jnp.concatenate([x, u], axis=-1)


__all__ = ["ScoreModel", "make_score_model", "point_score_model", "score_data"]
