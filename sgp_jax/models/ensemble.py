"""Ensembles of K dynamics models: stacked parameters, vmapped apply, one training loop.

The members share one architecture and one pair of normalisers (a `DynamicsModel`)
and differ only by their independently initialised parameters, stacked on a
leading axis K. Training sums the members' one-step losses, so a single call of
`sgp_jax.training.train` (one scanned loop) trains all K at once: the parameters
are disjoint and Adam is per-parameter, so every member follows its own gradient.
(All members see the same minibatches; their diversity comes from the
initialisation, as in the reference code, SPEC A.9.2. With `keep_best`, the best
epoch is chosen by the summed validation loss.)

Used by the ensemble baselines in `sgp_jax.planning.objectives`: the variance of
the predicted trajectory cost (the paper's) and a MOPO-style state-prediction
variance.
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence

import jax
import jax.numpy as jnp
from flax import struct

from sgp_jax import networks, training
from sgp_jax.models.base import NormalizedModel
from sgp_jax.models.dynamics import DynamicsModel, make_dynamics_model, one_step_loss
from sgp_jax.normalization import Normalizer
from sgp_jax.types import Array, Params, PRNGKey, Transitions


@struct.dataclass
class DynamicsEnsemble(NormalizedModel):
  """K dynamics models with stacked parameters (leading axis K on every leaf).

  Attributes:
    model: the member model (network and normalisers), stored as "member" in configs.
    num_members: K (static).
  """
  model: DynamicsModel
  num_members: int = struct.field(pytree_node=False, default=5)
  model_type = "dynamics_ensemble"
  label = "dynamics ensemble"
  config_keys = {"model": "member"}

  @property
  def dim_x(self) -> int:
    return self.model.dim_x

  @property
  def dim_u(self) -> int:
    return self.model.dim_u

  @property
  def input_dims(self) -> Dict[str, int]:
    return self.model.input_dims

  def init(self, key: PRNGKey) -> Params:
    """Stacked parameters of K independently initialised members."""
    return networks.init_ensemble(self.model.init, key, self.num_members)

  def member(self, params: Params, k: int) -> Params:
    """The parameters of member k."""
    return jax.tree_util.tree_map(lambda a: a[k], params)

  def predict_all(self, params: Params, x: Array, u: Array) -> Array:
    """x' under every member: x (..., dim_x), u (..., dim_u) -> (K, ..., dim_x)."""
    return jax.vmap(lambda p: self.model(p, x, u))(params)

  def mean(self, params: Params, x: Array, u: Array) -> Array:
    """The ensemble-mean prediction, shape x.shape."""
    return jnp.mean(self.predict_all(params, x, u), 0)

  def prediction_variance(self, params: Params, x: Array, u: Array,
                          metric: Optional[Array] = None) -> Array:
    """sum_j m_j Var_k f_k(x, u)_j, unbiased (divided by K - 1); shape x.shape[:-1].

    The trace of the (metric-weighted) covariance of the predictions (SPEC A.9.2).
    """
    var = jnp.var(self.predict_all(params, x, u), axis=0, ddof=1)
    if metric is not None:
      var = var * jnp.asarray(metric)
    return jnp.sum(var, -1)

  def rollout_all(self, params: Params, x0: Array, us: Array) -> Array:
    """Each member's rollout of us (T, dim_u) from x0 (dim_x,): (K, T+1, dim_x)."""
    return jax.vmap(lambda p: self.model.rollout(p, x0, us))(params)


def make_dynamics_ensemble(x_normalizer: Normalizer, u_normalizer: Normalizer,
                           hidden: Sequence[int], num_members: int,
                           activation: str = "elu",
                           layer_norm: bool = False) -> DynamicsEnsemble:
  """K residual MLP dynamics models of one architecture (e.g. cart-pole K = 6)."""
  return ensemble_of(make_dynamics_model(x_normalizer, u_normalizer, hidden, activation,
                                         layer_norm), num_members)


def ensemble_of(model: DynamicsModel, num_members: int) -> DynamicsEnsemble:
  """K independently initialised copies of `model` (any network: MLP, U-Net)."""
  if num_members < 1:
    raise ValueError(f"num_members must be >= 1, got {num_members}.")
  return DynamicsEnsemble(model=model, num_members=int(num_members))


def ensemble_loss(ensemble: DynamicsEnsemble, params: Params, x: Array, u: Array,
                  x_next: Array) -> Array:
  """sum_k one_step_loss(member k): each member's gradient is its own loss's."""
  losses = jax.vmap(lambda p: one_step_loss(ensemble.model, p, x, u, x_next))(params)
  return jnp.sum(losses)


def train_ensemble(ensemble: DynamicsEnsemble, data: Transitions,
                   config: training.TrainConfig, key: PRNGKey,
                   **train_kwargs) -> training.TrainResult:
  """Trains all members in one `training.train` loop; returns stacked parameters.

  Args:
    data: transitions (x, u, x_next).
    config: the training settings (shared by every member).
    key: initialises the members.
    train_kwargs: passed to `training.train` (workdir, run_config, progress_fn).
  """
  if data.dim_x != ensemble.dim_x or data.dim_u != ensemble.dim_u:
    raise ValueError(f"data has dim_x={data.dim_x}, dim_u={data.dim_u} but the "
                     f"ensemble expects {ensemble.dim_x}, {ensemble.dim_u}.")
  return training.train(
      lambda p, batch, k: ensemble_loss(ensemble, p, *batch), ensemble.init(key),
      (data.x, data.u, data.x_next), config, **train_kwargs)


__all__ = ["DynamicsEnsemble", "make_dynamics_ensemble", "ensemble_of", "ensemble_loss",
           "train_ensemble"]
