"""The one helper every experiment launcher and pipeline shares.

A launcher (`experiments/<name>/main.py`) only parses flags:

  _WORKDIR, _CONFIG = launcher.define_launcher_flags(__file__)
  if __name__ == "__main__":
    app.run(launcher.launcher_main(pipeline.run, pipeline.format_summary, _WORKDIR,
                                   _CONFIG), flags_parser=launcher.parse_flags)

Its pipeline's `run(config, workdir, progress)` does the work, with
- run outputs: `write_summary` (summary.json with the config and `versions`),
  `mean_std`, `pyplot` (Agg) and `save_figure` (process 0 only);
- checks before any training: `make_workdir`, `check_nonempty`,
  `check_method_names` and `split_method` for '<method>@<beta>' names;
- the absl launcher: `define_launcher_flags`, `parse_flags`, `launcher_main`; a
  user's mistake (`USER_ERRORS`) ends the program with one `error:` line and exit
  status 2 (`exit_with_error`).
"""
from __future__ import annotations

import difflib
import json
import os
import re
import sys
from typing import Callable, NoReturn, Optional

import jax
import numpy as np

import sgp_jax
from sgp_jax import compilation_cache, distributed


# ------------------------------------------------------------------ run outputs
def mean_std(values) -> dict:
  """{"mean", "std"} of an array of values, as plain floats (for summary.json)."""
  v = np.asarray(values, np.float64)
  return {"mean": float(v.mean()), "std": float(v.std())}


def versions() -> dict:
  import flax, optax
  return {"jax": jax.__version__, "flax": flax.__version__, "optax": optax.__version__,
          "numpy": np.__version__, "python": sys.version.split()[0],
          "sgp_jax": sgp_jax.__version__, "backend": jax.default_backend()}


def write_summary(workdir: str, summary: dict, config=None) -> str:
  """Writes summary.json (plus the config and versions; process 0 only, see
  `sgp_jax.distributed`) and returns its path."""
  summary = dict(summary)
  if config is not None:
    summary["config"] = config.to_dict()
  summary["versions"] = versions()
  path = os.path.join(workdir, "summary.json")
  if distributed.is_primary():
    with open(path, "w") as f:
      json.dump(summary, f, indent=1, default=lambda o: np.asarray(o).tolist())
  return path


def save_figure(fig, path: str, dpi: int = 100) -> str:
  """Saves a matplotlib figure (process 0 only), closes it, returns `path`."""
  if distributed.is_primary():
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
  pyplot().close(fig)
  return path


def pyplot():
  """matplotlib.pyplot with the non-interactive Agg backend."""
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  return plt


# ------------------------------------------------------------------ run checks
def make_workdir(workdir: str) -> str:
  """Creates `workdir` (and its parents) if absent; returns it.

  Raises:
    ValueError: `workdir` names an existing file.
  """
  if os.path.exists(workdir) and not os.path.isdir(workdir):
    raise ValueError(f"--workdir {workdir} is an existing file, not a directory; pass a "
                     "new or existing directory.")
  os.makedirs(workdir, exist_ok=True)
  return workdir


def check_nonempty(config, *fields: str) -> None:
  """Raises ValueError unless each dotted config field is a non-empty sequence or a
  count >= 1 (e.g. plan.betas, plan.num_seeds), before any training starts."""
  for field in fields:
    value = config
    for part in field.split("."):
      value = value[part]
    if isinstance(value, (tuple, list)) and not value:
      raise ValueError(f"config.{field} is empty, so there is nothing to run; give it "
                       f"at least one value: --config.{field}='(<value>,)'.")
    if isinstance(value, int) and value < 1:
      raise ValueError(f"config.{field} = {value} leaves nothing to run; set "
                       f"--config.{field} to 1 or more.")


