"""Behaviour cloning: an MLP policy regressing the data's actions (the floor baseline).

pi(x) = tanh(net(x_bar)) * u_scale + u_offset maps into the data's action box
(u_normalizer from the data, so [-1, 1] in normalised units is the box); the loss
is 1/2 mean_b || pi(x) - u ||^2 in normalised action units. Training reuses
`sgp_jax.training.train`; `policy_apply` has the `sgp_jax.envs` policy signature
(params, obs, key) -> action, so `closed_loop.make_policy_evaluator` evaluates it.
Saved and loaded like every model (`sgp_jax.models.save` / `load`).
"""
from __future__ import annotations

from typing import Dict, Sequence

import chex
import jax.numpy as jnp
from flax import struct

from sgp_jax import networks, training
from sgp_jax.models.base import StateActionModel
from sgp_jax.normalization import Normalizer
from sgp_jax.types import Array, Params, PRNGKey, Transitions


@struct.dataclass
class BCPolicy(StateActionModel):
  """A deterministic MLP policy with its observation and action normalisers; the
  network's input is x alone, u_normalizer maps its output to actions."""
  model_type = "bc_policy"
  label = "BC policy"

  @property
  def input_dims(self) -> Dict[str, int]:
    return {"x": self.dim_x}

  def normalized(self, params: Params, x: Array) -> Array:
    """Action in normalised units, in (-1, 1): x (..., dim_x) -> (..., dim_u)."""
    self.check_input(x)
    return jnp.tanh(self.net.apply(params, self.x_normalizer.normalize(x)))

  def __call__(self, params: Params, x: Array) -> Array:
    """Raw action (..., dim_u) for raw x (..., dim_x)."""
    return self.u_normalizer.denormalize(self.normalized(params, x))

  def policy_apply(self, params: Params, obs: Array, key: PRNGKey) -> Array:
    """The `sgp_jax.envs` policy signature (the key is unused: deterministic)."""
    del key
    return self(params, obs)


def make_bc_policy(x_normalizer: Normalizer, u_normalizer: Normalizer,
                   hidden: Sequence[int], activation: str = "elu",
                   layer_norm: bool = False) -> BCPolicy:
  """A BC policy; use `Normalizer.from_box(-1, 1)`-like u normalisers for box actions."""
  return BCPolicy(net=networks.MLP(tuple(hidden), u_normalizer.dim, activation, layer_norm),
                  x_normalizer=x_normalizer, u_normalizer=u_normalizer)


def bc_loss(policy: BCPolicy, params: Params, x: Array, u: Array) -> Array:
  """1/2 mean_b || pi_bar(x) - u_bar ||^2, x (B, dim_x), u (B, dim_u)."""
  chex.assert_rank([x, u], 2)
  target = jnp.clip(policy.u_normalizer.normalize(u), -1.0 + 1e-4, 1.0 - 1e-4)
  return 0.5 * jnp.mean(jnp.sum((policy.normalized(params, x) - target) ** 2, -1))


def train_bc(policy: BCPolicy, data: Transitions, config: training.TrainConfig,
             key: PRNGKey, **train_kwargs) -> training.TrainResult:
  """Fits the policy to (data.x, data.u) with `training.train` (resumable via workdir)."""
  if data.dim_x != policy.dim_x or data.dim_u != policy.dim_u:
    raise ValueError(f"data has dim_x={data.dim_x}, dim_u={data.dim_u} but the policy "
                     f"expects {policy.dim_x}, {policy.dim_u}.")
  return training.train(lambda p, batch, k: bc_loss(policy, p, *batch), policy.init(key),
                        (data.x, data.u), config, **train_kwargs)


__all__ = ["BCPolicy", "make_bc_policy", "bc_loss", "train_bc"]
