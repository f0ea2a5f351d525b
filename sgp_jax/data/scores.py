"""Normalised scores on the D4RL 0-100 scale.

    score = 100 * (R - ref_min_score) / (ref_max_score - ref_min_score)

`ref_min_score` is the mean return of the uniform-random policy and
`ref_max_score` the mean return of the expert behaviour policy, both measured on
the same environment and protocol as the data (stored in each data set's
metadata). 0 means random, 100 means expert; scores can fall outside [0, 100].
D4RL's `get_normalized_score` returns the same quantity divided by 100.
"""
from __future__ import annotations

from typing import Any, Mapping, Union

import jax.numpy as jnp

from sgp_jax.data.dataset import OfflineDataset
from sgp_jax.types import Array


def normalized_score(returns: Union[float, Array], ref_min_score: float,
                     ref_max_score: float) -> Array:
  """100 * (returns - ref_min_score) / (ref_max_score - ref_min_score).

  Args:
    returns: episode return(s), any shape; may be traced.
    ref_min_score: random-policy mean return (a concrete number).
    ref_max_score: expert mean return (a concrete number), > ref_min_score.

  Returns:
    Scores of the same shape as `returns`, on the 0-100 scale.

  Raises:
    ValueError: ref_max_score <= ref_min_score, or a reference is not finite.
  """
  lo, hi = float(ref_min_score), float(ref_max_score)
  if not (jnp.isfinite(lo) and jnp.isfinite(hi) and hi > lo):
    raise ValueError(f"Need finite references with ref_max_score > ref_min_score, "
                     f"got ref_min_score={lo}, ref_max_score={hi}.")
  return 100.0 * (jnp.asarray(returns) - lo) / (hi - lo)


def dataset_normalized_score(
    returns: Union[float, Array],
    source: Union[OfflineDataset, Mapping[str, Any]]) -> Array:
  """`normalized_score` with the references read from a data set or its metadata.

  Raises:
    ValueError: the metadata lack `ref_min_score` or `ref_max_score`.
  """
  metadata = source.metadata if isinstance(source, OfflineDataset) else source
  missing = [k for k in ("ref_min_score", "ref_max_score")
             if metadata.get(k) is None]
  if missing:
    raise ValueError(f"Dataset metadata lack {missing}; cannot normalise. Keys "
                     f"present: {sorted(metadata)}.")
  return normalized_score(returns, metadata["ref_min_score"],
                          metadata["ref_max_score"])
