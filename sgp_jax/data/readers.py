"""Readers for offline data a user already has: D4RL HDF5 files and Minari datasets.

Both return an `OfflineDataset`. Nothing beyond h5py is needed (no d4rl, gym or
minari install).

* D4RL (`read_d4rl_hdf5`): top-level datasets `observations, actions, rewards,
  terminals, timeouts`, optional `next_observations`, `infos/*`, `metadata/*`.
  This is also the layout `dataset.save_hdf5` writes, so it reads our files.
* Minari (`read_minari`): a directory holding `data/main_data.hdf5`, with one
  group `episode_{id}` per episode (`observations` has T+1 rows; `actions`,
  `rewards`, `terminations`, `truncations` have T rows), and
  `data/metadata.json`.
"""
from __future__ import annotations

import json
import os
from typing import Any, Dict, Mapping

import numpy as np

from sgp_jax.data.dataset import (FIELDS, JSON_ATTRS_KEY, OfflineDataset,
                                  check_lengths, dataset_from_arrays, load_npz)

_D4RL_REQUIRED = ("observations", "actions", "rewards", "terminals")


def qlearning_successors(arrays: Mapping[str, np.ndarray],
                         drop_terminal_steps: bool = True,
                         name: str = "D4RL arrays") -> Dict[str, np.ndarray]:
  """Adds `next_observations` to D4RL arrays that lack them.

  Like `d4rl.qlearning_dataset`: row i gets `observations[i + 1]` as successor;
  rows with `timeouts[i]` and the last row are dropped because their successor
  is not in the file. D4RL keeps terminal rows with `observations[i + 1]`, which
  is the next episode's first observation, not a successor; with
  `drop_terminal_steps=True` (default) we drop them as well so every kept row has
  its true successor.

  Args:
    arrays: D4RL field -> array, each with leading axis N; `timeouts` optional.
    drop_terminal_steps: also drop rows with `terminals[i]`.
    name: what the arrays are, for error messages (e.g. the file).

  Returns:
    The kept rows of all six fields, leading axis M <= N - 1.

  Raises:
    ValueError: the fields have different lengths (naming each length).
  """
  n = check_lengths({f: arrays[f] for f in FIELDS if f in arrays}, name)
  timeouts = np.asarray(arrays.get("timeouts", np.zeros(n, bool)), bool)
  terminals = np.asarray(arrays["terminals"], bool)
  keep = ~timeouts
  if drop_terminal_steps:
    keep &= ~terminals
  keep[-1] = False
  out = {f: np.asarray(arrays[f])[keep] for f in ("observations", "actions", "rewards")}
  out["next_observations"] = np.asarray(arrays["observations"])[1:][keep[:-1]]
  out["terminals"] = terminals[keep]
  # The row before a dropped episode end is now the last row of its episode;
  # mark it as a timeout so that episodes still split correctly.
  dropped_end = (timeouts | terminals) if drop_terminal_steps else timeouts
  ends_next = np.zeros(n, bool)
  ends_next[:-1] = dropped_end[1:] & keep[:-1]
  out["timeouts"] = (ends_next & ~terminals)[keep]
  return out


def read_d4rl_hdf5(path: str, drop_terminal_steps: bool = True) -> OfflineDataset:
  """Reads a D4RL-layout HDF5 file (a real D4RL file, or one from `save_hdf5`).

  When `next_observations` is missing they are built by `qlearning_successors`.
  Metadata: the file's root attributes, scalar entries of the `metadata/` group
  under "d4rl_metadata", the names under `infos/`, and `source`.

  Raises:
    FileNotFoundError: no file at `path`.
    ValueError: not an HDF5 file, a required field is missing, or the arrays
      are invalid.
  """
  import h5py
  if not os.path.isfile(path):
    raise FileNotFoundError(f"No HDF5 dataset file at '{path}'.")
  try:
    with h5py.File(path, "r") as f:
      arrays = {k: f[k][()] for k in f.keys() if isinstance(f[k], h5py.Dataset)}
      metadata = _attrs_to_metadata(f.attrs)
      if "metadata" in f:
        metadata["d4rl_metadata"] = _scalar_entries(f["metadata"])
      if "infos" in f:
        metadata["d4rl_infos"] = sorted(f["infos"].keys())
  except OSError as e:
    raise ValueError(f"'{path}' is not a readable HDF5 file (corrupt or "
                     f"truncated?): {e}") from e
  missing = [k for k in _D4RL_REQUIRED if k not in arrays]
  if missing:
    raise ValueError(f"D4RL file '{path}' is missing dataset(s) {missing}; found "
                     f"{sorted(arrays)}.")
  name = f"D4RL file '{path}'"
  check_lengths({f: arrays[f] for f in FIELDS if f in arrays}, name)
  if "timeouts" not in arrays:
    metadata["timeouts_missing"] = True
    arrays["timeouts"] = np.zeros(len(arrays["observations"]), bool)
  if "next_observations" not in arrays:
    arrays = qlearning_successors(arrays, drop_terminal_steps, name)
    metadata["next_observations_source"] = (
        "observations[i+1] (qlearning-style; timeout"
        + (" and terminal" if drop_terminal_steps else "") + " rows dropped)")
  metadata.setdefault("source", "d4rl_hdf5")
  return dataset_from_arrays(arrays, metadata, name=name)


