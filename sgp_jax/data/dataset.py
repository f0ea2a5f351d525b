"""D4RL-style offline data sets: the container, validation, and .npz/.hdf5 writers.

An `OfflineDataset` holds N one-step transitions in the field names D4RL uses,
stored in episode order, plus a `metadata` dict saying where the data came from
(env, level, backend, seeds, behaviour-policy hash, reference returns).

Episodes end at rows where `terminals | timeouts` is true:
  * `terminals[i]`: the environment terminated (e.g. the hopper fell);
  * `timeouts[i]`: the episode was cut by the time limit.
`next_observations[i]` is always the true successor of `observations[i]`, also at
episode ends (our generator never auto-resets; see `sgp_jax.envs`).

Files:
  * `.npz`: one array per field plus `__metadata__`, a JSON string.
  * `.hdf5`: the D4RL layout (top-level datasets with these names); metadata as
    root attributes. Read it back with `sgp_jax.data.readers.read_d4rl_hdf5`,
    which also reads real D4RL files.
"""
from __future__ import annotations

import json
import os
import zipfile
from typing import Any, Dict, Mapping, Optional, Sequence

import flax.struct
import numpy as np

from sgp_jax.types import Array, Transitions

FIELDS = ("observations", "actions", "rewards", "next_observations", "terminals",
          "timeouts")
_NDIM = {"observations": 2, "actions": 2, "rewards": 1, "next_observations": 2,
         "terminals": 1, "timeouts": 1}
_BOOL_FIELDS = ("terminals", "timeouts")
_METADATA_KEY = "__metadata__"
# Root attribute listing the metadata keys whose values were JSON-encoded
# (anything that is not a str/int/float/bool) in an HDF5 file.
JSON_ATTRS_KEY = "__json_keys__"
LEVELS = ("random", "medium", "medium-replay", "expert", "medium-expert")


@flax.struct.dataclass
class OfflineDataset:
  """N transitions in D4RL field names, leading axis N on every array.

  Attributes:
    observations: (N, dim_obs) float.
    actions: (N, dim_action) float.
    rewards: (N,) float.
    next_observations: (N, dim_obs) float, the true successor of each row.
    terminals: (N,) bool, environment termination at this step.
    timeouts: (N,) bool, time-limit truncation at this step.
    metadata: JSON-serialisable dict (static, not a pytree leaf): env, level,
      backend, brax_version, seed, policy_checkpoint_sha256, episode_length,
      ref_min_score, ref_max_score, ... Keys are free-form; readers fill what
      their file says.
  """
  observations: Array
  actions: Array
  rewards: Array
  next_observations: Array
  terminals: Array
  timeouts: Array
  metadata: Dict[str, Any] = flax.struct.field(pytree_node=False,
                                               default_factory=dict)

  @property
  def num(self) -> int:
    return int(np.shape(self.observations)[0])

  @property
  def dim_obs(self) -> int:
    return int(np.shape(self.observations)[-1])

  @property
  def dim_action(self) -> int:
    return int(np.shape(self.actions)[-1])

  def arrays(self) -> Dict[str, np.ndarray]:
    """The six fields as host numpy arrays, keyed by D4RL name."""
    return {f: np.asarray(getattr(self, f)) for f in FIELDS}


def dataset_from_arrays(arrays: Mapping[str, Any],
                        metadata: Optional[Mapping[str, Any]] = None,
                        name: str = "dataset") -> OfflineDataset:
  """Builds and validates an `OfflineDataset` from a field-name -> array mapping.

  Float fields are cast to float32 and `terminals`/`timeouts` to bool only when
  the cast is lossless (0/1 values); everything else is left for
  `validate_dataset` to reject. Extra keys are ignored.

  Raises:
    ValueError: a field is missing or the arrays are invalid (see
      `validate_dataset`).
  """
  missing = [f for f in FIELDS if f not in arrays or arrays[f] is None]
  if missing:
    raise ValueError(f"{name} is missing field(s) {missing}; an offline data set "
                     f"needs all of {list(FIELDS)}.")
  out = {}
  for f in FIELDS:
    a = np.asarray(arrays[f])
    if f in _BOOL_FIELDS and a.dtype != bool and a.size and np.isin(a, (0, 1)).all():
      a = a.astype(bool)
    elif f not in _BOOL_FIELDS and np.issubdtype(a.dtype, np.floating):
      a = a.astype(np.float32)
    out[f] = a
  return validate_dataset(OfflineDataset(**out, metadata=dict(metadata or {})),
                          name=name)


def validate_dataset(ds: OfflineDataset, name: str = "dataset") -> OfflineDataset:
  """Checks fields, ndim, dtypes, lengths and finiteness; returns `ds` unchanged.

  Runs on concrete arrays, never inside jit.

  Raises:
    ValueError: naming the field and the problem (missing field, wrong ndim,
      wrong dtype, mismatched lengths or dims, NaN/inf, empty data set).
  """
  arrays = {}
  for f in FIELDS:
    value = getattr(ds, f, None)
    if value is None:
      raise ValueError(f"{name} is missing field '{f}'.")
    a = np.asarray(value)
    if a.ndim != _NDIM[f]:
      shape = "(N,)" if _NDIM[f] == 1 else "(N, dim)"
      raise ValueError(f"{name}.{f} must have {_NDIM[f]} dimension(s) {shape}, "
                       f"got shape {a.shape}.")
    if f in _BOOL_FIELDS:
      if a.dtype != bool:
        raise ValueError(f"{name}.{f} must have dtype bool, got {a.dtype}.")
    elif not np.issubdtype(a.dtype, np.floating):
      raise ValueError(f"{name}.{f} must be floating point, got {a.dtype}.")
    else:
      bad = ~np.isfinite(a)
      if bad.any():
        rows = np.unique(np.nonzero(bad)[0])
        raise ValueError(f"{name}.{f} has {int(bad.sum())} non-finite value(s) "
                         f"(NaN or inf), first at row(s) {rows[:5].tolist()}.")
    arrays[f] = a
  if check_lengths(arrays, name) == 0:
    raise ValueError(f"{name} is empty (0 transitions).")
  if arrays["observations"].shape[1] != arrays["next_observations"].shape[1]:
    raise ValueError(
        f"{name}.observations has dim {arrays['observations'].shape[1]} but "
        f"next_observations has dim {arrays['next_observations'].shape[1]}.")
  try:
    json.dumps(ds.metadata)
  except TypeError as e:
    raise ValueError(f"{name}.metadata must be JSON-serialisable: {e}") from e
  return ds


