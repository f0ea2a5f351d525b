"""JAX's persistent compilation cache, on by one call.

A launcher (or notebook) that calls `enable_compilation_cache()` before its first
jitted computation writes every compiled program that took longer than
`min_compile_time_secs` to a folder on disk, and a later process with the same
programs (same shapes, same jax and XLA versions) loads them instead of
compiling again. The default folder is `$XDG_CACHE_HOME/sgp_jax/jax_cache`, or
`~/.cache/sgp_jax/jax_cache` when XDG_CACHE_HOME is unset.
"""
from __future__ import annotations

import os
from typing import Optional

import jax

DEFAULT_MIN_COMPILE_TIME_SECS = 0.5  # jax's own default (1 s) leaves planner compiles out


def default_cache_dir() -> str:
  """`$XDG_CACHE_HOME/sgp_jax/jax_cache`, else `~/.cache/sgp_jax/jax_cache`."""
  root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"),
                                                          ".cache")
  return os.path.join(root, "sgp_jax", "jax_cache")


def enable_compilation_cache(
    cache_dir: Optional[str] = None,
    min_compile_time_secs: float = DEFAULT_MIN_COMPILE_TIME_SECS) -> Optional[str]:
  """Turns on jax's persistent compilation cache in `cache_dir`.

  Call it before the first jitted computation: the programs compiled before it
  are not cached.

  Args:
    cache_dir: the cache folder (created if absent); None: `default_cache_dir()`;
      "" leaves the cache off.
    min_compile_time_secs: programs that compile faster are not written.

  Returns:
    The absolute cache folder, or None when `cache_dir` is "".

  Raises:
    ValueError: `cache_dir` exists and is not a directory, or cannot be created.
  """
  if cache_dir == "":
    return None
  path = os.path.abspath(os.path.expanduser(cache_dir or default_cache_dir()))
  try:
    os.makedirs(path, exist_ok=True)
  except OSError as e:
    raise ValueError(f"compilation cache folder {path} cannot be created ({e}); pass "
                     "another folder, or an empty one to turn the cache off.") from e
  jax.config.update("jax_compilation_cache_dir", path)
  jax.config.update("jax_persistent_cache_min_compile_time_secs",
                    float(min_compile_time_secs))
  return path


__all__ = ["DEFAULT_MIN_COMPILE_TIME_SECS", "default_cache_dir", "enable_compilation_cache"]
