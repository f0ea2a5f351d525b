"""SGP-MPC on D4RL-style brax data sets, with baselines (SPEC B.8, A.9, E.9).

Per level: load the data set -> for each of config.eval.num_seeds training seeds,
train (or resume) dynamics, reward, NCSN xu score, a dynamics ensemble and a
behaviour-cloning policy -> evaluate every method in closed loop on the TRUE brax
env (one jitted episode loop per method, vmapped over seeds x episodes) ->
normalised scores, a model-error diagnostic along the first plans, an HTML render.
`run(config, workdir)` is what the launcher and a notebook call.

Methods (all planners: T, iterations and warm start from config.plan; cost = -r_hat):
  sgp                 NCSS single shooting + score penalty, beta from config.plan.betas
  beta0               the same planner with beta = 0
  ensemble_cost_var   shooting on mean_k J_k + beta Var_k J_k (the paper's, A.9.2)
  ensemble_state_var  shooting on J + beta sum_t tr Var_k f_k (MOPO-style)
  mppi, cem           zeroth-order, no penalty
  mppi_score, cem_score           zeroth-order + the score penalty as a value
                      (`penalties.score_value_penalty`, Tweedie), SGP's beta and levels
  mppi_state_var, cem_state_var   zeroth-order + the MOPO-style penalty
  bc                  behaviour cloning (policy rollout, no planning)
  <method>@<beta>     any planning method above with its beta replaced, e.g.
                      "sgp@1.0" (a beta sweep reuses the method's compile)
"""
from __future__ import annotations

import os
import time
from typing import Callable, Optional

import jax
import jax.numpy as jnp
import numpy as np

from experiments import common
from sgp_jax import bc as bc_lib
from sgp_jax import data as data_lib
from sgp_jax import dynamics as dyn_lib
from sgp_jax import ensemble as ens_lib
from sgp_jax import distance, distributed, envs, evaluation
from sgp_jax import models as models_lib
from sgp_jax import reward as reward_lib
from sgp_jax import score as score_lib
from sgp_jax.normalization import Normalizer
from sgp_jax.planning import core, penalties, sampling_planners, shooting

METHODS = ("sgp", "beta0", "ensemble_cost_var", "ensemble_state_var", "mppi",
           "mppi_score", "mppi_state_var", "cem", "cem_score", "cem_state_var", "bc")
PLANNED_MODELS = ("dynamics", "reward", "score", "ensemble")  # the planners' `models`


# ------------------------------------------------------------------ data, models
def level_path(config, level: str) -> str:
  """`{data_dir}/{env}-{level}.npz`, checked to exist.

  Raises:
    ValueError: config.data_dir is unset.
    FileNotFoundError: no such file.
    Both say which command makes the data and which flag to pass.
  """
  make = (f"make them with `python -m experiments.make_dataset.main "
          f"--workdir=runs/data_{config.env} --config.env={config.env}` and pass "
          f"--config.data_dir=runs/data_{config.env}/datasets")
  if not config.data_dir:
    raise ValueError(f"config.data_dir is not set: it is the folder of the {config.env} "
                     f"data sets ({config.env}-<level>.npz); {make}.")
  path = os.path.join(config.data_dir, f"{config.env}-{level}.npz")
  if not os.path.isfile(path):
    raise FileNotFoundError(f"no data set {path} (--config.data_dir="
                            f"{config.data_dir}); {make}.")
  return path


def load_level(config, level: str):
  """(OfflineDataset, Transitions) of `level_path(config, level)`."""
  ds = data_lib.validate_dataset(data_lib.load_dataset(level_path(config, level)))
  return ds, data_lib.to_transitions(ds)