def check_lengths(arrays: Mapping[str, Any], name: str = "dataset") -> int:
  """The common leading length N of `arrays` (field -> array with ndim >= 1).

  Raises:
    ValueError: the lengths differ; the message names `name` and every field's
      length.
  """
  lengths = {f: int(np.shape(a)[0]) for f, a in arrays.items()}
  if len(set(lengths.values())) != 1:
    raise ValueError(f"{name} fields have mismatched lengths {lengths}; every field "
                     "needs one row per step.")
  return next(iter(lengths.values()))


def to_transitions(ds: OfflineDataset) -> Transitions:
  """The data set as `sgp_jax.types.Transitions` (x, u, x_next, reward) on device.

  Shapes: x, x_next (N, dim_obs); u (N, dim_action); reward (N,).
  """
  import jax.numpy as jnp  # local: keep file I/O importable without touching devices
  return Transitions(x=jnp.asarray(ds.observations), u=jnp.asarray(ds.actions),
                     x_next=jnp.asarray(ds.next_observations),
                     reward=jnp.asarray(ds.rewards))


def episode_ends(ds: OfflineDataset) -> np.ndarray:
  """Row indices where an episode ends (`terminals | timeouts`), shape (E,)."""
  return np.nonzero(np.asarray(ds.terminals) | np.asarray(ds.timeouts))[0]


def episode_returns(ds: OfflineDataset) -> np.ndarray:
  """Undiscounted return of each complete episode, shape (num_episodes,).

  Episodes are split after rows with `terminals | timeouts`. Rows after the last
  such flag (an episode cut by the end of the file, as in some D4RL files) form
  no complete episode and are left out.
  """
  ends = episode_ends(ds)
  if ends.size == 0:
    return np.zeros((0,), np.float64)
  cumulative = np.cumsum(np.asarray(ds.rewards, np.float64))
  totals = cumulative[ends]
  return np.diff(np.concatenate([[0.0], totals]))


def concatenate(datasets: Sequence[OfflineDataset],
                metadata: Mapping[str, Any]) -> OfflineDataset:
  """Row-wise concatenation (e.g. medium-expert = medium + expert)."""
  arrays = {f: np.concatenate([getattr(d, f) for d in datasets]) for f in FIELDS}
  return dataset_from_arrays(arrays, metadata, name="concatenated dataset")


# ----------------------------------------------------------------------------
# Files.


def save_npz(ds: OfflineDataset, path: str) -> str:
  """Writes `ds` to one uncompressed `.npz` (metadata as a JSON string)."""
  validate_dataset(ds)
  _makedirs_for(path)
  with open(path, "wb") as f:  # a file object stops numpy appending ".npz"
    np.savez(f, **ds.arrays(), **{_METADATA_KEY: np.array(json.dumps(ds.metadata))})
  return path


def load_npz(path: str) -> OfflineDataset:
  """Reads a `.npz` written by `save_npz` and validates it.

  Raises:
    FileNotFoundError: no file at `path`.
    ValueError: the file is not a readable .npz, or misses fields, or holds
      invalid arrays.
  """
  if not os.path.isfile(path):
    raise FileNotFoundError(f"No dataset file at '{path}'.")
  try:
    with np.load(path, allow_pickle=False) as z:
      arrays = {k: z[k] for k in z.files}
  except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
    raise ValueError(f"'{path}' is not a readable .npz dataset file "
                     f"(corrupt or truncated?): {e}") from e
  metadata = {}
  if _METADATA_KEY in arrays:
    try:
      metadata = json.loads(str(arrays.pop(_METADATA_KEY)))
    except json.JSONDecodeError as e:
      raise ValueError(f"'{path}' has unreadable metadata JSON: {e}") from e
  return dataset_from_arrays(arrays, metadata, name=f"dataset '{path}'")


def save_hdf5(ds: OfflineDataset, path: str) -> str:
  """Writes `ds` in the D4RL HDF5 layout, metadata as root attributes.

  str/int/float/bool metadata values are stored as plain attributes; others
  (lists, dicts, None) as JSON strings, their keys listed in the root attribute
  `__json_keys__`. Read back with `readers.read_d4rl_hdf5` or `load_dataset`.
  """
  import h5py
  validate_dataset(ds)
  _makedirs_for(path)
  with h5py.File(path, "w") as f:
    for k, a in ds.arrays().items():
      f.create_dataset(k, data=a)
    json_keys = []
    for k, v in ds.metadata.items():
      if isinstance(v, (str, bool, int, float)):
        f.attrs[k] = v
      else:
        f.attrs[k] = json.dumps(v)
        json_keys.append(k)
    f.attrs[JSON_ATTRS_KEY] = json.dumps(json_keys)
  return path


def _makedirs_for(path: str) -> None:
  parent = os.path.dirname(os.path.abspath(path))
  os.makedirs(parent, exist_ok=True)
