"""The benchmark's learned models, trained (or resumed) once per training seed.

Per seed s < config.eval.num_seeds, in <level_dir>/seed_{s}: dynamics, reward, NCSN
xu score, a dynamics ensemble, a behaviour-cloning policy, a value V(x) on the
data's Monte-Carlo returns and a termination model on its terminal flags (only
those the configured methods use, `methods.models_needed`).
"""
from __future__ import annotations

import os
from typing import Callable, Optional

import jax
import numpy as np

from experiments.d4rl_benchmark import methods as methods_lib
from sgp_jax import score as score_lib
from sgp_jax.models import make_score_model, train_model
from sgp_jax.normalization import Normalizer
from sgp_jax.training import TrainConfig
from sgp_jax import models


def build_models(config, data, returns=None) -> dict:
  """Untrained models with min/max normalisers of the data (SPEC B.8).

  returns: the value's targets (N,) (`value_returns`), which standardise its output;
  None: reward / (1 - discount) stands in (an untrained value no method uses).
  """
  x_norm = Normalizer.from_data(np.concatenate([np.asarray(data.x), np.asarray(data.x_next)]))
  u_norm = Normalizer.from_data(np.asarray(data.u))
  c = config
  sigmas = score_lib.geometric_sigmas(c.score.sigma_max, c.score.sigma_min,
                                      c.score.num_levels)
  return {
      "dynamics": models.make_dynamics_model(x_norm, u_norm, c.dynamics.hidden,
                                             c.dynamics.activation, c.dynamics.layer_norm),
      "reward": models.make_reward_model(x_norm, u_norm, data.reward, c.reward.hidden,
                                         c.reward.activation, c.reward.layer_norm),
      "score": make_score_model("xu", x_norm, u_norm, sigmas, c.score.hidden,
                                c.score.activation),
      "ensemble": models.make_dynamics_ensemble(
          x_norm, u_norm, c.ensemble.hidden, c.ensemble.num_members,
          c.ensemble.activation, c.ensemble.layer_norm),
      # BC maps into brax's action box [-1, 1] (tanh output).
      "bc": models.make_bc_policy(x_norm, Normalizer.from_scale(1.0, 0.0, dim=u_norm.dim),
                                  c.bc.hidden, c.bc.activation, c.bc.layer_norm),
      "value": models.make_value_model(
          x_norm, (np.asarray(data.reward) / (1.0 - c.value.discount)
                   if returns is None else returns),
          c.value.hidden, c.value.activation, c.value.layer_norm),
      "termination": models.make_termination_model(
          x_norm, c.termination.hidden, c.termination.activation,
          c.termination.layer_norm),
  }


def value_returns(config, dataset) -> np.ndarray:
  """The value's targets: the discounted returns-to-go (N,) of the OfflineDataset's
  episodes (config.value.discount, config.value.truncated_tail)."""
  return models.monte_carlo_returns(dataset, config.value.discount,
                                    config.value.truncated_tail)


