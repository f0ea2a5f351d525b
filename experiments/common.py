"""Helpers shared by the experiment pipelines: training a model from a config
section with checkpoints and progress, writing summary.json, and matplotlib setup.

A config section `c` for `train_model` has the fields epochs, batch_size,
learning_rate, validation_fraction (and optionally epochs_per_call).
"""
from __future__ import annotations

import json
import os
import sys
import time
from typing import Any, Callable, Optional

import jax
import jax.numpy as jnp
import numpy as np

import sgp_jax
from sgp_jax import models as models_lib
from sgp_jax import score as score_lib
from sgp_jax import training
from sgp_jax.normalization import Normalizer
from sgp_jax.types import Params


def train_config(c, seed: int) -> training.TrainConfig:
  """A `TrainConfig` from a config section (see the module docstring)."""
  return training.TrainConfig(
      epochs=c.epochs, batch_size=c.batch_size, learning_rate=c.learning_rate,
      validation_fraction=c.validation_fraction,
      epochs_per_call=c.get("epochs_per_call", max(1, min(50, c.epochs // 10 or 1))),
      seed=seed)


def train_model(name: str, loss_fn: Callable, params: Params, data: Any, c, seed: int,
                workdir: str, progress: Optional[Callable] = None,
                model=None) -> tuple[Params, dict]:
  """Trains with `sgp_jax.training.train` (resumable under workdir/train_state/name).

  If `model` is given (a dynamics, reward or score model), the result is also
  saved as a self-describing checkpoint in workdir/models/name. Returns
  (params, metrics) with the final train and best validation losses and seconds.
  """
  start = time.time()
  run_config = {"name": name, **(models_lib.describe(model) if model is not None else {})}
  result = training.train(
      loss_fn, params, data, train_config(c, seed),
      workdir=os.path.join(workdir, "train_state", name), run_config=run_config,
      progress_fn=(lambda e, m: progress(name, e, m)) if progress else None)
  if model is not None:
    models_lib.save(os.path.join(workdir, "models", name), model, result.params)
  return result.params, {
      "final_train_loss": result.final_train_loss,
      "best_val_loss": float(result.state.best_val),
      "seconds": time.time() - start}


def point_score_model(normalizer: Normalizer, sigmas, hidden, activation: str = "elu"
                      ) -> score_lib.ScoreModel:
  """A score model of plain points z (dim n = normalizer.dim): an "xu" model whose u
  block is empty, so `dsm_loss`, `score` and `annealed_langevin` apply unchanged."""
  empty = Normalizer(jnp.ones((0,)), jnp.zeros((0,)))
  return score_lib.make_score_model("xu", normalizer, empty, sigmas, hidden, activation)


def versions() -> dict:
  import flax, optax
  return {"jax": jax.__version__, "flax": flax.__version__, "optax": optax.__version__,
          "numpy": np.__version__, "python": sys.version.split()[0],
          "sgp_jax": sgp_jax.__version__, "backend": jax.default_backend()}


def write_summary(workdir: str, summary: dict, config=None) -> str:
  """Writes summary.json (plus the config and versions) and returns its path."""
  summary = dict(summary)
  if config is not None:
    summary["config"] = config.to_dict()
  summary["versions"] = versions()
  path = os.path.join(workdir, "summary.json")
  with open(path, "w") as f:
    json.dump(summary, f, indent=1, default=lambda o: np.asarray(o).tolist())
  return path


def pyplot():
  """matplotlib.pyplot with the non-interactive Agg backend."""
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  return plt


# ------------------------------------------------------------------ launchers
def define_launcher_flags(main_file: str):
  """The --workdir (required) and --config (default: configs/default.py next to
  `main_file`) flags every launcher has; returns (workdir_flag, config_flag)."""
  from absl import flags
  from ml_collections import config_flags
  workdir = flags.DEFINE_string(
      "workdir", None, "Directory for checkpoints, summary.json and plots; a run "
      "finding training checkpoints there resumes from them.", required=True)
  config = config_flags.DEFINE_config_file(
      "config", os.path.join(os.path.dirname(os.path.abspath(main_file)), "configs",
                             "default.py"),
      "Path to an ml_collections config file (default: this experiment's "
      "configs/default.py; the module docstring above lists every field); override "
      "any field with --config.<field>=value.", lock_config=True)
  if sys.argv and os.path.abspath(sys.argv[0]) == os.path.abspath(main_file):
    for name in ("workdir", "config"):  # so that --help (not only --helpfull) lists them
      flags.FLAGS.register_flag_by_module(sys.argv[0], flags.FLAGS[name])
  return workdir, config


def launcher_main(run: Callable, format_summary: Callable, workdir_flag, config_flag):
  """The absl main of a launcher: run(config, workdir, progress) and print a summary."""
  from absl import app, flags, logging

  from experiments import progress as progress_lib

  def main(argv):
    if len(argv) > 1:
      raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    if not flags.FLAGS["verbosity"].present:
      logging.set_verbosity(logging.WARNING)  # orbax and jax log every save at INFO
    bars = progress_lib.TrainingProgress()
    summary = run(config_flag.value, workdir_flag.value, progress=bars)
    bars.close()
    print(format_summary(summary))
  return main


__all__ = ["train_config", "train_model", "point_score_model", "versions", "write_summary",
           "pyplot", "define_launcher_flags", "launcher_main"]
