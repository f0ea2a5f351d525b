"""Closed-loop scores of every method on the TRUE brax env, and their summaries.

All S x E episodes of a method (S training seeds, E episodes each) run in one
jitted, vmapped call; BC episodes start from the planners' reset keys, so the
per-episode differences between methods are paired (`paired_comparisons`). With
config.eval.select_beta a method's beta is first chosen on held-out episodes
(`sgp_jax.selection.select_beta`, key config.eval.heldout_seed); with
config.eval.select_variant so is the SGP variant (`sgp_jax.selection.select`) that
runs the benchmark episodes as the row `methods.SELECTED_VARIANT`.
"""
from __future__ import annotations

import time
from typing import Callable

import jax
import numpy as np

from experiments import launcher
from experiments.d4rl_benchmark import methods as methods_lib
from sgp_jax import closed_loop, envs, selection


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


def check_eval_config(config) -> None:
  """Raises ValueError for an inconsistent beta or variant selection or plan prior
  (before any training): the held-out key must not be the benchmark's, the grid
  non-empty, the variant candidates distinct SGP variants."""
  e, c = config.eval, config.plan
  if c.prior_warm_start not in ("prior", "shift+prior"):
    raise ValueError(f"plan.prior_warm_start must be 'prior' or 'shift+prior', got "
                     f"{c.prior_warm_start!r}.")
  if e.select_variant:
    methods_lib.check_variant_candidates(e.select_variant)
  if not (e.select_beta or e.select_variant):
    return
  if e.heldout_seed == e.seed:
    raise ValueError(f"eval.heldout_seed ({e.heldout_seed}) must differ from eval.seed: "
                     "beta and variant are chosen on episodes that are not the reported "
                     "ones.")
  if e.heldout_episodes_per_seed < 1:
    raise ValueError("eval.select_beta and eval.select_variant need "
                     "eval.heldout_episodes_per_seed >= 1.")
  if e.select_beta and not len(c.beta_grid):
    raise ValueError("eval.select_beta needs a non-empty plan.beta_grid.")


