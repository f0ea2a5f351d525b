"""A learned value V(x) beyond the planning horizon, fitted offline on Monte-Carlo returns.

  monte_carlo_returns(data, discount)   discounted returns-to-go of the logged episodes
  make_value_model(x_normalizer, returns, hidden, ...)   V(x) = net(x_bar) * scale + offset
  value_loss(model, params, x, returns)  1/2 mean squared error in standardised units

Returns-to-go, per episode (episodes end at rows where `terminals | timeouts`):
G_i = r_i + discount * G_{i+1} inside an episode; at its last row G = r + tail, where
  * a terminal (the env ended the episode, e.g. the hopper fell): tail = 0;
  * a timeout (cut by the time limit; also an episode the data set cuts off without
    either flag at its last row): the unseen continuation is estimated as the
    episode's own mean reward forever, tail = discount * r_mean / (1 - discount)
    (`truncated_tail="mean_reward"`, the default), or dropped, tail = 0
    (`truncated_tail="zero"`: returns near a cut are biased low).
The value is the behaviour policy's (the data's), as MBOP's; it joins the planner's
objective through `sgp_jax.planning.make_problem(value=..., value_weight=...)`.
Saved and loaded like every model (`sgp_jax.models.save` / `load`).
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence, Union

import jax.numpy as jnp
import numpy as np
from flax import struct

from sgp_jax.models.base import ScalarRegressionModel, target_standardization
from sgp_jax.normalization import Normalizer
from sgp_jax.types import Array, Params

TRUNCATED_TAILS = ("mean_reward", "zero")


@struct.dataclass
class ValueModel(ScalarRegressionModel):
  """V(x) = net(x_bar) * value_scale + value_offset (standardised by the data's returns)
  for raw x (..., dim_x), shape x.shape[:-1]. Its normaliser, scale and offset are
  named x_normalizer, value_scale and value_offset, also in its config."""
  model_type = "value"
  label = "value model"
  input_name = "x"
  config_keys = {"normalizer": "x_normalizer", "target_scale": "value_scale",
                 "target_offset": "value_offset"}

  # The value model's own names of the common fields (and of its input size).
  dim_x = property(lambda self: self.dim)
  x_normalizer = property(lambda self: self.normalizer)
  value_scale = property(lambda self: self.target_scale)
  value_offset = property(lambda self: self.target_offset)


def make_value_model(x_normalizer: Normalizer, returns, hidden: Sequence[int],
                     activation: str = "elu", layer_norm: bool = False) -> ValueModel:
  """A value model whose output is standardised by the targets `returns` (N,)."""
  scale, offset = target_standardization(returns)
  return ValueModel.create(x_normalizer, hidden, activation, layer_norm,
                           target_scale=scale, target_offset=offset)


def value_loss(model: ValueModel, params: Params, x: Array, returns: Array) -> Array:
  """1/2 mean_b (V_bar(x_b) - G_bar_b)^2, x (B, dim_x), returns (B,), standardised."""
  return 0.5 * jnp.mean(model.standardized_error(params, x, returns) ** 2)


def monte_carlo_returns(data: Union[Any, Mapping[str, Any]], discount: float,
                        truncated_tail: str = "mean_reward") -> np.ndarray:
  """Discounted returns-to-go G (N,) of every row of an offline data set.

  Args:
    data: an `sgp_jax.data.OfflineDataset` or a mapping with its fields "rewards",
      "terminals" and "timeouts" ((N,) each), rows in episode order.
    discount: gamma in [0, 1).
    truncated_tail: how an episode cut by a timeout (or by the data's end) continues:
      "mean_reward" (its mean reward forever) or "zero" (see the module docstring).

  Returns:
    float32 (N,); computed in float64 on the host.
  """
  if not 0.0 <= discount < 1.0:
    raise ValueError(f"monte_carlo_returns: discount must be in [0, 1), got {discount}.")
  if truncated_tail not in TRUNCATED_TAILS:
    raise ValueError(f"monte_carlo_returns: truncated_tail must be one of "
                     f"{TRUNCATED_TAILS}, got {truncated_tail!r}.")
  fields = {}
  for name in ("rewards", "terminals", "timeouts"):
    value = data.get(name) if isinstance(data, Mapping) else getattr(data, name, None)
    if value is None:
      raise ValueError(f"monte_carlo_returns needs the field {name!r} (an OfflineDataset "
                       "or a mapping of D4RL fields).")
    fields[name] = np.asarray(value).reshape(-1)
  rewards = fields["rewards"].astype(np.float64)
  terminals = fields["terminals"].astype(bool)
  ends = terminals | fields["timeouts"].astype(bool)
  if not (rewards.shape == terminals.shape == ends.shape):
    raise ValueError(f"monte_carlo_returns: rewards {rewards.shape}, terminals "
                     f"{terminals.shape} and timeouts {fields['timeouts'].shape} differ "
                     "in length.")
  n = rewards.shape[0]
  if n == 0:
    raise ValueError("monte_carlo_returns: the data set is empty.")
  ends[-1] = True  # the data's last row ends its episode (cut, unless terminal)
  starts = np.concatenate([[0], np.flatnonzero(ends)[:-1] + 1])
  returns = np.zeros(n, np.float64)
  for start, end in zip(starts, np.flatnonzero(ends)):
    g = 0.0  # G after the episode's last row
    if not terminals[end] and truncated_tail == "mean_reward":
      g = rewards[start:end + 1].mean() / (1.0 - discount)
    for i in range(end, start - 1, -1):
      g = rewards[i] + discount * g
      returns[i] = g
  return returns.astype(np.float32)


__all__ = ["ValueModel", "make_value_model", "value_loss", "monte_carlo_returns",
           "TRUNCATED_TAILS"]
