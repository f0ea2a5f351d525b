"""Compatibility of brax's trainers with newer jax.

brax 0.14.2's SAC, PPO and APG trainers call `jax.device_put_replicated(tree,
devices)`, which jax 0.10 removed. `ensure_device_put_replicated()` defines it, only
where jax lacks it, before `brax.training` is used: each leaf gets a new leading
axis of size len(devices), one copy per device, sharded over that axis with a
`NamedSharding` (what `pmap` consumes). On a jax that still has the function this
does nothing, so the trainers run jax's own.
"""
from __future__ import annotations

from typing import Any, Sequence

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec


def device_put_replicated(tree: Any, devices: Sequence[jax.Device]) -> Any:
  """Every leaf x of `tree` as an array of shape (len(devices),) + x.shape whose
  i-th row lives on devices[i] (the semantics of jax's removed function)."""
  devices = list(devices)
  if not devices:
    raise ValueError("device_put_replicated needs at least one device.")
  sharding = NamedSharding(Mesh(np.asarray(devices), ("replica",)), PartitionSpec("replica"))

  def put(leaf):
    row = jax.numpy.asarray(leaf)[None]
    return jax.make_array_from_single_device_arrays(
        (len(devices),) + row.shape[1:], sharding,
        [jax.device_put(row, device) for device in devices])

  return jax.tree.map(put, tree)


def ensure_device_put_replicated() -> bool:
  """Defines `jax.device_put_replicated` where this jax has none; returns whether it
  did. Call before running a brax trainer."""
  if hasattr(jax, "device_put_replicated"):
    return False
  jax.device_put_replicated = device_put_replicated
  return True


__all__ = ["device_put_replicated", "ensure_device_put_replicated"]
