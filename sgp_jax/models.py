"""Describe learned models as JSON and rebuild them: checkpoints that load in one call.

`describe(model)` turns a DynamicsModel, DynamicsEnsemble, RewardModel, ScoreModel or
DataDistanceModel (network
architecture, normalisers, noise levels) into a JSON-able dict; `build(config)`
inverts it. `save(directory, model, params)` / `load(directory)` write and read a
self-describing orbax checkpoint (see `sgp_jax.checkpoint`).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Tuple

import jax
import jax.numpy as jnp
import numpy as np

from sgp_jax import checkpoint as ckpt
from sgp_jax import networks
from sgp_jax.data_distance import DataDistanceModel
from sgp_jax.dynamics import DynamicsModel
from sgp_jax.ensemble import DynamicsEnsemble
from sgp_jax.normalization import Normalizer
from sgp_jax.reward import RewardModel
from sgp_jax.score import ScoreModel

FORMAT_VERSION = 1


def _norm_to_dict(n: Normalizer) -> dict:
  return {"scale": np.asarray(n.scale).tolist(), "offset": np.asarray(n.offset).tolist()}


def _norm_from_dict(d: dict) -> Normalizer:
  return Normalizer(jnp.asarray(d["scale"], jnp.float32),
                    jnp.asarray(d["offset"], jnp.float32))


NETWORKS = {cls.__name__: cls for cls in (networks.MLP, networks.NoiseConditionedMLP,
                                          networks.UNet)}


def _net_to_dict(net) -> dict:
  """{"type": class name, **the module's dataclass fields} (tuples as lists)."""
  if type(net).__name__ not in NETWORKS:
    raise TypeError(f"cannot describe network of type {type(net).__name__}; "
                    f"known: {sorted(NETWORKS)}.")
  fields = {f.name: getattr(net, f.name) for f in dataclasses.fields(net)
            if f.name not in ("parent", "name")}
  return {"type": type(net).__name__,
          **{k: list(v) if isinstance(v, tuple) else v for k, v in fields.items()}}


def _net_from_dict(d: dict):
  if d["type"] not in NETWORKS:
    raise ckpt.CheckpointError(f"unknown network type {d['type']!r} in model config.")
  kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()
            if k != "type"}
  return NETWORKS[d["type"]](**kwargs)


def describe(model) -> dict:
  """A JSON-able description from which `build` recreates `model`."""
  if isinstance(model, DynamicsEnsemble):  # K members of one described dynamics model
    return {"format_version": FORMAT_VERSION, "model": "dynamics_ensemble",
            "num_members": model.num_members, "member": describe(model.model)}
  base = {"format_version": FORMAT_VERSION, "net": _net_to_dict(model.net)}
  if isinstance(model, DynamicsModel):
    return {**base, "model": "dynamics",
            "x_normalizer": _norm_to_dict(model.x_normalizer),
            "u_normalizer": _norm_to_dict(model.u_normalizer)}
  if isinstance(model, RewardModel):
    return {**base, "model": "reward",
            "x_normalizer": _norm_to_dict(model.x_normalizer),
            "u_normalizer": _norm_to_dict(model.u_normalizer),
            "reward_scale": float(model.reward_scale),
            "reward_offset": float(model.reward_offset)}
  if isinstance(model, ScoreModel):
    return {**base, "model": "score", "kind": model.kind, "dim_x": model.dim_x,
            "dim_u": model.dim_u, "normalizer": _norm_to_dict(model.normalizer),
            "sigmas": np.asarray(model.sigmas).tolist()}
  if isinstance(model, DataDistanceModel):
    return {**base, "model": "data_distance", "normalizer": _norm_to_dict(model.normalizer),
            "target_scale": float(model.target_scale),
            "target_offset": float(model.target_offset)}
  raise TypeError(f"cannot describe model of type {type(model).__name__}.")


def build(config: dict):
  """Rebuilds a model from `describe`'s output."""
  try:
    kind = config["model"]
    if kind == "dynamics_ensemble":
      member = build(config["member"])
      if not isinstance(member, DynamicsModel):
        raise ckpt.CheckpointError("a dynamics_ensemble's member must be a dynamics model.")
      return DynamicsEnsemble(model=member, num_members=int(config["num_members"]))
    net = _net_from_dict(config["net"])
    if kind == "dynamics":
      return DynamicsModel(net=net, x_normalizer=_norm_from_dict(config["x_normalizer"]),
                           u_normalizer=_norm_from_dict(config["u_normalizer"]))
    if kind == "reward":
      return RewardModel(net=net, x_normalizer=_norm_from_dict(config["x_normalizer"]),
                         u_normalizer=_norm_from_dict(config["u_normalizer"]),
                         reward_scale=jnp.asarray(config["reward_scale"], jnp.float32),
                         reward_offset=jnp.asarray(config["reward_offset"], jnp.float32))
    if kind == "score":
      return ScoreModel(net=net, normalizer=_norm_from_dict(config["normalizer"]),
                        sigmas=jnp.asarray(config["sigmas"], jnp.float32),
                        kind=config["kind"], dim_x=config["dim_x"], dim_u=config["dim_u"])
    if kind == "data_distance":
      return DataDistanceModel(
          net=net, normalizer=_norm_from_dict(config["normalizer"]),
          target_scale=jnp.asarray(config["target_scale"], jnp.float32),
          target_offset=jnp.asarray(config["target_offset"], jnp.float32))
  except KeyError as e:
    raise ckpt.CheckpointError(f"model config is missing the field {e}.") from e
  raise ckpt.CheckpointError(f"unknown model kind {kind!r} in model config.")


def save(directory: str, model, params, extra: dict | None = None) -> str:
  """Saves params and the model's description (plus `extra`) to `directory`."""
  return ckpt.save_model(directory, params, {**describe(model), "extra": extra or {}})


def load(directory: str) -> Tuple[Any, Any]:
  """Loads (model, params) written by `save`."""
  config = ckpt.load_model_config(directory)
  model = build(config)
  target = jax.eval_shape(model.init, jax.random.PRNGKey(0))  # shapes only: no eager init
  return model, ckpt.load_params(directory, target)