def build_models(config, data) -> dict:
  """Untrained models with min/max normalisers of the data (SPEC B.8)."""
  x_norm = Normalizer.from_data(np.concatenate([np.asarray(data.x), np.asarray(data.x_next)]))
  u_norm = Normalizer.from_data(np.asarray(data.u))
  c = config
  sigmas = score_lib.geometric_sigmas(c.score.sigma_max, c.score.sigma_min,
                                      c.score.num_levels)
  return {
      "dynamics": dyn_lib.make_dynamics_model(x_norm, u_norm, c.dynamics.hidden,
                                              c.dynamics.activation, c.dynamics.layer_norm),
      "reward": reward_lib.make_reward_model(x_norm, u_norm, data.reward, c.reward.hidden,
                                             c.reward.activation, c.reward.layer_norm),
      "score": score_lib.make_score_model("xu", x_norm, u_norm, sigmas, c.score.hidden,
                                          c.score.activation),
      "ensemble": ens_lib.make_dynamics_ensemble(
          x_norm, u_norm, c.ensemble.hidden, c.ensemble.num_members,
          c.ensemble.activation, c.ensemble.layer_norm),
      # BC maps into brax's action box [-1, 1] (tanh output).
      "bc": bc_lib.make_bc_policy(x_norm, Normalizer.from_scale(1.0, 0.0, dim=u_norm.dim),
                                  c.bc.hidden, c.bc.activation, c.bc.layer_norm),
  }


def models_needed(methods) -> tuple:
  """The learned models the methods use (the others need not be trained)."""
  bases = {name.partition("@")[0] for name in methods}
  needed = set()
  if bases - {"bc"}:
    needed |= {"dynamics", "reward"}
  if bases & {"sgp", "mppi_score", "cem_score"}:
    needed.add("score")
  if any(b.startswith("ensemble") or b.endswith("_var") for b in bases):
    needed.add("ensemble")
  if "bc" in bases:
    needed.add("bc")
  return tuple(n for n in ("dynamics", "reward", "score", "ensemble", "bc") if n in needed)


def train_models(config, data, workdir: str, progress: Optional[Callable] = None,
                 seed: Optional[int] = None, names: Optional[tuple] = None):
  """Trains (or resumes from workdir/train_state) the models; returns (m, params, metrics).

  seed: initialisation and minibatch seed (default config.seed).
  names: the models to train (default all; see `models_needed`). The others keep
  their random initial parameters (so every planner can be built) and their
  metrics say {"trained": False}: no method in config.methods may use them.

  Checkpoints: workdir/models/{dynamics,reward,score,ensemble} via
  `sgp_jax.models.save` (load with `sgp_jax.models.load`), workdir/models/bc via
  `bc.save_bc`; resumable training states in workdir/train_state/{name}.
  """
  seed = int(config.seed if seed is None else seed)
  m = build_models(config, data)
  keys = dict(zip(("dynamics", "reward", "score", "ensemble", "bc"),
                  jax.random.split(jax.random.PRNGKey(seed), 5)))
  xux = (data.x, data.u, data.x_next)
  jobs = {
      "dynamics": (lambda p, b, k: dyn_lib.one_step_loss(m["dynamics"], p, *b), xux,
                   m["dynamics"]),
      "reward": (lambda p, b, k: reward_lib.reward_loss(m["reward"], p, *b),
                 (data.x, data.u, data.reward), m["reward"]),
      "score": (lambda p, b, k: score_lib.dsm_loss(m["score"], p, b, k), data.xu(),
                m["score"]),
      "ensemble": (lambda p, b, k: ens_lib.ensemble_loss(m["ensemble"], p, *b), xux, None),
      "bc": (lambda p, b, k: bc_lib.bc_loss(m["bc"], p, *b), (data.x, data.u), None),
  }
  names = tuple(jobs) if names is None else tuple(names)
  params, metrics = {}, {}
  for name, (loss_fn, arrays, model) in jobs.items():
    if name not in names:
      params[name], metrics[name] = jax.jit(m[name].init)(keys[name]), {"trained": False}
      continue
    params[name], metrics[name] = common.train_model(
        name, loss_fn, m[name].init(keys[name]), arrays, config[name], seed,
        workdir, progress, model=model)
  if "ensemble" in names:  # trained with run_config {"name"} only, saved here
    models_lib.save(os.path.join(workdir, "models", "ensemble"), m["ensemble"],
                    params["ensemble"])
  if "bc" in names:
    bc_lib.save_bc(os.path.join(workdir, "models", "bc"), m["bc"], params["bc"])
  return m, params, metrics