def split_method(name: str) -> tuple[str, Optional[float]]:
  """'<method>' -> (method, None); '<method>@<beta>' -> (method, beta).

  Raises:
    ValueError: the text after '@' is not a number.
  """
  base, sep, beta = name.partition("@")
  if not sep:
    return base, None
  try:
    return base, float(beta)
  except ValueError:
    raise ValueError(f"method {name!r}: {beta!r} after '@' is not a number.") from None


def check_method_names(methods, known, fixed=()) -> None:
  """Raises ValueError naming the first entry of `methods` that is not one of `known`,
  as '<method>' or '<method>@<beta>' (a number), before any training. Methods in
  `fixed` take no '@<beta>'."""
  for name in methods:
    base, sep, _ = name.partition("@")
    if base not in known or (sep and base in fixed):
      but = f"any but {', '.join(fixed)} " if fixed else ""
      raise ValueError(f"unknown method {name!r}; choose from {tuple(known)} ({but}"
                       "optionally as '<method>@<beta>').")
    split_method(name)


# ------------------------------------------------------------------ launchers
# A corrupt or mismatched checkpoint (`CheckpointError`) is a ValueError.
USER_ERRORS = (ValueError, FileNotFoundError, NotADirectoryError, FileExistsError)


def exit_with_error(message) -> NoReturn:
  """Prints `error: <message>` as one line on stderr and exits with status 2."""
  print("error: " + " ".join(str(message).split()), file=sys.stderr)
  sys.exit(2)


def check_config_overrides(config, argv) -> None:
  """Raises ValueError for the first --config.<field> of `argv` that `config` lacks,
  naming the fields it has (and a close match, if any)."""
  for arg in argv:
    match = re.match(r"^--?(?:no)?config\.([^=]+)", arg)
    if not match:
      continue
    field, node, path = match.group(1), config, ""
    for part in field.split("."):
      if not hasattr(node, "keys"):
        raise ValueError(f"unknown config field --config.{field}: config{path} is a "
                         f"{type(node).__name__}, not a section with fields.")
      if part not in node:
        names = sorted(node.keys())
        close = difflib.get_close_matches(part, names, n=1)
        hint = f"did you mean --config{path}.{close[0]}? " if close else ""
        raise ValueError(f"unknown config field --config.{field}: config{path} has no "
                         f"field {part!r}; {hint}its fields are {', '.join(names)} "
                         "(--help explains them).")
      node, path = node[part], f"{path}.{part}"


def _config_path(argv, default: str) -> str:
  """The --config value of argv, else `default`."""
  for i, arg in enumerate(argv):
    if re.match(r"^--?config=", arg):
      return arg.split("=", 1)[1]
    if arg in ("--config", "-config") and i + 1 < len(argv):
      return argv[i + 1]
  return default


