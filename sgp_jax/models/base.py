"""The one base of every learned model: a flax network on normalised inputs.

A model (dynamics, reward, BC policy, data distance, ensemble, score) is a frozen
`flax.struct` dataclass holding its network module (static), its normalisers and
other constants (pytree leaves: the model passes through `jit` as an argument) and
its static sizes. `NormalizedModel` gives each of them, once:

  input_dims            the named input blocks, e.g. {"x": 4, "u": 1}; the network's
                        input is their concatenation (of normalised values)
  init(key)             the network's parameters
  check_input(*arrays)  a ValueError naming the model, the trailing sizes it expects
                        and the shapes it got (the check is chex's)
  to_config()           a JSON-able dict: {"model": <type>, "format_version", fields}
  from_config(config)   the model again from that dict alone; called on the base it
                        dispatches on config["model"] (`sgp_jax.models.io.load`)

`StateActionModel` is the base with the two normalisers of (x, u) that dynamics,
reward and BC models share; `ScalarRegressionModel` the base of a scalar regression
on one normalised vector with a standardised target (data distance, value).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, Mapping, Sequence, Tuple

import chex
import jax.numpy as jnp
import numpy as np
from flax import struct

from sgp_jax import networks
from sgp_jax.checkpoint import CheckpointError
from sgp_jax.normalization import Normalizer
from sgp_jax.types import Array, Params, PRNGKey

# Version 1: each field of the model under its name (a nested model as its own
# config); BC policies saved before the common base stored hidden/activation/
# layer_norm instead of "net" and are read as well.
FORMAT_VERSION = 1

# config["model"] -> model class; filled by every subclass that sets `model_type`.
MODEL_TYPES: Dict[str, type] = {}

NETWORKS = {cls.__name__: cls for cls in (networks.MLP, networks.NoiseConditionedMLP,
                                          networks.UNet)}


class NormalizedModel:
  """Base of the learned models; subclasses are `flax.struct` dataclasses.

  Class attributes a subclass sets:
    model_type: its name in configs ("dynamics", "reward", ...); registers it.
    label: how error messages name it.
    config_keys: {field: key} where a field is stored under another key in configs.
  """
  model_type: str = ""
  label: str = "model"
  config_keys: Mapping[str, str] = {}

  def __init_subclass__(cls, **kwargs):
    super().__init_subclass__(**kwargs)
    if cls.__dict__.get("model_type"):
      MODEL_TYPES[cls.model_type] = cls

  # ------------------------------------------------------------------ inputs
  @property
  def input_dims(self) -> Dict[str, int]:
    """The named input blocks and their sizes, in the network's input order."""
    raise NotImplementedError

  @property
  def input_dim(self) -> int:
    return sum(self.input_dims.values())

  def init(self, key: PRNGKey) -> Params:
    """The network's parameters, initialised from `key`."""
    return self.net.init(key, jnp.zeros((1, self.input_dim)))

  def expected_inputs(self) -> str:
    """The inputs as error messages state them, e.g. 'x (..., 4) and u (..., 1)'."""
    return " and ".join(f"{name} (..., {dim})" for name, dim in self.input_dims.items())

  def check_input(self, *arrays: Array) -> None:
    """Raises ValueError unless array i ends in input block i's size."""
    dims = list(self.input_dims.items())
    if len(arrays) != len(dims):
      raise TypeError(f"{self.label} takes {len(dims)} input(s) "
                      f"({', '.join(n for n, _ in dims)}), got {len(arrays)}.")
    try:
      for (name, dim), array in zip(dims, arrays):
        chex.assert_axis_dimension(array, -1, dim, custom_message=f"{self.label}: {name}")
    except AssertionError as error:
      shapes = " and ".join(str(tuple(np.shape(a))) for a in arrays)
      raise ValueError(f"{self.label} expects {self.expected_inputs()}, got "
                       f"{shapes}.") from error

  # ------------------------------------------------------------------ configs
  def to_config(self) -> dict:
    """A JSON-able description from which `from_config` rebuilds this model."""
    config = {"model": self.model_type, "format_version": FORMAT_VERSION}
    for field in dataclasses.fields(self):
      config[self.config_keys.get(field.name, field.name)] = _encode(
          getattr(self, field.name))
    return config

  @classmethod
  def from_config(cls, config: dict) -> "NormalizedModel":
    """The model `config` (from `to_config`) describes; CheckpointError if it cannot be
    read. On `NormalizedModel` itself any registered model type is accepted."""
    config = _upgrade(config)
    model_type = config.get("model")
    target = MODEL_TYPES.get(model_type)
    if target is None:
      raise CheckpointError(f"unknown model type {model_type!r} in the model config; "
                            f"known: {sorted(MODEL_TYPES)}.")
    if not issubclass(target, cls):
      raise CheckpointError(f"the config describes a {target.label}, not a {cls.label}.")
    kwargs = {}
    for field in dataclasses.fields(target):
      key = target.config_keys.get(field.name, field.name)
      if key in config:
        kwargs[field.name] = _decode(field, config[key])
      elif field.default is dataclasses.MISSING:
        raise CheckpointError(f"the {target.label} config is missing the field {key!r}.")
    return target(**kwargs)


@struct.dataclass
class StateActionModel(NormalizedModel):
  """A network with the normalisers of states x and actions u; input (x, u)."""
  net: Any = struct.field(pytree_node=False)
  x_normalizer: Normalizer
  u_normalizer: Normalizer

  @property
  def dim_x(self) -> int:
    return self.x_normalizer.dim

  @property
  def dim_u(self) -> int:
    return self.u_normalizer.dim

  @property
  def input_dims(self) -> Dict[str, int]:
    return {"x": self.dim_x, "u": self.dim_u}


