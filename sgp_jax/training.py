"""One jitted, scanned training loop for any loss, with exact resume.

`train(loss_fn, params, data, config)` minimises `loss_fn(params, batch, key)` over
minibatches of `data` (a pytree of arrays with a common leading axis N held on
device). A chunk of `config.epochs_per_call` epochs compiles into one call: each
epoch is a `lax.scan` over minibatches drawn by a key derived from (seed, epoch),
followed by the loss on the held-out split. So a run resumed from a checkpoint
continues bit for bit as if it had never stopped, and its `history` covers every
epoch, including those run before the interruption (it lives in the `TrainState`).
"""
from __future__ import annotations

import dataclasses
import time
import warnings
from typing import Any, Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

from sgp_jax import checkpoint as ckpt
from sgp_jax.types import Array, Params, PRNGKey

LossFn = Callable[[Params, Any, PRNGKey], Array]
ProgressFn = Callable[[int, dict], None]


@dataclasses.dataclass(frozen=True)
class TrainConfig:
  """Optimisation settings.

  Attributes:
    epochs: passes over the training split.
    batch_size: minibatch size (clipped to the training-set size).
    learning_rate: Adam's base learning rate.
    lr_schedule: "cosine" (decays to 0 over the epochs, stepped once per epoch)
      or "constant".
    validation_fraction: held-out fraction; 0 trains and validates on everything.
    epochs_per_call: epochs compiled into one jitted call (and the cadence of
      progress reports and checkpoints).
    keep_best: return the parameters with the lowest validation loss.
    grad_clip: global-norm gradient clipping (0 disables).
    seed: seeds the split, the minibatches and the loss's noise.
  """
  epochs: int = 100
  batch_size: int = 1024
  learning_rate: float = 1e-3
  lr_schedule: str = "cosine"
  validation_fraction: float = 0.1
  epochs_per_call: int = 10
  keep_best: bool = True
  grad_clip: float = 0.0
  seed: int = 0

  def __post_init__(self):
    if self.epochs < 1 or self.batch_size < 1 or self.epochs_per_call < 1:
      raise ValueError(f"epochs, batch_size and epochs_per_call must be >= 1: {self}")
    if not 0.0 <= self.validation_fraction < 1.0:
      raise ValueError(f"validation_fraction must be in [0, 1), got "
                       f"{self.validation_fraction}.")
    if self.lr_schedule not in ("cosine", "constant"):
      raise ValueError(f"lr_schedule must be 'cosine' or 'constant', got "
                       f"{self.lr_schedule!r}.")

  @classmethod
  def from_section(cls, section, seed: int) -> "TrainConfig":
    """From a config section (e.g. an ml_collections ConfigDict) with the fields
    epochs, batch_size, learning_rate, validation_fraction and optionally
    epochs_per_call (default: a tenth of the epochs, 1 to 50)."""
    epochs_per_call = section.get("epochs_per_call",
                                  max(1, min(50, section.epochs // 10 or 1)))
    return cls(epochs=section.epochs, batch_size=section.batch_size,
               learning_rate=section.learning_rate,
               validation_fraction=section.validation_fraction,
               epochs_per_call=epochs_per_call, seed=seed)


@struct.dataclass
class TrainState:
  params: Params
  opt_state: Any
  epoch: Array          # int32 scalar: epochs completed
  key: Array            # the run's base PRNG key (raw uint32)
  best_params: Params
  best_val: Array       # float32 scalar
  history: Array        # float32 (epochs, 2): per-epoch (train_loss, val_loss); NaN = not run


@struct.dataclass
class _TrainStateV0:
  """The TrainState of checkpoints written before `history` was added (restore only)."""
  params: Params
  opt_state: Any
  epoch: Array
  key: Array
  best_params: Params
  best_val: Array


class TrainResult(NamedTuple):
  params: Params        # best (keep_best) or last parameters
  state: TrainState
  history: dict         # "train_loss", "val_loss": numpy (epochs,), every epoch of the run
                        # (NaN for epochs of a pre-history checkpoint, see _restore)
  epochs_run: int = 0   # epochs this call trained (0: it found the run finished)

  @property
  def final_train_loss(self) -> Optional[float]:
    """The last epoch's mean training loss; None if unknown (no epoch or NaN)."""
    losses = self.history["train_loss"]
    return float(losses[-1]) if len(losses) and np.isfinite(losses[-1]) else None


def _split(n: int, fraction: float, key: PRNGKey):
  if fraction == 0.0:
    idx = np.arange(n)
    return idx, idx
  perm = np.asarray(jax.random.permutation(key, n))
  n_val = max(1, int(round(n * fraction)))
  if n - n_val < 1:
    raise ValueError(f"validation_fraction={fraction} leaves no training data (N={n}).")
  return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def _num_rows(data) -> int:
  leaves = jax.tree_util.tree_leaves(data)
  if not leaves:
    raise ValueError("training data is empty.")
  n = {np.shape(x)[0] if np.ndim(x) else None for x in leaves}
  if len(n) != 1 or None in n:
    raise ValueError(f"training data leaves must share a leading axis; got lengths {n}.")
  (n,) = n
  if n == 0:
    raise ValueError("training data has 0 rows.")
  for leaf in leaves:
    if not np.all(np.isfinite(np.asarray(leaf))):
      raise ValueError("training data contains NaN or inf.")
  return n


def _restore(checkpointer: ckpt.TrainCheckpointer, state: TrainState,
             step: int) -> TrainState:
  """Restores `step` into `state`'s structure; reads pre-history checkpoints too."""
  try:
    return checkpointer.restore(state, step)[0]
  except ckpt.CheckpointError as error:
    fields = {f.name: getattr(state, f.name) for f in dataclasses.fields(_TrainStateV0)}
    try:
      old, _ = checkpointer.restore(_TrainStateV0(**fields), step)
    except ckpt.CheckpointError:
      raise error from None
    return TrainState(history=state.history, **{  # epochs run before: unknown (NaN)
        f.name: getattr(old, f.name) for f in dataclasses.fields(_TrainStateV0)})


def _differences(saved: Any, now: Any, prefix: str = "") -> list[str]:
  """'field: saved -> now' for every leaf where two JSON configs differ."""
  if isinstance(saved, dict) and isinstance(now, dict):
    return [line for key in sorted(set(saved) | set(now), key=str)
            for line in _differences(saved.get(key, "<absent>"), now.get(key, "<absent>"),
                                     f"{prefix}{key}.")]
  return [] if saved == now else [f"{prefix[:-1]}: {saved!r} -> {now!r}"]


def _config_mismatch(checkpointer: ckpt.TrainCheckpointer, step: int, saved: dict,
                     now: dict) -> ckpt.CheckpointError:
  changes = _differences(saved, now)
  shown = "; ".join(changes[:5]) + (f"; and {len(changes) - 5} more" if len(changes) > 5
                                    else "")
  epochs = (" (a run cannot change its number of epochs: the learning-rate schedule "
            "spans them)" if any(c.startswith("train.epochs:") for c in changes) else "")
  return ckpt.CheckpointError(
      f"the training checkpoint {checkpointer.step_dir(step)} was written with a "
      f"different configuration (checkpoint -> now: {shown}){epochs}; use a new workdir "
      "to train with this configuration, or rerun with the checkpoint's values to "
      "resume it.")


def _resume(checkpointer: ckpt.TrainCheckpointer, state: TrainState,
            config: dict) -> TrainState:
  """The newest intact checkpoint, restored into `state`'s structure.

  A corrupt newer checkpoint is set aside (`TrainCheckpointer.set_aside`) with a
  warning naming it; training is a function of (seed, epoch), so resuming from an
  earlier step gives the same result. A checkpoint written with another `config`
  is refused, naming the differing fields.
  """
  corrupt = []
  for step in reversed(checkpointer.all_steps()):
    try:
      saved = checkpointer.read_config(step)
      restored = _restore(checkpointer, state, step) if saved == config else None
    except ckpt.CheckpointError as error:
      corrupt.append((step, error))
      continue
    if restored is None:
      raise _config_mismatch(checkpointer, step, saved, config)
    for bad_step, error in corrupt:
      moved = checkpointer.set_aside(bad_step)
      warnings.warn(f"{error} Resuming from the intact step {step} instead; the corrupt "
                    f"checkpoint was moved to {moved}.", RuntimeWarning, stacklevel=3)
    return restored
  raise ckpt.CheckpointError(
      f"every training checkpoint in {checkpointer.directory} is corrupt (steps "
      f"{[s for s, _ in corrupt]}); the newest: {corrupt[0][1]} Delete "
      f"{checkpointer.directory} to train from scratch.")


def make_optimizer(config: TrainConfig, steps_per_epoch: int) -> optax.GradientTransformation:
  if config.lr_schedule == "cosine":
    per_epoch = optax.cosine_decay_schedule(config.learning_rate, config.epochs)
    schedule = lambda count: per_epoch(count // steps_per_epoch)
  else:
    schedule = config.learning_rate
  chain = [optax.clip_by_global_norm(config.grad_clip)] if config.grad_clip > 0 else []
  return optax.chain(*chain, optax.adam(schedule))


def train(loss_fn: LossFn, params: Params, data: Any, config: TrainConfig, *,
          workdir: Optional[str] = None, run_config: Optional[dict] = None,
          progress_fn: Optional[ProgressFn] = None) -> TrainResult:
  """Trains `params` to minimise `loss_fn` and returns a `TrainResult`.

  Args:
    loss_fn: (params, batch, key) -> scalar; `batch` has data's structure with
      leading axis batch_size.
    params: initial parameters.
    data: pytree of arrays with a common leading axis N.
    config: a `TrainConfig`.
    workdir: if given, training checkpoints go to `workdir` and a run finding
      one there resumes from the newest intact one (its config and `run_config`
      must match; a corrupt newer one is set aside with a warning).
    run_config: JSON-able description stored with each checkpoint.
    progress_fn: called as progress_fn(epoch, metrics) after every chunk.
  """
  n = _num_rows(data)
  base_key = jax.random.PRNGKey(config.seed)
  train_idx, val_idx = _split(n, config.validation_fraction,
                              jax.random.fold_in(base_key, 1))
  data = jax.tree_util.tree_map(jnp.asarray, data)
  train_data = jax.tree_util.tree_map(lambda a: a[train_idx], data)
  val_data = jax.tree_util.tree_map(lambda a: a[val_idx], data)
  n_train, n_val = len(train_idx), len(val_idx)
  batch_size = min(config.batch_size, n_train)
  steps_per_epoch = n_train // batch_size
  val_batch = min(config.batch_size, n_val)
  val_steps = n_val // val_batch
  optimizer = make_optimizer(config, steps_per_epoch)

  state = TrainState(params=params, opt_state=optimizer.init(params),
                     epoch=jnp.zeros((), jnp.int32), key=base_key,
                     best_params=params, best_val=jnp.full((), jnp.inf, jnp.float32),
                     history=jnp.full((config.epochs, 2), jnp.nan, jnp.float32))
  full_config = ckpt.to_json({"train": dataclasses.asdict(config),
                              "run": run_config or {}})
  checkpointer = None
  if workdir is not None:
    checkpointer = ckpt.TrainCheckpointer(workdir)
    if checkpointer.latest_step() is not None:
      state = _resume(checkpointer, state, full_config)

  def run_epoch(state: TrainState, _):
    epoch_key = jax.random.fold_in(state.key, state.epoch + 2)
    perm_key, loss_key = jax.random.split(epoch_key)
    perm = jax.random.permutation(perm_key, n_train)[:steps_per_epoch * batch_size]
    batches = perm.reshape(steps_per_epoch, batch_size)

    def step(carry, inputs):
      p, opt_state = carry
      idx, i = inputs
      batch = jax.tree_util.tree_map(lambda a: a[idx], train_data)
      loss, grads = jax.value_and_grad(loss_fn)(p, batch, jax.random.fold_in(loss_key, i))
      updates, opt_state = optimizer.update(grads, opt_state, p)
      return (optax.apply_updates(p, updates), opt_state), loss

    (p, opt_state), losses = jax.lax.scan(
        step, (state.params, state.opt_state), (batches, jnp.arange(steps_per_epoch)))

    val_key = jax.random.fold_in(state.key, 0)  # fixed: comparable across epochs
    def val_step(total, i):
      idx = jax.lax.dynamic_slice_in_dim(jnp.arange(n_val), i * val_batch, val_batch)
      batch = jax.tree_util.tree_map(lambda a: a[idx], val_data)
      return total + loss_fn(p, batch, jax.random.fold_in(val_key, i)), None
    val_total, _ = jax.lax.scan(val_step, jnp.zeros(()), jnp.arange(val_steps))
    val_loss = (val_total / val_steps).astype(jnp.float32)
    better = val_loss < state.best_val
    best_params = jax.tree_util.tree_map(lambda a, b: jnp.where(better, a, b),
                                         p, state.best_params)
    train_loss = jnp.mean(losses)
    history = state.history.at[state.epoch].set(jnp.stack([train_loss, val_loss]))
    new_state = TrainState(params=p, opt_state=opt_state, epoch=state.epoch + 1,
                           key=state.key, best_params=best_params,
                           best_val=jnp.where(better, val_loss, state.best_val),
                           history=history)
    return new_state, (train_loss, val_loss)

  run_chunk = jax.jit(lambda s, length: jax.lax.scan(run_epoch, s, None, length=length),
                      static_argnums=1)

  start = time.time()
  epoch = first_epoch = int(state.epoch)
  while epoch < config.epochs:
    length = min(config.epochs_per_call, config.epochs - epoch)
    state, (train_losses, val_losses) = run_chunk(state, length)
    train_losses, val_losses = np.asarray(train_losses), np.asarray(val_losses)
    if not np.all(np.isfinite(train_losses)):
      raise FloatingPointError(
          f"training loss became non-finite at epoch {epoch + 1}..{epoch + length}; "
          "lower the learning rate or check the data.")
    epoch = int(state.epoch)
    if checkpointer is not None:
      checkpointer.save(epoch, state, full_config)
    if progress_fn is not None:
      progress_fn(epoch, {"train_loss": float(train_losses[-1]),
                          "val_loss": float(val_losses[-1]),
                          "best_val_loss": float(state.best_val),
                          "epochs": config.epochs,
                          "elapsed_s": time.time() - start})
  if checkpointer is not None:
    checkpointer.close()
  done = np.asarray(state.history)[:int(state.epoch)]
  history = {"train_loss": done[:, 0], "val_loss": done[:, 1]}
  params = state.best_params if config.keep_best else state.params
  return TrainResult(params=params, state=state, history=history,
                     epochs_run=int(state.epoch) - first_epoch)
