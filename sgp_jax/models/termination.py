"""A learned termination model: the probability that reaching x ends the episode.

  make_termination_model(x_normalizer, hidden, ...)   logit(x) = net(x_bar)
  termination_loss(model, params, x_next, terminals, positive_weight)
                                    weighted binary cross-entropy on the data's flags
  balanced_positive_weight(terminals)   sqrt(N_negative / N_positive), >= 1

Fitted offline on (x', terminal) of every transition of a D4RL-style data set
(`terminals[i]`: the env ended the episode on reaching `next_observations[i]`, e.g.
the hopper fell). Terminal rows are rare (at most 1 % of the rows of the project's
brax data sets, none in halfcheetah's), so positives are up-weighted by
`balanced_positive_weight`: the square root of the class ratio, half-way (in log)
between no weighting and full balance.

It joins the planner's objective through `sgp_jax.planning.make_problem(
termination=...)`: the cost of step t is weighted by the model's probability that
the episode is still running, prod_{s<=t} (1 - p(x_s)) (`planning.trajectory_cost`),
so a plan that the learned dynamics walk into a fall loses the rewards after it, as
the true episode would.
Saved and loaded like every model (`sgp_jax.models.save` / `load`).
"""
from __future__ import annotations

from typing import Sequence

import chex
import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from sgp_jax.models.base import ScalarRegressionModel
from sgp_jax.normalization import Normalizer
from sgp_jax.types import Array, Params


@struct.dataclass
class TerminationModel(ScalarRegressionModel):
  """logit p(terminal | x) = net(x_bar) for raw x (..., dim_x); `probability` is its
  sigmoid. Its normaliser is named x_normalizer, also in its config."""
  model_type = "termination"
  label = "termination model"
  input_name = "x"
  config_keys = {"normalizer": "x_normalizer"}

  dim_x = property(lambda self: self.dim)
  x_normalizer = property(lambda self: self.normalizer)

  def logit(self, params: Params, x: Array) -> Array:
    """logit p(terminal | x), shape x.shape[:-1]."""
    return self.normalized(params, x)

  def probability(self, params: Params, x: Array) -> Array:
    """p(terminal | x) in [0, 1], shape x.shape[:-1]."""
    return jax.nn.sigmoid(self.logit(params, x))


def make_termination_model(x_normalizer: Normalizer, hidden: Sequence[int],
                           activation: str = "elu",
                           layer_norm: bool = False) -> TerminationModel:
  """A termination classifier (an MLP with one logit) over `x_normalizer`."""
  return TerminationModel.create(x_normalizer, hidden, activation, layer_norm)


def balanced_positive_weight(terminals) -> float:
  """sqrt(N_negative / N_positive) of the flags (N,), at least 1 (1 without positives)."""
  flags = np.asarray(terminals).astype(bool).reshape(-1)
  positives = int(flags.sum())
  if positives == 0:
    return 1.0
  return float(max(1.0, np.sqrt((flags.size - positives) / positives)))


def termination_loss(model: TerminationModel, params: Params, x_next: Array,
                     terminals: Array, positive_weight: float = 1.0) -> Array:
  """mean_b w_b BCE(logit(x'_b), terminal_b), w_b = positive_weight on terminal rows.

  x_next: (B, dim_x) the states reached; terminals: (B,) 0/1 (bool or float).
  """
  chex.assert_rank(terminals, 1)
  target = jnp.asarray(terminals, jnp.float32)
  logit = model.logit(params, x_next)
  weight = 1.0 + (positive_weight - 1.0) * target
  # -log sigmoid(l) for targets 1, -log(1 - sigmoid(l)) for 0, stably
  return jnp.mean(weight * (jax.nn.softplus(logit) - target * logit))


__all__ = ["TerminationModel", "make_termination_model", "termination_loss",
           "balanced_positive_weight"]
