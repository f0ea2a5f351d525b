"""Orbax checkpoints that describe themselves.

Two tiers, as in score_sde and brax:
  * a training checkpoint (`TrainCheckpointer`): the whole `TrainState`
    (params, optimiser state, epoch, RNG key, best params) plus a JSON config, so an
    interrupted run resumes exactly;
  * a model checkpoint (`save_model`, `load_model_config`, `load_params`): the params + a JSON
    description from which `sgp_jax.models.NormalizedModel.from_config` rebuilds the
    network and its normalisers, so inference needs one call (`sgp_jax.models.load`).

Every checkpoint folder also gets `FILES_MANIFEST`: the size and SHA-256 of each
file orbax wrote. Reads check it first, so a truncated or altered file is reported
as one `CheckpointError` naming the file, before orbax's asynchronous reader
(which on such files floods stderr with "Event loop is closed" tracebacks) is
involved. Folders written without a manifest are read unchecked.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
from typing import Any, Iterator, List, Optional, Tuple

import jax
import numpy as np
import orbax.checkpoint as ocp

CONFIG_FILE = "config.json"
FILES_MANIFEST = "sgp_jax_files.json"
CORRUPT_SUFFIX = ".corrupt"


class CheckpointError(ValueError):
  """A checkpoint is missing, corrupt, or does not match what is asked for."""


def _abs(path: str) -> str:
  return os.path.abspath(os.fspath(path))


def _brief(error: Exception, limit: int = 300) -> str:
  """'Type: message' of an orbax/tensorstore error, cut before the long specs they add."""
  text = str(error).split("[tensorstore_spec=")[0].strip()
  text = " ".join(text.split())
  return f"{type(error).__name__}: " + (text if len(text) <= limit else text[:limit] + "...")


# ------------------------------------------------------------------ file manifests
def _sha256(path: str) -> str:
  digest = hashlib.sha256()
  with open(path, "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
      digest.update(block)
  return digest.hexdigest()


def _files(directory: str) -> Iterator[str]:
  """Paths relative to `directory` of every file under it but the manifest."""
  for root, _, names in os.walk(directory):
    for name in names:
      rel = os.path.relpath(os.path.join(root, name), directory)
      if rel != FILES_MANIFEST:
        yield rel


def write_manifest(directory: str) -> None:
  """Records the size and SHA-256 of every file under `directory` in FILES_MANIFEST."""
  manifest = {rel: [os.path.getsize(os.path.join(directory, rel)),
                    _sha256(os.path.join(directory, rel))]
              for rel in sorted(_files(directory))}
  path = os.path.join(directory, FILES_MANIFEST)
  with open(path + ".tmp", "w") as f:
    json.dump(manifest, f, indent=0)
  os.replace(path + ".tmp", path)


def check_manifest(directory: str, what: str = "checkpoint") -> bool:
  """Checks the files under `directory` against its FILES_MANIFEST.

  Returns False when there is no manifest (nothing to check), True when every
  file matches. Raises CheckpointError naming the first missing, truncated or
  altered file.
  """
  path = os.path.join(directory, FILES_MANIFEST)
  if not os.path.isfile(path):
    return False
  try:
    with open(path) as f:
      manifest = json.load(f)
  except (OSError, json.JSONDecodeError) as e:
    raise CheckpointError(f"{what} {directory} is corrupt: its {FILES_MANIFEST} is "
                          f"unreadable ({e}).") from e
  for rel, (size, sha256) in manifest.items():
    file = os.path.join(directory, rel)
    if not os.path.isfile(file):
      raise CheckpointError(f"{what} {directory} is corrupt: {rel} is missing.")
    actual = os.path.getsize(file)
    if actual != size:
      raise CheckpointError(f"{what} {directory} is corrupt: {rel} has {actual} bytes, "
                            f"{size} were written (truncated?).")
    if _sha256(file) != sha256:
      raise CheckpointError(f"{what} {directory} is corrupt: the content of {rel} "
                            "differs from what was written.")
  return True


@contextlib.contextmanager
def _quiet_async_errors():
  """Drops the "Event loop is closed" errors orbax's reader threads report through
  sys.unraisablehook after a failed read; any other unraisable error is shown."""
  previous = sys.unraisablehook

  def hook(unraisable):
    if not (isinstance(unraisable.exc_value, RuntimeError)
            and "Event loop is closed" in str(unraisable.exc_value)):
      previous(unraisable)
  sys.unraisablehook = hook
  try:
    yield
  finally:
    sys.unraisablehook = previous


def _multiprocess() -> bool:
  return jax.process_count() > 1


def _to_host(tree: Any) -> Any:
  """With several processes (`sgp_jax.distributed`), every process holds the same
  process-local arrays, which orbax refuses: they are saved as numpy arrays, written
  by process 0 into the one directory all processes name (a shared filesystem)."""
  return jax.device_get(tree) if _multiprocess() else tree


def _after_primary(name: str, write) -> None:
  """Runs `write()` in process 0 only, then waits for every process."""
  if jax.process_index() == 0:
    write()
  if _multiprocess():
    from jax.experimental import multihost_utils
    multihost_utils.sync_global_devices(name)


def _abstract(target: Any) -> Any:
  """What orbax restores into: shapes and dtypes of `target` (numpy arrays with
  several processes, see `_to_host`)."""
  if _multiprocess():
    return jax.device_get(target)
  return jax.tree_util.tree_map(ocp.utils.to_shape_dtype_struct, target)


class TrainCheckpointer:
  """Keeps the latest `max_to_keep` training states of one run under `directory`,
  one folder per step (`step_dir`)."""

  def __init__(self, directory: str, max_to_keep: int = 2):
    self.directory = _abs(directory)
    if os.path.exists(self.directory) and not os.path.isdir(self.directory):
      raise CheckpointError(f"{self.directory} is a file, not a checkpoint directory; "
                            "pass a directory path.")
    self._manager = ocp.CheckpointManager(
        self.directory,
        options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True,
                                             enable_async_checkpointing=False),
        item_names=("state", "config"))

  def latest_step(self) -> Optional[int]:
    return self._manager.latest_step()

  def all_steps(self) -> List[int]:
    """The saved steps, oldest first."""
    return sorted(self._manager.all_steps())

  def step_dir(self, step: int) -> str:
    return os.path.join(self.directory, str(step))

  def save(self, step: int, state: Any, config: dict) -> None:
    self._manager.save(step, args=ocp.args.Composite(
        state=ocp.args.StandardSave(_to_host(state)), config=ocp.args.JsonSave(config)),
        force=True)
    self._manager.wait_until_finished()
    _after_primary(f"sgp_jax manifest {self.step_dir(step)}",
                   lambda: write_manifest(self.step_dir(step)))

  def read_config(self, step: int) -> dict:
    """The config saved with `step`, after checking the step's files."""
    check_manifest(self.step_dir(step), "training checkpoint")
    try:
      with _quiet_async_errors():
        return self._manager.restore(step, args=ocp.args.Composite(
            config=ocp.args.JsonRestore())).config
    except Exception as e:  # orbax raises many types for unreadable files
      raise CheckpointError(f"training checkpoint {self.step_dir(step)} is corrupt: its "
                            f"config is unreadable ({_brief(e)}).") from e

  def restore(self, target: Any, step: Optional[int] = None) -> Tuple[Any, dict]:
    """Restores (state, config) into the structure of `target`."""
    step = self.latest_step() if step is None else step
    if step is None:
      raise CheckpointError(f"no training checkpoint in {self.directory}.")
    check_manifest(self.step_dir(step), "training checkpoint")
    try:
      with _quiet_async_errors():
        out = self._manager.restore(step, args=ocp.args.Composite(
            state=ocp.args.StandardRestore(_abstract(target)),
            config=ocp.args.JsonRestore()))
    except Exception as e:  # orbax raises many types for unreadable files
      raise CheckpointError(
          f"training checkpoint {self.step_dir(step)} is corrupt or does not match "
          f"the model being trained: {_brief(e)}") from e
    state = jax.tree.map(jax.numpy.asarray, out.state) if _multiprocess() else out.state
    return state, out.config

  def set_aside(self, step: int) -> str:
    """Renames the folder of `step` to `<step>.corrupt` (replacing an older one),
    so that the step can be written again; returns the new path."""
    target = self.step_dir(step) + CORRUPT_SUFFIX

    def rename():
      if os.path.isdir(target):
        shutil.rmtree(target)
      os.rename(self.step_dir(step), target)

    _after_primary(f"sgp_jax set aside {target}", rename)
    self._manager.reload()
    return target

  def close(self) -> None:
    self._manager.close()


