"""Orbax checkpoints that describe themselves.

Two tiers, as in score_sde and brax:
  * a training checkpoint (`TrainCheckpointer`): the whole `TrainState`
    (params, optimiser state, epoch, RNG key, best params) plus a JSON config, so an
    interrupted run resumes exactly;
  * a model checkpoint (`save_model` / `load_model`): the parameters plus a JSON
    description from which `sgp_jax.models.model_from_config` rebuilds the network
    and its normalisers, so inference needs one call.
"""
from __future__ import annotations

import json
import os
from typing import Any, Optional, Tuple

import jax
import numpy as np
import orbax.checkpoint as ocp

CONFIG_FILE = "config.json"


class CheckpointError(ValueError):
  """A checkpoint is missing, corrupt, or does not match what is asked for."""


def _abs(path: str) -> str:
  return os.path.abspath(os.fspath(path))


class TrainCheckpointer:
  """Keeps the latest `max_to_keep` training states of one run under `directory`."""

  def __init__(self, directory: str, max_to_keep: int = 2):
    self.directory = _abs(directory)
    self._manager = ocp.CheckpointManager(
        self.directory,
        options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True,
                                             enable_async_checkpointing=False),
        item_names=("state", "config"))

  def latest_step(self) -> Optional[int]:
    return self._manager.latest_step()

  def save(self, step: int, state: Any, config: dict) -> None:
    self._manager.save(step, args=ocp.args.Composite(
        state=ocp.args.StandardSave(state), config=ocp.args.JsonSave(config)),
        force=True)
    self._manager.wait_until_finished()

  def restore(self, target: Any, step: Optional[int] = None) -> Tuple[Any, dict]:
    """Restores (state, config) into the structure of `target`."""
    step = self.latest_step() if step is None else step
    if step is None:
      raise CheckpointError(f"no training checkpoint in {self.directory}.")
    abstract = jax.tree_util.tree_map(ocp.utils.to_shape_dtype_struct, target)
    try:
      out = self._manager.restore(step, args=ocp.args.Composite(
          state=ocp.args.StandardRestore(abstract), config=ocp.args.JsonRestore()))
    except Exception as e:  # orbax raises many types for unreadable files
      raise CheckpointError(
          f"training checkpoint {self.directory}/{step} is corrupt or does not match "
          f"the model being trained: {type(e).__name__}: {e}") from e
    return out.state, out.config

  def close(self) -> None:
    self._manager.close()


def save_model(directory: str, params: Any, config: dict) -> str:
  """Writes params (orbax) and config.json to `directory`; returns its path."""
  directory = _abs(directory)
  os.makedirs(directory, exist_ok=True)
  with ocp.StandardCheckpointer() as ckptr:
    ckptr.save(os.path.join(directory, "params"), params, force=True)
  with open(os.path.join(directory, CONFIG_FILE), "w") as f:
    json.dump(config, f, indent=2, default=_json_default)
  return directory


def load_model_config(directory: str) -> dict:
  directory = _abs(directory)
  path = os.path.join(directory, CONFIG_FILE)
  if not os.path.isfile(path):
    raise CheckpointError(f"model checkpoint {directory} has no {CONFIG_FILE} "
                          "(missing or not a sgp_jax model checkpoint).")
  try:
    with open(path) as f:
      return json.load(f)
  except json.JSONDecodeError as e:
    raise CheckpointError(f"{path} is corrupt: {e}") from e


def load_params(directory: str, target: Any = None) -> Any:
  """Restores the params saved by `save_model` (into `target`'s structure if given)."""
  directory = _abs(directory)
  path = os.path.join(directory, "params")
  if not os.path.isdir(path):
    raise CheckpointError(f"model checkpoint {directory} has no params/ folder.")
  try:
    with ocp.StandardCheckpointer() as ckptr:
      if target is None:
        return ckptr.restore(path)
      abstract = jax.tree_util.tree_map(ocp.utils.to_shape_dtype_struct, target)
      return ckptr.restore(path, abstract)
  except Exception as e:
    raise CheckpointError(
        f"model params in {path} are corrupt or do not match the model: "
        f"{type(e).__name__}: {e}") from e


def _json_default(obj):
  if isinstance(obj, (np.ndarray, jax.Array)):
    return np.asarray(obj).tolist()
  if isinstance(obj, (np.floating, np.integer)):
    return obj.item()
  raise TypeError(f"not JSON serialisable: {type(obj)}")


def to_json(obj) -> Any:
  """Round-trips through JSON so configs compare equal after a save/load."""
  return json.loads(json.dumps(obj, default=_json_default))
