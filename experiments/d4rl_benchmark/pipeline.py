"""SGP-MPC on D4RL-style brax data sets, with baselines (SPEC B.8, A.9, E.9).

Per level: load the data set -> for each of config.eval.num_seeds training seeds,
train (or resume) dynamics, reward, NCSN xu score, a dynamics ensemble, a
behaviour-cloning policy, a value and a termination model (those the methods
use) -> evaluate every method in closed loop on the TRUE brax env (one jitted
episode loop per method, vmapped over seeds x episodes; beta chosen on held-out
episodes with config.eval.select_beta; the SGP variant chosen on held-out episodes
with config.eval.select_variant) -> normalised scores, each SGP variant's
paired difference to each baseline, a model-error diagnostic along the first plans,
an HTML render.
`run(config, workdir)` is what the launcher and a notebook call; it wires
  datasets.py    the data sets ({data_dir}/{env}-{level}.npz) and their checks
  methods.py     the method table, planners per method, '<method>@<beta>' names
  training.py    the learned models per training seed
  evaluation.py  closed-loop scores per method and their summaries
  diagnostics.py model error along plans, per-step episode diagnosis
  plots.py       figures and the brax HTML render
"""
from __future__ import annotations

import os
import time
from typing import Callable, Optional

from experiments import launcher
from experiments.d4rl_benchmark import datasets, diagnostics, evaluation, methods, plots
from experiments.d4rl_benchmark import training


def run(config, workdir: str, progress: Optional[Callable] = None,
        log: Callable = print) -> dict:
  """The whole benchmark; writes models/, summary.json, diagnostics and a render."""
  launcher.check_nonempty(config, "levels", "methods", "eval.num_seeds",
                          "eval.episodes_per_seed")
  methods.check_methods(config.methods)
  evaluation.check_eval_config(config)
  for level in config.levels:  # every level's data exists before any training
    datasets.level_path(config, level)
  launcher.make_workdir(workdir)
  t0 = time.time()
  summary = {"levels": {}, "protocol": {
      "num_steps": config.eval.num_steps,
      "standard_protocol": bool(config.eval.num_steps == 1000),
      "terminate_when_unhealthy": True}}
  for level in config.levels:
    ds, data = datasets.load_level(config, level)
    level_dir = os.path.join(workdir, level)
    needed = methods.models_needed(methods.evaluated_methods(config))
    returns = training.value_returns(config, ds) if "value" in needed else None
    terminals = ds.terminals if "termination" in needed else None
    m, params, train_metrics = training.train_seeds(config, data, level_dir, progress,
                                                    returns, terminals)
    env = evaluation.make_env(config, ds.metadata)
    results, episodes = evaluation.evaluate_methods(config, m, params, env, ds.metadata,
                                                    level, log)
    entry = {"data": {k: ds.metadata.get(k) for k in (
        "env", "level", "backend", "ref_min_score", "ref_max_score")},
        "num_transitions": ds.num, "training": train_metrics, "methods": results,
        "paired": evaluation.paired_comparisons(results)}
    if config.eval.diagnose_steps > 0 and "score" in methods.models_needed(
        methods.evaluated_methods(config)):
      entry["diagnostics"] = diagnostics.diagnose(config, m, params[0], env, level)
      entry["diagnostics_plot"] = plots.plot_diagnostics(
          entry["diagnostics"], os.path.join(workdir, f"{level}_plan_vs_true.png"),
          env.name)
    for method in config.eval.get("diagnose_episodes", ()):
      # at the beta the benchmark episodes ran at (the chosen one with select_beta);
      # the selected variant's row as the variant it chose
      chosen = results.get(method, {})
      run_as = (f"{chosen.get('variant', method)}@{chosen['beta']!r}"
                if "beta_selection" in chosen or "variant_selection" in chosen else method)
      diag, series = diagnostics.diagnose_episodes(config, m, params, env, data,
                                                   ds.metadata, level, run_as)
      diag["plot"] = plots.plot_episode_diagnosis(
          diag, series, os.path.join(workdir, f"{level}_{method}_episodes.png"))
      entry.setdefault("episode_diagnostics", {})[method] = diag
    if config.eval.render and "sgp" in episodes:
      entry["render"] = plots.render(env, config, episodes["sgp"].actions[0],
                                     os.path.join(workdir, f"{level}_sgp_episode.html"))
    summary["levels"][level] = entry
    launcher.write_summary(workdir, {**summary, "total_seconds": time.time() - t0}, config)
  summary["total_seconds"] = time.time() - t0
  launcher.write_summary(workdir, summary, config)
  return summary


def format_summary(summary: dict) -> str:
  """Scores per level and method (and the plan diagnostics), as printed by the launcher."""
  lines = []
  proto = summary["protocol"]
  if not proto["standard_protocol"]:
    lines.append(f"NOTE: episodes shortened to {proto['num_steps']} steps "
                 "(NOT the standard 1000-step protocol).")
  for level, entry in summary["levels"].items():
    lines.append(f"{level}: normalised score mean +- std over episodes "
                 f"(std over seed means)")
    for name, r in entry["methods"].items():
      s = r["score"]
      rescaled = r.get("score_rescaled_refs")
      lines.append(f"  {name:>20} {s['mean']:7.1f} +- {s['std']:5.1f} "
                   f"({r['score_seed_std']:4.1f})  n={s['num_episodes']}" + (
                       f"  [refs x steps/1000: {rescaled['mean']:.1f} +- "
                       f"{rescaled['std']:.1f}]" if rescaled else ""))
      chosen = r.get("beta_selection")
      if chosen:
        lines.append(f"  {'':>20} beta {chosen['beta']:g} chosen on held-out episodes "
                     f"from {chosen['betas']}")
      picked = r.get("variant_selection")
      if picked:
        lines.append(f"  {'':>20} {picked['choice']} chosen on held-out episodes from "
                     f"{picked['candidates']}")
    for variant, paired in entry.get("paired", {}).items():
      diffs = ", ".join(
          f"{b} {d['mean']:+.1f}" + (f" +- {d['stderr']:.1f}" if d["stderr"] is not None
                                     else "") + ("" if d["at_least_matches"] else " (below)")
          for b, d in paired["baselines"].items())
      lines.append(f"  {variant} - baseline (paired, SE): {diffs}; at least matches every "
                   f"baseline: {paired['at_least_matches_every_baseline']}")
    for name, d in entry.get("diagnostics", {}).items():
      lines.append(f"  diag {name}: plan return predicted {d['predicted_plan_return']:.2f}"
                   f" true {d['true_plan_return']:.2f}; state error at h=T "
                   f"{d['state_error_by_horizon'][-1]:.3f}")
  lines.append(f"total {summary['total_seconds']:.0f} s")
  return "\n".join(lines)