def save_model(directory: str, params: Any, config: dict) -> str:
  """Writes params (orbax) and config.json to `directory`; returns its path."""
  directory = _abs(directory)
  os.makedirs(directory, exist_ok=True)
  with ocp.StandardCheckpointer() as ckptr:
    ckptr.save(os.path.join(directory, "params"), _to_host(params), force=True)

  def write():
    write_manifest(os.path.join(directory, "params"))
    with open(os.path.join(directory, CONFIG_FILE), "w") as f:
      json.dump(config, f, indent=2, default=_json_default)

  _after_primary(f"sgp_jax model {directory}", write)
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
  check_manifest(path, "model checkpoint")
  try:
    with _quiet_async_errors(), ocp.StandardCheckpointer() as ckptr:
      if target is None:
        return ckptr.restore(path)
      params = ckptr.restore(path, _abstract(target))
      return jax.tree.map(jax.numpy.asarray, params) if _multiprocess() else params
  except Exception as e:
    raise CheckpointError(
        f"model params in {path} are corrupt or do not match the model: "
        f"{_brief(e)}") from e


def _json_default(obj):
  if isinstance(obj, (np.ndarray, jax.Array)):
    return np.asarray(obj).tolist()
  if isinstance(obj, (np.floating, np.integer)):
    return obj.item()
  raise TypeError(f"not JSON serialisable: {type(obj)}")


def to_json(obj) -> Any:
  """Round-trips through JSON so configs compare equal after a save/load."""
  return json.loads(json.dumps(obj, default=_json_default))