# ------------------------------------------------------------------ planners
def make_problem(m: dict) -> shooting.ControlProblem:
  """The learned problem: dynamics f_hat, cost -r_hat, NCSN xu score.

  `models` (the planner's pytree) is {"dynamics", "reward", "score", "ensemble"}.
  """
  dyn, rew, score = m["dynamics"], m["reward"], m["score"]
  return shooting.ControlProblem(
      dim_x=dyn.dim_x, dim_u=dyn.dim_u,
      dynamics=lambda p, x, u: dyn(p["dynamics"], x, u),
      running_cost=lambda p, x, u, t: -rew(p["reward"], x, u),
      score=lambda p, z, level: score.score(p["score"], z, level),
      num_levels=score.num_levels)


def make_planners(config, m: dict, level: str) -> dict:
  """name -> (planner, beta) for every planning method (see the module docstring)."""
  c = config.plan
  problem = make_problem(m)
  base = dict(horizon=c.horizon, num_iters=c.num_iters, action_low=-1.0, action_high=1.0,
              record_history=False)
  grad_cfg = core.GradientPlannerConfig(
      learning_rate=c.learning_rate, init_std=c.init_std, beta_schedule=c.beta_schedule,
      beta_min=c.beta_mins[level], **base)
  samp = dict(num_samples=c.num_samples, num_elites=c.num_elites, sample_std=c.sample_std,
              temperature=c.temperature, **base)
  samp_cfg = sampling_planners.SamplingPlannerConfig(**samp)
  # with the score value: walk the score's levels as SGP does (beta_schedule too)
  samp_score_cfg = sampling_planners.SamplingPlannerConfig(
      anneal=True, beta_schedule=c.beta_schedule, beta_min=c.beta_mins[level], **samp)
  score_value = penalties.penalized_loss(
      problem, penalties.score_value_penalty(m["score"], lambda p: p["score"]))
  ens = m["ensemble"]
  get_ens = lambda p: p["ensemble"]
  metric = 1.0 / ens.model.x_normalizer.scale ** 2  # variance in normalised units
  state_var = penalties.penalized_loss(
      problem, penalties.state_variance_penalty(ens, get_ens, metric))
  plain = penalties.penalized_loss(problem)
  sgp = shooting.make_single_shooting(problem, grad_cfg)
  return {
      "sgp": (sgp, c.betas[level]),
      "beta0": (sgp, 0.0),
      "ensemble_cost_var": (penalties.make_loss_shooting(
          problem, penalties.ensemble_variance_loss(problem, ens, get_ens), grad_cfg),
                            c.ensemble_beta),
      "ensemble_state_var": (penalties.make_loss_shooting(problem, state_var, grad_cfg),
                             c.state_variance_beta),
      "mppi": (sampling_planners.make_mppi(problem, plain, samp_cfg), 0.0),
      "mppi_score": (sampling_planners.make_mppi(problem, score_value, samp_score_cfg),
                     c.betas[level]),
      "mppi_state_var": (sampling_planners.make_mppi(problem, state_var, samp_cfg),
                         c.state_variance_beta),
      "cem": (sampling_planners.make_cem(problem, plain, samp_cfg), 0.0),
      "cem_score": (sampling_planners.make_cem(problem, score_value, samp_score_cfg),
                    c.betas[level]),
      "cem_state_var": (sampling_planners.make_cem(problem, state_var, samp_cfg),
                        c.state_variance_beta),
  }


def check_methods(methods) -> None:
  """Raises ValueError naming any entry of `methods` that is not a method (before training)."""
  common.check_method_names(methods, METHODS, fixed=("bc",))


def planner_for(planners: dict, name: str):
  """(planner, beta) of a method name, "<method>" or "<method>@<beta>"."""
  base, sep, beta = name.partition("@")
  if base not in planners:
    raise ValueError(f"unknown method {name!r}; the planning methods are "
                     f"{sorted(planners)} (optionally '@<beta>'), plus 'bc'.")
  planner, default = planners[base]
  if not sep:
    return planner, default
  try:
    return planner, float(beta)
  except ValueError:
    raise ValueError(f"method {name!r}: {beta!r} after '@' is not a number.") from None