def evaluate_methods(config, m: dict, params: list, env, metadata: dict, level: str,
                     log: Callable = print) -> tuple[dict, dict]:
  """Closed-loop scores of every method in config.methods; returns (summary, episodes).

  params: one parameter dict per training seed (`train_seeds`). Seed s runs
  config.eval.episodes_per_seed = E episodes with its own models; all S x E run in
  one vmapped call per method, episodes s*E .. (s+1)*E - 1 belonging to seed s
  (env initial states and planner noise from config.eval.seed).

  With config.eval.select_beta, a method of `methods.SELECTED_BETA_METHODS` named
  without '@<beta>' first runs config.eval.heldout_episodes_per_seed episodes per
  seed from the key config.eval.heldout_seed at every beta of config.plan.beta_grid
  (multiples of its configured beta); its row then holds the benchmark episodes at
  the best beta (normalised score averaged over the held-out episodes) with the
  table under "beta_selection", and the configured beta's row is added as
  "<method>@<beta>" (the fixed-beta ablation; the same episodes when the chosen
  beta is the configured one).

  With config.eval.select_variant, each candidate variant then runs the same held-out
  episodes at its configured beta (or its "@<beta>"); the best mean runs the
  benchmark episodes as the row `methods.SELECTED_VARIANT`, with the candidates'
  table under "variant_selection" (its episodes are the candidate's own row's where
  config.methods has that row at that beta).
  """
  e = config.eval
  num_seeds = len(params)
  key = jax.random.PRNGKey(e.seed)
  models = closed_loop.stack_models([{k: p[k] for k in methods_lib.PLANNED_MODELS}
                                     for p in params])
  planners = methods_lib.make_planners(config, m, level)
  prior = methods_lib.plan_prior(config, m)
  evaluators = {}

  def run_planner(name: str, beta: float, run_key, episodes_per_seed: int):
    planner, _ = methods_lib.planner_for(planners, name)
    warm_start = methods_lib.warm_start_for(config, name)
    cache = (id(planner), warm_start, episodes_per_seed)  # sgp and beta0 share a compile
    if cache not in evaluators:
      evaluators[cache] = closed_loop.make_mpc_evaluator(
          env, planner, episodes_per_seed, warm_start=warm_start,
          num_model_sets=num_seeds, prior=prior)
    return evaluators[cache](models, run_key, beta)

  heldout = {}  # the beta sweeps and the variant selection share held-out episodes

  def heldout_scores(name: str, beta: float, run_key) -> np.ndarray:
    planner, _ = methods_lib.planner_for(planners, name)
    cache = (id(planner), methods_lib.warm_start_for(config, name), float(beta),
             tuple(np.asarray(jax.random.key_data(run_key)).ravel().tolist()))
    if cache not in heldout:
      start = time.time()
      scores = heldout[cache] = closed_loop.normalized_scores(
          run_planner(name, beta, run_key, e.heldout_episodes_per_seed).returns(), metadata)
      log(f"  {level} {name:>20}  held-out, β {beta:g}: {scores.mean():7.1f} over "
          f"{scores.size} episodes ({time.time() - start:.0f} s)")
    return heldout[cache]

  def summarise(eps, start: float) -> dict:
    # The host copies wait for the device, so the seconds include the episodes' run.
    returns, lengths = np.asarray(eps.returns()), np.asarray(eps.lengths())
    return method_summary(returns, lengths, metadata, num_seeds, e.num_steps,
                          time.time() - start)

  def report(name: str, start: float) -> None:
    s = out[name]["score"]
    log(f"  {level} {name:>20}: {s['mean']:7.1f} +- {s['std']:5.1f}  "
        f"({time.time() - start:.0f} s)")

  check_eval_config(config)
  heldout_key = (jax.random.PRNGKey(e.heldout_seed)
                 if e.select_beta or e.select_variant else None)
  out, episodes = {}, {}
  for name in config.methods:
    start = time.time()
    if name == "bc":
      # The planners' loop and reset keys: BC episode s*E + i starts where theirs does.
      evaluate_bc = closed_loop.make_policy_evaluator(
          env, m["bc"].policy_apply, e.episodes_per_seed, num_param_sets=num_seeds)
      episodes[name] = evaluate_bc(closed_loop.stack_models([p["bc"] for p in params]), key)
      out[name] = summarise(episodes[name], start)
      report(name, start)
      continue
    base, explicit_beta = launcher.split_method(name)
    beta = float(methods_lib.planner_for(planners, name)[1])
    chosen = None
    if (e.select_beta and explicit_beta is None
        and base in methods_lib.SELECTED_BETA_METHODS):
      chosen = selection.select_beta(lambda b, k: heldout_scores(name, b, k),
                                     [beta * g for g in config.plan.beta_grid], heldout_key)
      selection_seconds, start = time.time() - start, time.time()
    run_beta = beta if chosen is None else chosen.beta
    episodes[name] = run_planner(name, run_beta, key, e.episodes_per_seed)
    out[name] = {**summarise(episodes[name], start), "beta": run_beta}
    report(name, start)
    if chosen is not None:
      out[name]["beta_selection"] = {
          **chosen.to_dict(), "grid_multiples": list(config.plan.beta_grid),
          "heldout_seed": e.heldout_seed,
          "heldout_episodes_per_seed": e.heldout_episodes_per_seed,
          "configured_beta": beta, "seconds_including_compile": selection_seconds}
      fixed = f"{base}@{beta:g}"
      if fixed not in config.methods:
        start = time.time()
        episodes[fixed] = (episodes[name] if run_beta == beta
                           else run_planner(fixed, beta, key, e.episodes_per_seed))
        out[fixed] = {**summarise(episodes[fixed], start), "beta": beta,
                      "fixed_beta_ablation": True}
        report(fixed, start)
  if e.select_variant:
    start = time.time()
    chosen = selection.select(
        lambda name, k: heldout_scores(name, methods_lib.planner_for(planners, name)[1], k),
        e.select_variant, heldout_key)
    selection_seconds, start = time.time() - start, time.time()
    name, row = chosen.choice, methods_lib.SELECTED_VARIANT
    beta = float(methods_lib.planner_for(planners, name)[1])
    same = name in out and out[name]["beta"] == beta
    episodes[row] = (episodes[name] if same
                     else run_planner(name, beta, key, e.episodes_per_seed))
    out[row] = {**summarise(episodes[row], start), "beta": beta, "variant": name,
                "variant_selection": {
                    **chosen.to_dict(), "heldout_seed": e.heldout_seed,
                    "heldout_episodes_per_seed": e.heldout_episodes_per_seed,
                    "seconds_including_compile": selection_seconds}}
    if same:
      out[row]["seconds_including_compile"] = out[name]["seconds_including_compile"]
    report(row, start)
    log(f"  {level} {'':>20}  {name} chosen on held-out episodes from "
        f"{list(e.select_variant)} ({selection_seconds:.0f} s)")
  return out, episodes


def paired_comparisons(results: dict) -> dict:
  """Each SGP variant (a method whose name starts with "sgp") against each baseline
  (every other method, BC included), on the same episodes (the same reset keys):
  {variant: {"baselines": {baseline: closed_loop.paired_difference of the normalised
  scores}, "at_least_matches_every_baseline": bool}}. "At least matches": the paired
  difference is not significantly negative (mean + 2 SE >= 0)."""
  variants = [n for n in results if n.startswith("sgp")]
  baselines = [n for n in results if not n.startswith("sgp")]
  out = {}
  for v in variants:
    rows = {b: closed_loop.paired_difference(results[v]["scores"], results[b]["scores"])
            for b in baselines}
    out[v] = {"baselines": rows, "at_least_matches_every_baseline": bool(
        rows and all(r["at_least_matches"] for r in rows.values()))}
  return out
