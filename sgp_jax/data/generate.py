"""D4RL-style data sets for a brax env: behaviour policies, the five levels, references.

`make_datasets(config, workdir)` trains (or reuses) a brax SAC run as the behaviour
policy source, measures the reference returns (uniform random policy: ref_min_score;
the expert checkpoint: ref_max_score), rolls out every requested level and writes
  workdir/policies/<env>/            the SAC run (reused when its settings match)
  workdir/datasets/<env>-<level>.npz / .hdf5
  workdir/summary.json               references, per-level returns and normalised
                                     scores, sizes, timings, versions, the config
The levels (`sgp_jax.data.LEVELS`):
  random          the uniform random policy
  medium          the SAC checkpoint closest to medium_fraction x the expert's return
  expert          the best SAC checkpoint
  medium-replay   random + every SAC checkpoint up to medium (a replay-buffer stand-in)
  medium-expert   medium + expert, concatenated
The config (`experiments/make_dataset/configs/default.py` documents every field) is
an ml_collections.ConfigDict; `resolve_config` fills the per-env SAC settings.
brax is imported only when a generation runs (`import sgp_jax.data` does not).
"""
from __future__ import annotations

import json
import os
import time
from typing import TYPE_CHECKING, Any, Callable, Dict

import jax
import numpy as np

from sgp_jax import closed_loop, envs
from sgp_jax.data import dataset as ds_lib
from sgp_jax.data import scores

if TYPE_CHECKING:  # the configs' library, not a dependency of `import sgp_jax`
  import ml_collections


