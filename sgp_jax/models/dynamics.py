"""Learned dynamics x' = f_hat(x, u): a residual MLP on normalised inputs.

In normalised coordinates the network predicts the increment,
x_bar' = x_bar + net(x_bar, u_bar), so x' = x + k_x * net(x_bar, u_bar).
"""
from __future__ import annotations

from typing import Sequence

import chex
import jax
import jax.numpy as jnp
from flax import struct

from sgp_jax import networks
from sgp_jax.models.base import StateActionModel
from sgp_jax.normalization import Normalizer
from sgp_jax.types import Array, Params


@struct.dataclass
class DynamicsModel(StateActionModel):
  """A residual dynamics network with its x and u normalisers."""
  model_type = "dynamics"
  label = "dynamics model"

  def predict_normalized(self, params: Params, x_bar: Array, u_bar: Array) -> Array:
    return x_bar + self.net.apply(params, jnp.concatenate([x_bar, u_bar], -1))

  def __call__(self, params: Params, x: Array, u: Array) -> Array:
    """x' for raw x (..., dim_x) and u (..., dim_u)."""
    self.check_input(x, u)
    x_bar_next = self.predict_normalized(
        params, self.x_normalizer.normalize(x), self.u_normalizer.normalize(u))
    return self.x_normalizer.denormalize(x_bar_next)

  def rollout(self, params: Params, x0: Array, us: Array) -> Array:
    """States x_0..x_T, shape (T+1, dim_x), from x0 (dim_x,) and us (T, dim_u)."""
    def step(x, u):
      x_next = self(params, x, u)
      return x_next, x_next
    _, xs = jax.lax.scan(step, x0, us)
    return jnp.concatenate([x0[None], xs], axis=0)


def make_dynamics_model(x_normalizer: Normalizer, u_normalizer: Normalizer,
                        hidden: Sequence[int], activation: str = "elu",
                        layer_norm: bool = False) -> DynamicsModel:
  net = networks.MLP(tuple(hidden), x_normalizer.dim, activation, layer_norm)
  return DynamicsModel(net=net, x_normalizer=x_normalizer, u_normalizer=u_normalizer)


def one_step_loss(model: DynamicsModel, params: Params, x: Array, u: Array,
                  x_next: Array) -> Array:
  """1/2 mean_b || x_bar'_pred - x_bar' ||^2 in normalised units (sum over dims)."""
  chex.assert_rank([x, u, x_next], 2)
  model.check_input(x, u)
  norm = model.x_normalizer
  pred = model.predict_normalized(params, norm.normalize(x),
                                  model.u_normalizer.normalize(u))
  return 0.5 * jnp.mean(jnp.sum((pred - norm.normalize(x_next)) ** 2, -1))


def multi_step_loss(model: DynamicsModel, params: Params, xs: Array, us: Array,
                    discount: float = 0.9) -> Array:
  """Multi-step loss of SPEC B.8 on windows of logged trajectories.

  Rolls the model from xs[:, 0] through us and returns
  mean_b sum_{h=0}^{H} discount^h || x_hat_h - x_h ||^2 (normalised units).

  Args:
    xs: (B, H+1, dim_x) logged states; us: (B, H, dim_u) logged actions.
  """
  chex.assert_rank([xs, us], 3)
  chex.assert_equal(xs.shape[1], us.shape[1] + 1)
  model.check_input(xs, us)
  norm = model.x_normalizer
  xs_bar = norm.normalize(xs)
  us_bar = model.u_normalizer.normalize(us)

  def step(x_bar, u_bar):
    nxt = model.predict_normalized(params, x_bar, u_bar)
    return nxt, nxt
  _, preds = jax.lax.scan(step, xs_bar[:, 0], jnp.swapaxes(us_bar, 0, 1))
  preds = jnp.concatenate([xs_bar[None, :, 0], preds], 0)  # (H+1, B, dim_x)
  err = jnp.sum((preds - jnp.swapaxes(xs_bar, 0, 1)) ** 2, -1)  # (H+1, B)
  weights = discount ** jnp.arange(xs.shape[1])
  return jnp.mean(jnp.sum(weights[:, None] * err, 0))


__all__ = ["DynamicsModel", "make_dynamics_model", "one_step_loss", "multi_step_loss"]
