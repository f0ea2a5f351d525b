"""Closed-loop scores of every method on the TRUE brax env, and their summaries.

All S x E episodes of a method (S training seeds, E episodes each) run in one
jitted, vmapped call; BC episodes start from the planners' reset keys, so the
per-episode differences between methods are paired.
"""
from __future__ import annotations

import time
from typing import Callable

import jax
import numpy as np

from experiments.d4rl_benchmark import methods as methods_lib
from sgp_jax import closed_loop, envs


def make_env(config, metadata: dict):
  """The TRUE env of the data set (same backend), episodes of config.eval.num_steps."""
  return envs.make_env(metadata.get("env", config.env),
                       backend=metadata.get("backend", "positional"),
                       episode_length=config.eval.num_steps,
                       terminate_when_unhealthy=True)


def method_summary(returns: np.ndarray, lengths: np.ndarray, metadata: dict,
                   num_seeds: int, num_steps: int, seconds: float) -> dict:
  """A method's entry of summary.json: normalised scores (over episodes and per
  training seed), returns, episode lengths; with `num_steps` below the data's
  episode length also scores against references rescaled to the shorter episodes."""
  scores = closed_loop.normalized_scores(returns, metadata)
  per_seed = scores.reshape(num_seeds, -1).mean(1)
  extra = {}
  if num_steps < metadata.get("episode_length", num_steps):
    # Shortened episodes (NOT the standard protocol): also score against references
    # scaled by num_steps / episode_length (returns per step of the reference policies).
    frac = num_steps / metadata["episode_length"]
    rescaled = closed_loop.normalized_scores(
        returns, {"ref_min_score": frac * metadata["ref_min_score"],
                  "ref_max_score": frac * metadata["ref_max_score"]})
    extra["score_rescaled_refs"] = closed_loop.score_summary(rescaled)
  return {"score": closed_loop.score_summary(scores), **extra,
          "score_per_seed_mean": per_seed.tolist(),
          "score_seed_std": float(per_seed.std()),
          "returns": returns.tolist(), "scores": scores.tolist(),
          "episode_lengths": lengths.tolist(), "seconds_including_compile": seconds}


def evaluate_methods(config, m: dict, params: list, env, metadata: dict, level: str,
                     log: Callable = print) -> tuple[dict, dict]:
  """Closed-loop scores of every method in config.methods; returns (summary, episodes).

  params: one parameter dict per training seed (`train_seeds`). Seed s runs
  config.eval.episodes_per_seed = E episodes with its own models; all S x E run in
  one vmapped call per method, episodes s*E .. (s+1)*E - 1 belonging to seed s
  (env initial states and planner noise from config.eval.seed).
  """
  e = config.eval
  num_seeds = len(params)
  key = jax.random.PRNGKey(e.seed)
  models = closed_loop.stack_models([{k: p[k] for k in methods_lib.PLANNED_MODELS} for p in params])
  planners = methods_lib.make_planners(config, m, level)
  out, episodes, evaluators = {}, {}, {}
  for name in config.methods:
    start = time.time()
    if name == "bc":
      # The planners' loop and reset keys: BC episode s*E + i starts where theirs does.
      evaluate_bc = closed_loop.make_policy_evaluator(
          env, m["bc"].policy_apply, e.episodes_per_seed, num_param_sets=num_seeds)
      eps = evaluate_bc(closed_loop.stack_models([p["bc"] for p in params]), key)
    else:
      planner, beta = methods_lib.planner_for(planners, name)
      if id(planner) not in evaluators:  # sgp and beta0 share one compile
        evaluators[id(planner)] = closed_loop.make_mpc_evaluator(
            env, planner, e.episodes_per_seed, warm_start=config.plan.warm_start,
            num_model_sets=num_seeds)
      eps = evaluators[id(planner)](models, key, beta)
    returns, lengths = np.asarray(eps.returns()), np.asarray(eps.lengths())
    episodes[name] = eps
    out[name] = method_summary(returns, lengths, metadata, num_seeds, e.num_steps,
                               time.time() - start)
    if name != "bc":
      out[name]["beta"] = float(methods_lib.planner_for(planners, name)[1])
    s = out[name]["score"]
    log(f"  {level} {name:>20}: {s['mean']:7.1f} +- {s['std']:5.1f}  "
        f"({time.time() - start:.0f} s)")
  return out, episodes
