"""One save / load for every model kind, and training that ends in a saved model.

  save(directory, model, params)   params (orbax) + config.json (`model.to_config()`)
  load(directory)                  (model, params): the model rebuilt from config.json
                                   alone (`NormalizedModel.from_config`), whatever its kind
  train_model(name, ...)           trains or resumes under workdir/train_state/<name>
                                   and leaves the model in workdir/models/<name>

The files, their manifest and the orbax machinery are `sgp_jax.checkpoint`'s.
"""
from __future__ import annotations

import os
import time
from typing import Any, Callable, Optional, Tuple

import jax

from sgp_jax import checkpoint as ckpt
from sgp_jax import training
from sgp_jax.models.base import NormalizedModel
from sgp_jax.types import Params

ProgressFn = Callable[[str, int, dict], None]


def save(directory: str, model: NormalizedModel, params: Params,
         extra: Optional[dict] = None) -> str:
  """Saves params and the model's config (plus `extra`) to `directory`; returns its path."""
  return ckpt.save_model(directory, params, {**model.to_config(), "extra": extra or {}})


def load(directory: str) -> Tuple[NormalizedModel, Params]:
  """(model, params) written by `save`; CheckpointError naming what is wrong."""
  model = NormalizedModel.from_config(ckpt.load_model_config(directory))
  target = jax.eval_shape(model.init, jax.random.PRNGKey(0))  # shapes only: no eager init
  return model, ckpt.load_params(directory, target)


def load_if_intact(directory: str, model: NormalizedModel, like: Any) -> Optional[Params]:
  """The params saved in `directory` if it holds an intact checkpoint of `model` (its
  files match their manifest, its config is `model.to_config()`), else None."""
  if not os.path.isdir(directory):
    return None
  try:
    saved = ckpt.load_model_config(directory)
    saved.pop("extra", None)
    if saved != ckpt.to_json(model.to_config()):
      return None
    return ckpt.load_params(directory, like)
  except ckpt.CheckpointError:
    return None


def train_model(name: str, loss_fn: training.LossFn, params: Params, data: Any,
                config: training.TrainConfig, workdir: str,
                progress: Optional[ProgressFn] = None, *,
                model: Optional[NormalizedModel] = None,
                run_config: Optional[dict] = None) -> Tuple[Params, dict]:
  """Trains with `training.train`, resumable under workdir/train_state/<name>.

  With `model`, the result is saved as a self-describing checkpoint in
  workdir/models/<name> (its config is also the training run's, so a changed model
  refuses a stale training state). A call that finds the training finished and that
  checkpoint intact loads it and writes nothing: several launchers sharing a workdir
  all read the one model; a missing or corrupt checkpoint is written again.

  Args:
    name: names the run and its folders.
    loss_fn, params, data, config: as for `training.train`.
    workdir: the folder holding train_state/ and models/.
    progress: called as progress(name, epoch, metrics) after every chunk of epochs.
    model: the model `params` belong to (optional).
    run_config: what the training state records and resumes only under (default:
      {"name": name} and the model's config).

  Returns:
    (params, metrics): the best (or last) parameters and {"final_train_loss",
    "best_val_loss", "seconds"}.
  """
  start = time.time()
  if run_config is None:
    run_config = {"name": name, **(model.to_config() if model is not None else {})}
  result = training.train(
      loss_fn, params, data, config, workdir=os.path.join(workdir, "train_state", name),
      run_config=run_config,
      progress_fn=(lambda epoch, m: progress(name, epoch, m)) if progress else None)
  params = result.params
  if model is not None:
    model_dir = os.path.join(workdir, "models", name)
    saved = (load_if_intact(model_dir, model, params) if result.epochs_run == 0
             else None)
    if saved is None:
      save(model_dir, model, params)
    else:
      params = saved
  return params, {"final_train_loss": result.final_train_loss,
                  "best_val_loss": float(result.state.best_val),
                  "seconds": time.time() - start}


__all__ = ["save", "load", "load_if_intact", "train_model"]