@struct.dataclass
class ScalarRegressionModel(NormalizedModel):
  """y_hat(v) = net(v_bar) * target_scale + target_offset, v_bar = normalizer(v).

  The network regresses the standardised target (y - target_offset) / target_scale
  from one normalised input vector; a subclass sets `input_name` (how inputs and
  errors name v) and may store the fields under other config keys (`config_keys`).
  """
  net: Any = struct.field(pytree_node=False)
  normalizer: Normalizer
  target_scale: Array
  target_offset: Array
  input_name = "z"

  @classmethod
  def create(cls, normalizer: Normalizer, hidden: Sequence[int], activation: str,
             layer_norm: bool = False, target_scale=1.0,
             target_offset=0.0) -> "ScalarRegressionModel":
    """An MLP (hidden, activation, layer_norm) with one output over `normalizer`."""
    if not float(target_scale) > 0:
      name = cls.config_keys.get("target_scale", "target_scale")
      raise ValueError(f"{name} must be > 0, got {target_scale}.")
    return cls(net=networks.MLP(tuple(hidden), 1, activation, layer_norm),
               normalizer=normalizer,
               target_scale=jnp.asarray(target_scale, jnp.float32),
               target_offset=jnp.asarray(target_offset, jnp.float32))

  @property
  def dim(self) -> int:
    return self.normalizer.dim

  @property
  def input_dims(self) -> Dict[str, int]:
    return {self.input_name: self.dim}

  def normalized(self, params: Params, v: Array) -> Array:
    """The standardised prediction for raw v (..., dim); shape v.shape[:-1]."""
    self.check_input(v)
    return self.net.apply(params, self.normalizer.normalize(v))[..., 0]

  def __call__(self, params: Params, v: Array) -> Array:
    """The prediction for raw v (..., dim); shape v.shape[:-1]."""
    return self.normalized(params, v) * self.target_scale + self.target_offset

  def standardized_error(self, params: Params, v: Array, target: Array) -> Array:
    """net(v_bar) - (target - target_offset) / target_scale for a batch v (B, dim),
    target (B,): the residual a loss reduces, in standardised target units."""
    chex.assert_rank([v, target], [2, 1])
    standard = (target - self.target_offset) / self.target_scale
    return self.normalized(params, v) - standard


def target_standardization(targets) -> Tuple[Array, Array]:
  """(scale, offset) = (max(std, 1e-6), mean) of the regression targets (N,)."""
  targets = jnp.asarray(targets, jnp.float32)
  return jnp.maximum(jnp.std(targets), 1e-6), jnp.mean(targets)


# ------------------------------------------------------------------ encoding
def _encode(value: Any) -> Any:
  if isinstance(value, NormalizedModel):
    return value.to_config()
  if isinstance(value, Normalizer):
    return {"scale": np.asarray(value.scale).tolist(),
            "offset": np.asarray(value.offset).tolist()}
  if type(value).__name__ in NETWORKS:
    fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)
              if f.name not in ("parent", "name")}
    return {"type": type(value).__name__, **{k: _encode(v) for k, v in fields.items()}}
  if isinstance(value, (tuple, list)):
    return [_encode(v) for v in value]
  if hasattr(value, "shape"):  # a jax or numpy array
    return np.asarray(value).tolist()
  if isinstance(value, (bool, int, float, str)) or value is None:
    return value
  raise TypeError(f"cannot describe a model field of type {type(value).__name__} "
                  "in a JSON config.")


def _network(config: dict):
  if not isinstance(config, dict) or config.get("type") not in NETWORKS:
    raise CheckpointError(f"unknown network {config!r} in the model config; known "
                          f"types: {sorted(NETWORKS)}.")
  kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in config.items()
            if k != "type"}
  return NETWORKS[config["type"]](**kwargs)


def _decode(field: dataclasses.Field, value: Any) -> Any:
  if isinstance(value, dict) and "type" in value:
    return _network(value)
  if isinstance(value, dict) and "model" in value:
    return NormalizedModel.from_config(value)
  if not field.metadata.get("pytree_node", True):  # static: sizes, kinds
    return tuple(value) if isinstance(value, list) else value
  if isinstance(value, dict):
    try:
      return Normalizer(jnp.asarray(value["scale"], jnp.float32),
                        jnp.asarray(value["offset"], jnp.float32))
    except KeyError as e:
      raise CheckpointError(f"the normaliser {field.name!r} in the model config is "
                            f"missing {e}.") from e
  return jnp.asarray(value, jnp.float32)


def _upgrade(config: dict) -> dict:
  """Reads the configs of BC policies saved before the common base."""
  if not isinstance(config, dict):
    raise CheckpointError(f"a model config is a dict, got {type(config).__name__}.")
  if config.get("model") == "bc_policy" and "net" not in config:
    try:
      net = {"type": "MLP", "hidden": config["hidden"],
             "out_dim": len(config["u_normalizer"]["scale"]),
             "activation": config["activation"], "layer_norm": config["layer_norm"]}
    except KeyError as e:
      raise CheckpointError(f"the BC policy config is missing the field {e}.") from e
    return {**config, "net": net}
  return config


__all__ = ["NormalizedModel", "StateActionModel", "ScalarRegressionModel",
           "target_standardization", "MODEL_TYPES", "FORMAT_VERSION"]