# ------------------------------------------------------------------ evaluation
def make_env(config, metadata: dict):
  """The TRUE env of the data set (same backend), episodes of config.eval.num_steps."""
  return envs.make_env(metadata.get("env", config.env),
                       backend=metadata.get("backend", "positional"),
                       episode_length=config.eval.num_steps,
                       terminate_when_unhealthy=True)


def _method_summary(returns: np.ndarray, lengths: np.ndarray, metadata: dict,
                    num_seeds: int, num_steps: int, seconds: float) -> dict:
  scores = evaluation.normalized_scores(returns, metadata)
  per_seed = scores.reshape(num_seeds, -1).mean(1)
  extra = {}
  if num_steps < metadata.get("episode_length", num_steps):
    # Shortened episodes (NOT the standard protocol): also score against references
    # scaled by num_steps / episode_length (returns per step of the reference policies).
    frac = num_steps / metadata["episode_length"]
    rescaled = evaluation.normalized_scores(
        returns, {"ref_min_score": frac * metadata["ref_min_score"],
                  "ref_max_score": frac * metadata["ref_max_score"]})
    extra["score_rescaled_refs"] = evaluation.score_summary(rescaled)
  return {"score": evaluation.score_summary(scores), **extra,
          "score_per_seed_mean": per_seed.tolist(),
          "score_seed_std": float(per_seed.std()),
          "returns": returns.tolist(), "scores": scores.tolist(),
          "episode_lengths": lengths.tolist(), "seconds_including_compile": seconds}


def train_seeds(config, data, level_dir: str, progress: Optional[Callable] = None):
  """train_models for each training seed config.seed + s, s < config.eval.num_seeds,
  in level_dir/seed_{s}; returns (m, [params_s], [metrics_s])."""
  params, metrics = [], []
  for s in range(config.eval.num_seeds):
    m, p, mt = train_models(config, data, os.path.join(level_dir, f"seed_{s}"), progress,
                            seed=config.seed + s, names=models_needed(config.methods))
    params.append(p)
    metrics.append(mt)
  return m, params, metrics


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
  models = evaluation.stack_models([{k: p[k] for k in PLANNED_MODELS} for p in params])
  planners = make_planners(config, m, level)
  out, episodes, evaluators = {}, {}, {}
  for name in config.methods:
    start = time.time()
    if name == "bc":
      # The planners' reset keys (episode s*E + i from keys_reset[s, i]): paired episodes.
      episode = envs.make_episode(env, m["bc"].policy_apply)
      bc_params = evaluation.stack_models([p["bc"] for p in params])
      keys_reset, keys_act = jax.tree.map(
          lambda k: k.reshape((num_seeds, e.episodes_per_seed) + k.shape[1:]),
          evaluation.episode_keys(key, num_seeds * e.episodes_per_seed))
      r = jax.jit(jax.vmap(jax.vmap(episode, in_axes=(None, 0, 0))))(
          bc_params, keys_reset, keys_act)
      r = jax.tree.map(lambda a: a.reshape((-1,) + a.shape[2:]), r)
      returns, lengths = np.asarray(r.returns()), np.asarray(r.valid.sum(-1))
      episodes[name] = r
    else:
      planner, beta = planner_for(planners, name)
      if id(planner) not in evaluators:  # sgp and beta0 share one compile
        evaluators[id(planner)] = evaluation.make_mpc_evaluator(
            env, planner, e.episodes_per_seed, warm_start=config.plan.warm_start,
            num_model_sets=num_seeds)
      eps = evaluators[id(planner)](models, key, beta)
      returns, lengths = np.asarray(eps.returns()), np.asarray(eps.lengths())
      episodes[name] = eps
    out[name] = _method_summary(returns, lengths, metadata, num_seeds, e.num_steps,
                                time.time() - start)
    if name != "bc":
      out[name]["beta"] = float(planner_for(planners, name)[1])
    s = out[name]["score"]
    log(f"  {level} {name:>20}: {s['mean']:7.1f} +- {s['std']:5.1f}  "
        f"({time.time() - start:.0f} s)")
  return out, episodes