def read_minari(root: str) -> OfflineDataset:
  """Reads a Minari dataset directory (`data/main_data.hdf5`, `data/metadata.json`).

  Each episode with T steps gives T rows: observations[:-1] -> x,
  observations[1:] -> x'; terminations -> terminals, truncations -> timeouts.
  An episode whose last step has neither flag (cut by the collector) gets
  `timeouts = True` there, so episodes still split. Episodes are read in
  increasing id. Only flat (Box) observation and action spaces are supported.
  `ref_min_score`/`ref_max_score` are copied from metadata.json when present.

  Raises:
    FileNotFoundError: `root` or its `data/main_data.hdf5` does not exist.
    ValueError: unreadable file, missing episode keys, or dict observations.
  """
  import h5py
  data_file = os.path.join(root, "data", "main_data.hdf5")
  if not os.path.isfile(data_file):
    raise FileNotFoundError(f"No Minari dataset at '{root}': expected the file "
                            f"'{data_file}'.")
  meta_file = os.path.join(root, "data", "metadata.json")
  minari_meta = {}
  if os.path.isfile(meta_file):
    with open(meta_file) as fh:
      minari_meta = json.load(fh)
  parts = []
  try:
    with h5py.File(data_file, "r") as f:
      names = sorted((k for k in f.keys() if k.startswith("episode_")),
                     key=lambda k: int(k.split("_")[1]))
      if not names:
        raise ValueError(f"'{data_file}' holds no 'episode_<id>' groups.")
      for name in names:
        parts.append(_minari_episode(f[name], f"{data_file}:{name}"))
  except OSError as e:
    raise ValueError(f"'{data_file}' is not a readable HDF5 file: {e}") from e
  arrays = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
  metadata = {"source": "minari", "minari_metadata": minari_meta,
              "num_episodes": len(parts)}
  for key in ("ref_min_score", "ref_max_score"):
    if minari_meta.get(key) is not None:
      metadata[key] = float(minari_meta[key])
  if "dataset_id" in minari_meta:
    metadata["env"] = minari_meta["dataset_id"]
  return dataset_from_arrays(arrays, metadata, name=f"Minari dataset '{root}'")


def load_dataset(path: str) -> OfflineDataset:
  """Reads any supported data set: `.npz`, D4RL-layout `.hdf5`/`.h5`, or a
  Minari directory. Raises FileNotFoundError if nothing is at `path`."""
  if os.path.isdir(path):
    return read_minari(path)
  if not os.path.exists(path):
    raise FileNotFoundError(f"No dataset at '{path}'.")
  if path.endswith(".npz"):
    return load_npz(path)
  if path.endswith((".hdf5", ".h5")):
    return read_d4rl_hdf5(path)
  raise ValueError(f"Unknown dataset format for '{path}': expected .npz, .hdf5, "
                   ".h5 or a Minari directory.")


def _minari_episode(group, name: str) -> Dict[str, np.ndarray]:
  import h5py
  keys = ("observations", "actions", "rewards", "terminations", "truncations")
  missing = [k for k in keys if k not in group]
  if missing:
    raise ValueError(f"Minari episode '{name}' is missing {missing}.")
  if not isinstance(group["observations"], h5py.Dataset):
    raise ValueError(f"Minari episode '{name}' has dict observations; only flat "
                     "Box observation spaces are supported.")
  obs = group["observations"][()]
  t = len(group["actions"])
  if len(obs) != t + 1:
    raise ValueError(f"Minari episode '{name}': observations must have T+1 = "
                     f"{t + 1} rows, got {len(obs)}.")
  terminals = np.asarray(group["terminations"][()], bool)
  timeouts = np.asarray(group["truncations"][()], bool)
  if t and not (terminals[-1] or timeouts[-1]):
    timeouts = timeouts.copy()
    timeouts[-1] = True
  return {"observations": obs[:-1], "next_observations": obs[1:],
          "actions": group["actions"][()], "rewards": group["rewards"][()],
          "terminals": terminals, "timeouts": timeouts}


def _decode(v: Any) -> Any:
  if isinstance(v, bytes):
    return v.decode()
  if isinstance(v, np.generic):
    return v.item()
  if isinstance(v, np.ndarray):
    return v.tolist()
  return v


def _attrs_to_metadata(attrs) -> Dict[str, Any]:
  json_keys = json.loads(attrs[JSON_ATTRS_KEY]) if JSON_ATTRS_KEY in attrs else []
  out = {}
  for k, v in attrs.items():
    if k == JSON_ATTRS_KEY:
      continue
    v = _decode(v)
    out[k] = json.loads(v) if k in json_keys else v
  return out


def _scalar_entries(group) -> Dict[str, Any]:
  """Scalar datasets (and attributes) of an HDF5 group, keyed by relative path."""
  import h5py
  out = dict(_attrs_to_metadata(group.attrs))

  def visit(name, obj):
    if isinstance(obj, h5py.Dataset) and obj.shape == ():
      out[name] = _decode(obj[()])
  group.visititems(visit)
  return out
