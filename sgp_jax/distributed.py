"""Running past one process: `jax.distributed` and batches over the global device mesh.

One program runs in every process (multi-controller JAX). After `initialize()`,
`jax.devices()` lists the devices of ALL processes; `batch_mesh()` is a 1-D mesh
over them. A batch that every process holds identically on the host (the same
seeds give the same initial states and keys everywhere) is split over that mesh
by `shard_batch`, models are copied to every device by `replicate`, and `gather`
brings a sharded result back as whole host arrays on every process, so process 0
(`is_primary()`) can write summaries. In one process all of this is the local
device mesh and `gather` returns its input.

  sgp_jax.distributed.initialize()                     # cluster env (SLURM, TPU pod, ...)
  sgp_jax.distributed.initialize("host0:1234", 2, 0)   # or explicit, e.g. localhost CPUs

`planning.solve_sharded` and the evaluators of `sgp_jax.closed_loop` use these.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence, Union

import jax
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding, PartitionSpec


def initialize(coordinator_address: Optional[str] = None,
               num_processes: Optional[int] = None,
               process_id: Optional[int] = None,
               local_device_ids: Optional[Union[int, Sequence[int]]] = None) -> bool:
  """Starts `jax.distributed` once, before any other jax call; returns whether it
  did (False if it already ran).

  With no arguments jax reads the cluster environment (SLURM, Open MPI, a Cloud
  TPU pod slice, Kubernetes). Otherwise give all three of coordinator_address
  ("host:port" of process 0), num_processes and process_id. On CPU the
  cross-process collectives use gloo.
  """
  explicit = (coordinator_address, num_processes, process_id)
  if any(v is not None for v in explicit) and any(v is None for v in explicit):
    raise ValueError("initialize: give all of coordinator_address, num_processes and "
                     f"process_id, or none (cluster auto-detection); got {explicit}.")
  if num_processes is not None and not 0 <= process_id < num_processes:
    raise ValueError(f"initialize: process_id {process_id} is not in "
                     f"[0, num_processes={num_processes}).")
  if jax.distributed.is_initialized():
    return False
  jax.config.update("jax_cpu_collectives_implementation", "gloo")
  jax.distributed.initialize(coordinator_address=coordinator_address,
                             num_processes=num_processes, process_id=process_id,
                             local_device_ids=local_device_ids)
  return True


def is_primary() -> bool:
  """True in process 0, the one that writes summaries and plots."""
  return jax.process_index() == 0


def batch_mesh(axis_name: str = "batch") -> Mesh:
  """A 1-D mesh over every device of every process."""
  return Mesh(np.asarray(jax.devices()), (axis_name,))


def shard_batch(tree: Any, mesh: Mesh, axis: int = 0) -> Any:
  """Global arrays split over `mesh` along `axis` (whose size the mesh size must
  divide) from host values that every process holds identically."""
  sharding = NamedSharding(mesh, PartitionSpec(*([None] * axis), mesh.axis_names[0]))
  return _put(tree, sharding)


def replicate(tree: Any, mesh: Mesh) -> Any:
  """A whole copy of every leaf on every device of `mesh`."""
  return _put(tree, NamedSharding(mesh, PartitionSpec()))


def gather(tree: Any) -> Any:
  """Every leaf as its whole value on every process (numpy arrays when several
  processes share the result; the input unchanged in one process)."""
  if jax.process_count() == 1:
    return tree
  return multihost_utils.process_allgather(tree, tiled=True)


def _put(tree: Any, sharding: NamedSharding) -> Any:
  if jax.process_count() == 1:
    return jax.tree.map(lambda leaf: jax.device_put(leaf, sharding), tree)

  def put(leaf):
    host = np.asarray(leaf)
    return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])

  return jax.tree.map(put, tree)


__all__ = ["initialize", "is_primary", "batch_mesh", "shard_batch", "replicate", "gather"]