def diagnose(config, m: dict, params: dict, env, level: str) -> dict:
  """Model error along the first plans: predicted vs true open-loop states and rewards.

  One episode of config.eval.diagnose_steps MPC steps per method in ("sgp", "beta0"),
  with the models of the first training seed (`params` is one seed's dict);
  at every step the plan's actions are also rolled out on the true env from the
  same state (averages over the steps taken, if the episode ends early). Errors are
  in normalised state units (x / data range).
  """
  steps = config.eval.diagnose_steps
  planner, _ = make_planners(config, m, level)["sgp"]
  models = {k: params[k] for k in PLANNED_MODELS}
  short_env = envs.make_env(env.name, env.backend, episode_length=steps)
  evaluate = evaluation.make_mpc_evaluator(short_env, planner, 1, warm_start=True,
                                           record_plans=True)
  scale = np.asarray(m["dynamics"].x_normalizer.scale)
  out = {}
  for name, beta in (("sgp", config.plan.betas[level]), ("beta0", 0.0)):
    eps = jax.device_get(evaluate(models, jax.random.PRNGKey(config.eval.seed), beta))
    valid = np.asarray(eps.valid[0])                           # steps before a fall
    pred, true = eps.plan_states[0][valid], eps.plan_true_states[0][valid]  # (n, T+1, dx)
    err = np.linalg.norm((pred - true) / scale, axis=-1)       # (n, T+1)
    pred_return = -eps.plan_costs[0][valid]                    # (n,) r_hat along plan
    true_return = eps.plan_true_rewards[0][valid].sum(-1)      # (n,)
    out[name] = {"beta": float(beta),
                 "state_error_by_horizon": err.mean(0).tolist(),
                 "predicted_plan_return": float(pred_return.mean()),
                 "true_plan_return": float(true_return.mean()),
                 "plan_states_first": pred[:3].tolist(),
                 "true_states_first": true[:3].tolist()}
  return out


