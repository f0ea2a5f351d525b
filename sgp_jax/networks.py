"""Networks: MLP, noise-conditioned MLP, and ensembles of stacked parameters."""
from __future__ import annotations

from typing import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from sgp_jax.types import Array, PRNGKey

ACTIVATIONS: dict[str, Callable[[Array], Array]] = {
    "elu": nn.elu,
    "relu": nn.relu,
    "leaky_relu": nn.leaky_relu,
    "tanh": jnp.tanh,
    "gelu": nn.gelu,
    "swish": nn.swish,
}


def get_activation(name: str) -> Callable[[Array], Array]:
  try:
    return ACTIVATIONS[name]
  except KeyError:
    raise ValueError(
        f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}") from None


class MLP(nn.Module):
  """Multi-layer perceptron; LayerNorm (optional) after every hidden layer but the first."""
  hidden: Sequence[int]
  out_dim: int
  activation: str = "elu"
  layer_norm: bool = False

  @nn.compact
  def __call__(self, z: Array) -> Array:
    act = get_activation(self.activation)
    for i, width in enumerate(self.hidden):
      z = nn.Dense(width)(z)
      if self.layer_norm and i > 0:
        z = nn.LayerNorm()(z)
      z = act(z)
    return nn.Dense(self.out_dim)(z)


class NoiseConditionedMLP(nn.Module):
  """MLP conditioned on an integer noise level by a multiplicative embedding.

  Linear -> act, then (len(hidden) - 1) blocks of
  [Linear(h) * Embedding(level) -> LayerNorm -> act], then Linear out (SPEC A.4.2).
  All hidden widths must be equal.
  """
  hidden: Sequence[int]
  out_dim: int
  num_levels: int
  activation: str = "elu"

  @nn.compact
  def __call__(self, z: Array, level: Array) -> Array:
    if len(set(self.hidden)) != 1:
      raise ValueError(f"NoiseConditionedMLP needs equal hidden widths, got {self.hidden}.")
    act = get_activation(self.activation)
    width = self.hidden[0]
    level = jnp.broadcast_to(jnp.asarray(level, jnp.int32), z.shape[:-1])
    z = act(nn.Dense(width)(z))
    for _ in self.hidden[1:]:
      emb = nn.Embed(self.num_levels, width,
                     embedding_init=nn.initializers.ones)(level)
      z = act(nn.LayerNorm()(nn.Dense(width)(z) * emb))
    return nn.Dense(self.out_dim)(z)


def init_ensemble(init_fn: Callable[[PRNGKey], object], key: PRNGKey,
                  num_members: int):
  """Stacked parameters of `num_members` independently initialised networks."""
  return jax.vmap(init_fn)(jax.random.split(key, num_members))