def train_models(config, data, workdir: str, progress: Optional[Callable] = None,
                 seed: Optional[int] = None, names: Optional[tuple] = None,
                 returns=None, terminals=None):
  """Trains (or resumes from workdir/train_state) the models; returns (m, params, metrics).

  seed: initialisation and minibatch seed (default config.seed).
  names: the models to train (default all, the value only with `returns`, the
  termination model only with `terminals`; see `models_needed`). The others keep
  their random initial parameters (so every planner can be built) and their metrics
  say {"trained": False}: no method in config.methods (or config.eval.select_variant)
  may use them.
  returns: the value's targets (N,), one per row of `data` (`value_returns`);
  needed to train the value.
  terminals: the termination model's targets (N,), the data set's `terminals` flag of
  each row (its x_next ended the episode); needed to train the termination model,
  whose terminal rows weigh `models.balanced_positive_weight(terminals)`.

  Checkpoints: workdir/models/{dynamics,reward,score,ensemble,bc,value,termination}
  (load with
  `sgp_jax.models.load`); resumable training states in workdir/train_state/{name}.
  """
  seed = int(config.seed if seed is None else seed)
  if names is None:
    names = tuple(n for n in methods_lib.MODEL_NAMES
                  if not (n == "value" and returns is None)
                  and not (n == "termination" and terminals is None))
  if "value" in names and returns is None:
    raise ValueError("training the value needs its targets: pass returns="
                     "value_returns(config, dataset).")
  if "termination" in names and terminals is None:
    raise ValueError("training the termination model needs its targets: pass "
                     "terminals=dataset.terminals.")
  num = np.shape(data.x)[0]
  positive_weight = 1.0  # the termination loss's weight of terminal rows (set below)
  if returns is not None:
    returns = np.asarray(returns, np.float32)
    if returns.shape != (num,):
      raise ValueError(f"returns must have one entry per transition, shape "
                       f"({num},), got {returns.shape}.")
  if terminals is not None:
    terminals = np.asarray(terminals).astype(np.float32)
    if terminals.shape != (num,):
      raise ValueError(f"terminals must have one entry per transition, shape "
                       f"({num},), got {terminals.shape}.")
    positive_weight = models.balanced_positive_weight(terminals)
  m = build_models(config, data, returns)
  keys = dict(zip(("dynamics", "reward", "score", "ensemble", "bc"),
                  jax.random.split(jax.random.PRNGKey(seed), 5)))
  keys["value"] = jax.random.fold_in(jax.random.PRNGKey(seed), 5)
  keys["termination"] = jax.random.fold_in(jax.random.PRNGKey(seed), 6)
  xux = (data.x, data.u, data.x_next)
  jobs = {
      "dynamics": (lambda p, b, k: models.one_step_loss(m["dynamics"], p, *b), xux,
                   m["dynamics"]),
      "reward": (lambda p, b, k: models.reward_loss(m["reward"], p, *b),
                 (data.x, data.u, data.reward), m["reward"]),
      "score": (lambda p, b, k: score_lib.dsm_loss(m["score"], p, b, k), data.xu(),
                m["score"]),
      "ensemble": (lambda p, b, k: models.ensemble_loss(m["ensemble"], p, *b), xux, None),
      "bc": (lambda p, b, k: models.bc_loss(m["bc"], p, *b), (data.x, data.u), None),
      "value": (lambda p, b, k: models.value_loss(m["value"], p, *b),
                (data.x, returns), m["value"]),
      "termination": (lambda p, b, k: models.termination_loss(
          m["termination"], p, *b, positive_weight), (data.x_next, terminals),
                      m["termination"]),
  }
  names = tuple(names)
  params, metrics = {}, {}
  for name, (loss_fn, arrays, model) in jobs.items():
    if name not in names:
      params[name], metrics[name] = jax.jit(m[name].init)(keys[name]), {"trained": False}
      continue
    params[name], metrics[name] = train_model(
        name, loss_fn, m[name].init(keys[name]), arrays,
        TrainConfig.from_section(config[name], seed), workdir, progress, model=m[name],
        # the ensemble's and BC's training states record their name only
        run_config=None if model is not None else {"name": name})
  return m, params, metrics


def train_seeds(config, data, level_dir: str, progress: Optional[Callable] = None,
                returns=None, terminals=None):
  """train_models for each training seed config.seed + s, s < config.eval.num_seeds,
  in level_dir/seed_{s}; returns (m, [params_s], [metrics_s]). returns: the value's
  targets (`value_returns`), needed when a method uses the value; terminals: the
  data set's terminal flags, needed when a method uses the termination model."""
  params, metrics = [], []
  for s in range(config.eval.num_seeds):
    m, p, mt = train_models(config, data, os.path.join(level_dir, f"seed_{s}"), progress,
                            seed=config.seed + s,
                            names=methods_lib.models_needed(
                                methods_lib.evaluated_methods(config)),
                            returns=returns, terminals=terminals)
    params.append(p)
    metrics.append(mt)
  return m, params, metrics