def define_launcher_flags(main_file: str, workdir_help: Optional[str] = None):
  """The flags every launcher has; returns (workdir_flag, config_flag).

  --workdir (required), --config (default: configs/default.py next to
  `main_file`), --traceback and --compilation_cache_dir. When `main_file` is the
  program being run, its --config.<field> overrides are checked first: an unknown
  field ends the program with one `error:` line naming it (exit status 2).
  """
  from absl import flags
  from ml_collections import config_flags
  from ml_collections.config_flags import config_flags as config_files
  default_config = os.path.join(os.path.dirname(os.path.abspath(main_file)), "configs",
                                "default.py")
  is_main = bool(sys.argv) and os.path.abspath(sys.argv[0]) == os.path.abspath(main_file)
  if is_main:
    try:
      config = config_files.ConfigFileFlagParser("config").parse(
          _config_path(sys.argv, default_config))
    except Exception:  # an unloadable --config is reported by the flag itself
      config = None
    if config is not None:
      try:
        check_config_overrides(config, sys.argv[1:])
      except ValueError as error:
        exit_with_error(error)
  workdir = flags.DEFINE_string(
      "workdir", None, workdir_help or "Directory for checkpoints, summary.json and "
      "plots; a run finding training checkpoints there resumes from them.", required=True)
  config = config_flags.DEFINE_config_file(
      "config", default_config,
      "Path to an ml_collections config file (default: this experiment's "
      "configs/default.py; the module docstring above lists every field); override "
      "any field with --config.<field>=value.", lock_config=True)
  flags.DEFINE_bool(
      "traceback", False, "On an error, show the full Python traceback instead of the "
      "one-line 'error: <message>' (exit status 2).")
  flags.DEFINE_bool(
      "distributed", False, "Run as one process of several (jax.distributed): plan and "
      "episode batches are sharded over the devices of all processes. Without "
      "--coordinator_address the cluster is read from the environment (SLURM, Open "
      "MPI, a Cloud TPU pod slice). Every process runs the same command with the same "
      "--workdir on a shared filesystem; process 0 writes summaries and plots.")
  flags.DEFINE_string(
      "coordinator_address", None, "With --distributed: host:port of process 0, for "
      "clusters jax does not detect (then also --num_processes and --process_id).")
  flags.DEFINE_integer("num_processes", None, "With --coordinator_address: the number "
                       "of processes.")
  flags.DEFINE_integer("process_id", None, "With --coordinator_address: this "
                       "process's index, 0 .. num_processes - 1.")
  flags.DEFINE_string(
      "compilation_cache_dir", compilation_cache.default_cache_dir(),
      "Folder of JAX's persistent compilation cache: programs compiled by one run are "
      "loaded by the next instead of compiled again; '' turns the cache off.")
  if is_main:
    for name in ("workdir", "config", "traceback", "distributed", "coordinator_address",
                 "num_processes", "process_id", "compilation_cache_dir"):
      flags.FLAGS.register_flag_by_module(sys.argv[0], flags.FLAGS[name])  # for --help
  return workdir, config


def parse_flags(argv):
  """absl's flag parsing (`app.run(..., flags_parser=parse_flags)`), with a bad flag
  reported as one `error:` line (exit status 2)."""
  from absl import flags
  try:
    return flags.FLAGS(argv)
  except flags.Error as error:
    exit_with_error(f"{error} (--help lists the flags)")


def launcher_main(run: Callable, format_summary: Callable, workdir_flag, config_flag):
  """The absl main of a launcher: run(config, workdir, progress) and print a summary.

  A user-facing error (`USER_ERRORS`: a bad config, a missing file, a corrupt or
  mismatched checkpoint) ends it with one `error: <message>` line and exit status
  2; --traceback shows the full traceback instead.
  """
  from absl import app, flags, logging

  from experiments import progress as progress_lib

  def main(argv):
    if len(argv) > 1:
      raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    if not flags.FLAGS["verbosity"].present:
      logging.set_verbosity(logging.WARNING)  # orbax and jax log every save at INFO
    fl = flags.FLAGS
    try:
      if fl.distributed:  # before any other jax call
        distributed.initialize(fl.coordinator_address, fl.num_processes, fl.process_id)
      elif fl.coordinator_address is not None:
        raise ValueError("--coordinator_address needs --distributed.")
      compilation_cache.enable_compilation_cache(fl.compilation_cache_dir)
      bars = progress_lib.TrainingProgress() if distributed.is_primary() else None
      try:
        summary = run(config_flag.value, workdir_flag.value, progress=bars)
      finally:
        if bars is not None:
          bars.close()
    except USER_ERRORS as error:
      if fl.traceback:
        raise
      exit_with_error(error)
    if distributed.is_primary():
      print(format_summary(summary))
  return main


__all__ = ["mean_std", "versions", "write_summary", "save_figure", "pyplot", "make_workdir",
           "check_nonempty", "check_method_names", "split_method", "USER_ERRORS",
           "exit_with_error", "check_config_overrides", "define_launcher_flags",
           "parse_flags", "launcher_main"]