def resolve_config(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """A copy with the env's SAC settings filled in (fields left None) and full sizes applied."""
  import ml_collections  # only generation needs it
  config = ml_collections.ConfigDict(config.to_dict())
  if config.env not in envs.ENV_NAMES:
    raise ValueError(f"unknown env {config.env!r}; set --config.env to one of "
                     f"{', '.join(envs.ENV_NAMES)}.")
  env_defaults = config.sac_env_defaults.get(config.env, {})
  for name in [name for name, value in config.sac.items() if value is None]:
    if name not in env_defaults:
      raise ValueError(f"config.sac.{name} is unset and sac_env_defaults has no value for "
                       f"env {config.env!r}; set --config.sac.{name}.")
    config.sac[name] = env_defaults[name]
  if config.full:
    config.num_transitions = config.full_num_transitions
    config.sac.num_timesteps = config.full_sac_timesteps
    config.sac.num_evals = max(config.sac.num_evals, 21)
  return config


def make_datasets(config: ml_collections.ConfigDict, workdir: str,
                  log: Callable[[str], None] = print) -> Dict[str, Any]:
  """Trains (or reuses) the behaviour policies and writes every requested level.

  Returns the summary also written to `workdir/summary.json`.
  """
  for field in ("levels", "formats"):
    if not config[field]:
      raise ValueError(f"config.{field} is empty, so there is nothing to write; give it "
                       f"at least one value: --config.{field}='(<value>,)'.")
  config = resolve_config(config)
  unknown = set(config.levels) - set(ds_lib.LEVELS)
  if unknown:
    raise ValueError(f"Unknown level(s) {sorted(unknown)}; choose from {ds_lib.LEVELS}.")
  if os.path.exists(workdir) and not os.path.isdir(workdir):
    raise ValueError(f"--workdir {workdir} is an existing file, not a directory; pass a "
                     "new or existing directory.")
  os.makedirs(workdir, exist_ok=True)
  t_start = time.time()
  timings = {}
  env = envs.make_env(config.env, config.backend, config.episode_length,
                          config.terminate_when_unhealthy)
  log(f"env {config.env} ({config.backend}): obs {env.dim_obs}, action "
      f"{env.dim_action}, episode length {env.episode_length}")

  t = time.time()
  log("Training behaviour policies (brax SAC)...")
  policies = envs.train_behaviour(
      env, config.sac.to_dict(), os.path.join(workdir, "policies", config.env),
      config.seed, config.medium_fraction, log)
  timings["behaviour_policies"] = time.time() - t
  log(f"  medium step {policies.medium_step}, expert step {policies.expert_step}")

  random_rollout = closed_loop.make_policy_evaluator(
      env, envs.uniform_policy(env.dim_action), config.num_parallel)
  sac_rollout = closed_loop.make_policy_evaluator(env, policies.apply, config.num_parallel)
  random_src = (random_rollout, None)
  sac_src = lambda step: (sac_rollout, policies.params[step])
  sha = lambda step: envs.checkpoint_sha256(policies.checkpoint_dirs[step])
  root_key = jax.random.PRNGKey(config.seed)

  t = time.time()
  log(f"Reference returns over {config.ref_episodes} episodes...")
  _, random_returns = closed_loop.collect_episodes(
      [random_src], jax.random.fold_in(root_key, 1000),
      min_episodes=config.ref_episodes)
  _, expert_returns = closed_loop.collect_episodes(
      [sac_src(policies.expert_step)], jax.random.fold_in(root_key, 1001),
      min_episodes=config.ref_episodes)
  refs = {"ref_min_score": float(random_returns.mean()),
          "ref_max_score": float(expert_returns.mean())}
  timings["reference_returns"] = time.time() - t
  log(f"  ref_min_score {refs['ref_min_score']:.1f}, ref_max_score "
      f"{refs['ref_max_score']:.1f}  ({timings['reference_returns']:.0f} s)")

  plans = {
      "random": ([random_src], None),
      "medium": ([sac_src(policies.medium_step)], [policies.medium_step]),
      "expert": ([sac_src(policies.expert_step)], [policies.expert_step]),
      "medium-replay": ([random_src] + [sac_src(s) for s in policies.replay_steps()],
                        list(policies.replay_steps())),
  }
  shared_meta = dict(env.metadata(), **refs, seed=config.seed,
                     ref_episodes=config.ref_episodes, behaviour_algorithm="brax_sac",
                     stochastic_behaviour=True, generator="sgp_jax make_dataset",
                     jax_version=jax.__version__)
  made: Dict[str, ds_lib.OfflineDataset] = {}
  summary_levels = {}
  needed = set(config.levels)
  if "medium-expert" in needed:
    needed |= {"medium", "expert"}
  for i, level in enumerate(ds_lib.LEVELS):
    if level not in needed:
      continue
    t = time.time()
    log(f"Level {level}...")
    if level == "medium-expert":
      meta = dict(made["medium"].metadata, level=level,
                  policy_checkpoint_steps=[made[l].metadata["policy_checkpoint_steps"]
                                           for l in ("medium", "expert")],
                  policy_checkpoint_sha256=[made[l].metadata["policy_checkpoint_sha256"]
                                            for l in ("medium", "expert")])
      dataset = ds_lib.concatenate([made["medium"], made["expert"]], meta)
    else:
      sources, steps = plans[level]
      arrays, _ = closed_loop.collect_episodes(
          sources, jax.random.fold_in(root_key, i), min_transitions=config.num_transitions,
          log=log)
      meta = dict(shared_meta, level=level, policy_checkpoint_steps=steps,
                  policy_checkpoint_sha256=None if steps is None else [sha(s) for s in steps],
                  includes_random_policy=level in ("random", "medium-replay"))
      dataset = ds_lib.dataset_from_arrays(arrays, meta, name=f"{config.env}-{level}")
    made[level] = dataset
    timings[level] = time.time() - t
    if level in config.levels:
      summary_levels[level] = write_level(dataset, config, workdir, timings[level], log)

  summary = {"env": config.env, "backend": config.backend, **refs,
             "levels": summary_levels,
             "behaviour": {"curve": [list(c) for c in policies.curve],
                           "medium_step": policies.medium_step,
                           "expert_step": policies.expert_step},
             "timings_s": timings, "total_s": time.time() - t_start,
             "versions": {"jax": jax.__version__,
                          "brax": env.metadata()["brax_version"]},
             "config": config.to_dict()}
  path = os.path.join(workdir, "summary.json")
  with open(path, "w") as f:
    json.dump(summary, f, indent=2, default=list)
  log(f"Done in {summary['total_s']:.0f} s; summary in {path}")
  return summary


def write_level(dataset: ds_lib.OfflineDataset, config: ml_collections.ConfigDict,
                workdir: str, seconds: float, log: Callable[[str], None]) -> Dict[str, Any]:
  """Writes `dataset` as workdir/datasets/<env>-<level>.<fmt> for each of config.formats;
  returns its summary entry (files, sizes, returns, normalised scores, seconds)."""
  level = dataset.metadata["level"]
  stem = os.path.join(workdir, "datasets", f"{config.env}-{level}")
  files = []
  for fmt in config.formats:
    writer = {"npz": ds_lib.save_npz, "hdf5": ds_lib.save_hdf5}[fmt]
    files.append(writer(dataset, f"{stem}.{fmt}"))
  returns = ds_lib.episode_returns(dataset)
  out = {"files": files, "num_transitions": dataset.num,
         "num_episodes": int(len(returns)), "return_mean": float(returns.mean()),
         "return_std": float(returns.std()), "normalized_score_mean": None,
         "normalized_score_std": None, "seconds": seconds}
  if dataset.metadata["ref_max_score"] > dataset.metadata["ref_min_score"]:
    normalised = np.asarray(scores.dataset_normalized_score(returns, dataset))
    out.update(normalized_score_mean=float(normalised.mean()),
               normalized_score_std=float(normalised.std()))
    score_text = f"{normalised.mean():.1f} +- {normalised.std():.1f}"
  else:  # an under-trained expert (tiny test runs): no valid normalisation
    score_text = "undefined (expert not better than random)"
  log(f"  {level}: {dataset.num} transitions, {len(returns)} episodes, return "
      f"{returns.mean():.1f} +- {returns.std():.1f}, normalised score {score_text}  "
      f"({seconds:.0f} s)")
  return out


__all__ = ["resolve_config", "make_datasets", "write_level"]
