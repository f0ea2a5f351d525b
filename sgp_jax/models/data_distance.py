"""The data-distance estimator (DDE): an MLP amortising the softmin distance to data.

The exact energy E(z) = -logsumexp_i(-1/2 sum_j m_j (z_j - z_ij)^2)
(`sgp_jax.distance.softmin_energy`, SPEC A.3) costs O(N) per query. The DDE
regresses it with an L1 loss at points drawn uniformly in a box around the data
(SPEC A.9.4), so a planner can query it in O(1):

  model, params, result = fit_data_distance(data, low, high, metric, hidden, ...)
  e = model(params, z)        # ~ softmin_energy(z, data, metric), shape z.shape[:-1]

Unlike the reference code, which draws a fresh batch every "epoch", we draw
`num_points` box samples once, compute their exact targets once (streamed), and
train on them with the shared loop `sgp_jax.training.train` (held-out split,
cosine LR, best checkpoint). The network sees normalised inputs (the box maps to
[-1, 1]^n) and predicts standardised targets.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from sgp_jax import distance, training
from sgp_jax.models.base import ScalarRegressionModel, target_standardization
from sgp_jax.normalization import Normalizer
from sgp_jax.types import Array, Params, PRNGKey


@struct.dataclass
class DataDistanceModel(ScalarRegressionModel):
  """E_hat(z) = net(z_bar) * target_scale + target_offset, z_bar = normalizer(z):
  the estimated softmin energy for raw z (..., dim), shape z.shape[:-1]."""
  model_type = "data_distance"
  label = "data-distance model"

  def expected_inputs(self) -> str:
    return f"z of dim {self.dim}"


def make_data_distance_model(low, high, hidden: Sequence[int] = (128, 128, 128, 128),
                             activation: str = "relu", target_scale=1.0,
                             target_offset=0.0) -> DataDistanceModel:
  """A DDE over the box [low, high] (cart-pole: MLP [128]*4, ReLU; SPEC B.6)."""
  return DataDistanceModel.create(Normalizer.from_box(low, high), hidden, activation,
                                  target_scale=target_scale, target_offset=target_offset)


def sample_box(key: PRNGKey, low, high, num: int) -> Array:
  """num points uniform in the box [low, high], shape (num, n)."""
  low, high = jnp.asarray(low, jnp.float32), jnp.asarray(high, jnp.float32)
  if low.shape != high.shape or low.ndim != 1 or not bool(jnp.all(high > low)):
    raise ValueError(f"the box needs 1-D low < high of one shape, got {low}, {high}.")
  return jax.random.uniform(key, (num, low.shape[0]), minval=low, maxval=high)


def dde_loss(model: DataDistanceModel, params: Params, z: Array, target: Array) -> Array:
  """L1 loss mean_b |E_hat(z_b) - E(z_b)| in standardised target units."""
  return jnp.mean(jnp.abs(model.standardized_error(params, z, target)))


def fit_data_distance(data: Array, low, high, metric=None,
                      hidden: Sequence[int] = (128, 128, 128, 128),
                      activation: str = "relu", num_points: int = 65536,
                      config: Optional[training.TrainConfig] = None,
                      key: Optional[PRNGKey] = None,
                      **train_kwargs) -> Tuple[DataDistanceModel, Params,
                                                training.TrainResult]:
  """Fits a DDE to softmin_energy(., data, metric) on uniform samples of the box.

  Args:
    data: data points (N, n) in the same (raw) coordinates as the box.
    low, high: the sampling box, each (n,).
    metric: per-dimension weights m (n,) or scalar; None gives ones. Cart-pole
      uses m = 2 / (high - low) (SPEC A.9.4).
    hidden, activation: the MLP.
    num_points: box samples (their exact targets are computed once).
    config: training settings (default: 400 epochs, batch 2048, lr 1e-3).
    key: samples the points and initialises the network.
    train_kwargs: passed to `training.train`.

  Returns:
    (model, params, train_result).
  """
  data = jnp.asarray(data, jnp.float32)
  if data.ndim != 2 or data.shape[0] == 0:
    raise ValueError(f"data must have shape (N, n) with N > 0, got {data.shape}.")
  if not bool(jnp.all(jnp.isfinite(data))):
    raise ValueError("data contains NaN or inf.")
  if np.shape(low) != (data.shape[1],) or np.shape(high) != (data.shape[1],):
    raise ValueError(f"low and high must have shape ({data.shape[1]},) to match data, "
                     f"got {np.shape(low)} and {np.shape(high)}.")
  if metric is not None and not np.all(np.asarray(metric) > 0):
    raise ValueError(f"metric must be > 0, got {metric}.")
  config = config or training.TrainConfig(epochs=400, batch_size=2048)
  key = jax.random.PRNGKey(config.seed) if key is None else key
  key_points, key_init = jax.random.split(key)
  z = sample_box(key_points, low, high, num_points)
  target = distance.softmin_energy(z, data, metric)
  scale, offset = target_standardization(target)
  model = make_data_distance_model(low, high, hidden, activation, target_scale=scale,
                                   target_offset=offset)
  result = training.train(lambda p, batch, k: dde_loss(model, p, *batch),
                          model.init(key_init), (z, target), config, **train_kwargs)
  return model, result.params, result


__all__ = ["DataDistanceModel", "make_data_distance_model", "sample_box", "dde_loss",
           "fit_data_distance"]