def diagnose_episodes(config, m: dict, params: list, env, data, metadata: dict, level: str,
                      method: str, window: int = 20) -> tuple[dict, dict]:
  """Why episodes fail: model error and distance to data at every step of `method`'s
  benchmark episodes.

  Re-runs the S x E episodes of `evaluate_methods` (same keys and model sets, so the
  same episodes) with `record_plans`, and measures at every step t:
    plan_error[t]      ||x_hat_T - x_T|| / data range: the state error at the end of
                       the plan (h = T) against the true env's rollout of its actions;
    data_distance[t]   nearest distance of the executed (x_t, u_t) to the data's (x, u),
                       both normalised by the score model's normaliser.
  For scale, `in_data_distance` is the median nearest distance of 512 data points to
  the rest of the data. Returns (summary, series): per episode its score, length,
  whether it ended early (fell), and both measures' means over the whole episode and
  over its last `window` steps; series holds the (S*E, N) arrays (NaN after an
  episode's end), `valid` and the normalised executed (x_t, u_t) (S*E, N, dim_x + dim_u).
  """
  e = config.eval
  planner, beta = planner_for(make_planners(config, m, level), method)
  models = evaluation.stack_models([{k: p[k] for k in PLANNED_MODELS} for p in params])
  evaluate = evaluation.make_mpc_evaluator(
      env, planner, e.episodes_per_seed, warm_start=config.plan.warm_start,
      record_plans=True, num_model_sets=len(params))
  eps = jax.device_get(evaluate(models, jax.random.PRNGKey(e.seed), beta))
  scale = np.asarray(m["dynamics"].x_normalizer.scale)
  plan_error = np.linalg.norm((eps.plan_states[:, :, -1] - eps.plan_true_states[:, :, -1])
                              / scale, axis=-1)                         # (P, N)
  norm = m["score"].normalizer.normalize
  data_z = np.asarray(norm(data.xu()))
  executed = np.asarray(norm(jnp.concatenate([eps.observations, eps.actions], -1)))
  data_distance = _nearest_distance(executed, data_z)
  rng = np.random.default_rng(0)
  probe = rng.choice(len(data_z), size=min(512, len(data_z) // 2), replace=False)
  in_data = float(np.median(_nearest_distance(data_z[probe],
                                              np.delete(data_z, probe, axis=0))))
  valid = np.asarray(eps.valid)
  plan_error = np.where(valid, plan_error, np.nan)  # no step after an episode's end
  data_distance = np.where(valid, data_distance, np.nan)
  lengths = valid.sum(-1)
  scores = evaluation.normalized_scores(np.asarray(eps.returns()), metadata)
  episodes = []
  for i, n in enumerate(lengths):
    last = slice(max(0, n - window), n)
    episodes.append({
        "seed": i // e.episodes_per_seed, "score": float(scores[i]), "length": int(n),
        "fell": bool(n < valid.shape[1]),
        "plan_error_mean": float(plan_error[i, :n].mean()),
        "plan_error_last": float(plan_error[i, last].mean()),
        "data_distance_mean": float(data_distance[i, :n].mean()),
        "data_distance_last": float(data_distance[i, last].mean())})
  summary = {"method": method, "beta": float(beta), "window": window,
             "in_data_distance": in_data, "episodes": episodes}
  series = {"plan_error": plan_error, "data_distance": data_distance, "valid": valid,
            "executed": executed}
  return summary, series


def _nearest_distance(z: np.ndarray, data: np.ndarray, chunk: int = 1024) -> np.ndarray:
  """`distance.nearest_distance` of z (..., d) to data (N, d), in query chunks of
  `chunk` (bounded memory, one compile)."""
  flat = z.reshape(-1, z.shape[-1])
  padded = np.pad(flat, ((0, -len(flat) % chunk), (0, 0)))
  nearest = jax.jit(distance.nearest_distance)
  data = jnp.asarray(data)
  out = np.concatenate([np.asarray(nearest(jnp.asarray(padded[i:i + chunk]), data))
                        for i in range(0, len(padded), chunk)])
  return out[:len(flat)].reshape(z.shape[:-1])


def plot_episode_diagnosis(summary: dict, series: dict, path: str) -> str:
  """Plan error and distance to data against time, one line per episode (falls in red)."""
  plt = common.pyplot()
  fig, axes = plt.subplots(2, 1, figsize=(11, 7), sharex=True)
  for key, ax, label in (("plan_error", axes[0], "plan error at h = T (normalised)"),
                         ("data_distance", axes[1], "distance of (x_t, u_t) to data")):
    for i, ep in enumerate(summary["episodes"]):
      n = ep["length"]
      color = "C3" if ep["fell"] else "C0"
      ax.plot(np.arange(n), series[key][i, :n], color=color, alpha=0.5, lw=0.8)
      if ep["fell"]:
        ax.plot(n - 1, series[key][i, n - 1], "x", color="C3")
    ax.set_ylabel(label)
    ax.set_yscale("log")
  axes[1].axhline(summary["in_data_distance"], color="k", ls="--",
                  label="median data-to-data distance")
  axes[1].legend(loc="upper right")
  axes[1].set_xlabel("env step t")
  fell = sum(ep["fell"] for ep in summary["episodes"])
  axes[0].set_title(f"{summary['method']} (β={summary['beta']:g}): "
                    f"{fell} of {len(summary['episodes'])} episodes ended early (red)")
  common.save_figure(fig, path, dpi=100)
  return path


def render(env, config, actions, path: str) -> str:
  """brax HTML viewer of episode 0 (re-run from its reset key with its actions)."""
  from brax.io import html
  keys_reset, _ = evaluation.episode_keys(jax.random.PRNGKey(config.eval.seed),
                                          config.eval.num_seeds * config.eval.episodes_per_seed)
  states = [s.pipeline_state for s in evaluation.replay(env, keys_reset[0], actions)]
  if not distributed.is_primary():
    return path
  with open(path, "w") as f:
    f.write(html.render(env.brax_env.sys.tree_replace({"opt.timestep": env.brax_env.dt}),
                        states))
  return path


# Observation index of the forward (x) velocity in brax's locomotion observations
# (qpos without the root x (and y for ant), then qvel).
FORWARD_VELOCITY_INDEX = {"halfcheetah": 8, "hopper": 5, "walker2d": 8, "ant": 13}


def plot_diagnostics(diag: dict, path: str, env_name: str = "halfcheetah") -> str:
  plt = common.pyplot()
  fig, axes = plt.subplots(1, 3, figsize=(14, 4))
  for name, d in diag.items():
    axes[0].plot(d["state_error_by_horizon"], "o-", label=f"{name} (β={d['beta']:g})")
  axes[0].set_xlabel("plan step h"); axes[0].set_ylabel("||x̂_h - x_h|| (normalised)")
  axes[0].set_title("model error along the plans"); axes[0].legend()
  for ax, name in zip(axes[1:], diag):
    pred, true = np.asarray(diag[name]["plan_states_first"]), np.asarray(
        diag[name]["true_states_first"])
    for j, dim in enumerate((0, FORWARD_VELOCITY_INDEX.get(env_name, 0))):
      ax.plot(pred[0, :, dim], "-", color=f"C{j}", label=f"plan x[{dim}]")
      ax.plot(true[0, :, dim], "--", color=f"C{j}", label=f"true x[{dim}]")
    ax.set_title(f"{name}: first plan, predicted (-) vs true (--)")
    ax.set_xlabel("plan step h"); ax.legend(fontsize=8)
  common.save_figure(fig, path, dpi=100)
  return path


def run(config, workdir: str, progress: Optional[Callable] = None,
        log: Callable = print) -> dict:
  """The whole benchmark; writes models/, summary.json, diagnostics and a render."""
  common.check_nonempty(config, "levels", "methods", "eval.num_seeds",
                        "eval.episodes_per_seed")
  check_methods(config.methods)
  for level in config.levels:  # every level's data exists before any training
    level_path(config, level)
  common.make_workdir(workdir)
  t0 = time.time()
  summary = {"levels": {}, "protocol": {
      "num_steps": config.eval.num_steps,
      "standard_protocol": bool(config.eval.num_steps == 1000),
      "terminate_when_unhealthy": True}}
  for level in config.levels:
    ds, data = load_level(config, level)
    level_dir = os.path.join(workdir, level)
    m, params, train_metrics = train_seeds(config, data, level_dir, progress)
    env = make_env(config, ds.metadata)
    results, episodes = evaluate_methods(config, m, params, env, ds.metadata, level, log)
    entry = {"data": {k: ds.metadata.get(k) for k in (
        "env", "level", "backend", "ref_min_score", "ref_max_score")},
        "num_transitions": ds.num, "training": train_metrics, "methods": results}
    if config.eval.diagnose_steps > 0 and "score" in models_needed(config.methods):
      entry["diagnostics"] = diagnose(config, m, params[0], env, level)
      entry["diagnostics_plot"] = plot_diagnostics(
          entry["diagnostics"], os.path.join(workdir, f"{level}_plan_vs_true.png"),
          env.name)
    for method in config.eval.get("diagnose_episodes", ()):
      diag, series = diagnose_episodes(config, m, params, env, data, ds.metadata, level,
                                       method)
      diag["plot"] = plot_episode_diagnosis(
          diag, series, os.path.join(workdir, f"{level}_{method}_episodes.png"))
      entry.setdefault("episode_diagnostics", {})[method] = diag
    if config.eval.render and "sgp" in episodes:
      entry["render"] = render(env, config, episodes["sgp"].actions[0],
                               os.path.join(workdir, f"{level}_sgp_episode.html"))
    summary["levels"][level] = entry
    common.write_summary(workdir, {**summary, "total_seconds": time.time() - t0}, config)
  summary["total_seconds"] = time.time() - t0
  common.write_summary(workdir, summary, config)
  return summary


def format_summary(summary: dict) -> str:
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
    for name, d in entry.get("diagnostics", {}).items():
      lines.append(f"  diag {name}: plan return predicted {d['predicted_plan_return']:.2f}"
                   f" true {d['true_plan_return']:.2f}; state error at h=T "
                   f"{d['state_error_by_horizon'][-1]:.3f}")
  lines.append(f"total {summary['total_seconds']:.0f} s")
  return "\n".join(lines)
