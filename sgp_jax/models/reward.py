"""Learned reward r_hat(x, u): an MLP on normalised (x, u) regressing r."""
from __future__ import annotations

from typing import Sequence

import chex
import jax.numpy as jnp
from flax import struct

from sgp_jax import networks
from sgp_jax.models.base import StateActionModel, target_standardization
from sgp_jax.normalization import Normalizer
from sgp_jax.types import Array, Params


@struct.dataclass
class RewardModel(StateActionModel):
  """r_hat(x, u) = net(x_bar, u_bar) * reward_scale + reward_offset."""
  reward_scale: Array
  reward_offset: Array
  model_type = "reward"
  label = "reward model"

  def normalized(self, params: Params, x: Array, u: Array) -> Array:
    """The standardised prediction for raw x (..., dim_x), u (..., dim_u); shape (...)."""
    self.check_input(x, u)
    z = jnp.concatenate([self.x_normalizer.normalize(x), self.u_normalizer.normalize(u)], -1)
    return self.net.apply(params, z)[..., 0]

  def __call__(self, params: Params, x: Array, u: Array) -> Array:
    """r_hat for raw x (..., dim_x), u (..., dim_u); shape (...)."""
    return self.normalized(params, x, u) * self.reward_scale + self.reward_offset


def make_reward_model(x_normalizer: Normalizer, u_normalizer: Normalizer,
                      rewards, hidden: Sequence[int], activation: str = "elu",
                      layer_norm: bool = False) -> RewardModel:
  """Builds a reward model whose output is standardised by the data's rewards."""
  scale, offset = target_standardization(rewards)
  return RewardModel(net=networks.MLP(tuple(hidden), 1, activation, layer_norm),
                     x_normalizer=x_normalizer, u_normalizer=u_normalizer,
                     reward_scale=scale, reward_offset=offset)


def reward_loss(model: RewardModel, params: Params, x: Array, u: Array,
                reward: Array) -> Array:
  """1/2 mean squared error in standardised reward units."""
  chex.assert_rank(reward, 1)
  target = (reward - model.reward_offset) / model.reward_scale
  return 0.5 * jnp.mean((model.normalized(params, x, u) - target) ** 2)


__all__ = ["RewardModel", "make_reward_model", "reward_loss"]
