"""Cart-pole swing-up: SGP against its baselines at equal model-evaluation budgets
(SPEC B.6, E.5, E.6).

Models: the dynamics model and the xu score of a finished cart-pole run
(`experiments.cartpole_swingup`, loaded from source_workdir/models), or trained
here with `cartpole_swingup.pipeline.train_models`; plus an ensemble of K
dynamics models and a data-distance estimator (DDE) of the softmin energy with
the cart-pole metric 2 / (box width), trained here.

Methods (all plan from x0 = 0 with the terminal cost of SPEC B.6, T = 60):
  shooting_beta0     gradient single shooting on the learned model, beta = 0
  sgp                SGP single shooting with the xu score, beta = sgp_beta
  ensemble_gradient  gradient shooting on mean_k J_k + beta Var_k J_k (A.9.2)
  cem_ensemble       CEM (elite refit of mean and std) on the same ensemble loss
  cem_dde            CEM on cost + beta sum_t DDE(x_t, u_t)
  mppi_dde           MPPI on the same loss
Budget: each plan evaluates `budget` action sequences (gradient planners: one
per iteration; sampling planners: num_samples per iteration); with an ensemble
every evaluation rolls all K members. The TRUE terminal cost and errors of each
plan's open-loop rollout on the real cart-pole are reported, mean ± std over
num_seeds plan seeds.
"""
from __future__ import annotations

import os
import time
from typing import Callable, Optional

import jax
import jax.numpy as jnp
import numpy as np

from experiments import launcher
from experiments.cartpole_swingup import pipeline as cartpole_pipeline
from experiments.cartpole_swingup.configs import default as cartpole_default
from sgp_jax import models as models_lib
from sgp_jax.normalization import Normalizer
from sgp_jax import planning
from sgp_jax.systems import cartpole
from sgp_jax.training import TrainConfig
from sgp_jax import models
from sgp_jax import training

PARAMS = cartpole.CartPoleParams()
GRADIENT = ("shooting_beta0", "sgp", "ensemble_gradient")


def source_models(config) -> str:
  """`<source_workdir>/models`, checked to hold dynamics/ and score/; "" when
  source_workdir is "" (the models are trained here).

  Raises:
    FileNotFoundError: source_workdir is set but lacks the models; the message says
      which command makes them.
  """
  if not config.source_workdir:
    return ""
  src = os.path.join(config.source_workdir, "models")
  missing = [name for name in ("dynamics", "score")
             if not os.path.isdir(os.path.join(src, name))]
  if missing:
    raise FileNotFoundError(
        f"--config.source_workdir={config.source_workdir} has no models/"
        f"{' or models/'.join(missing)}; make them with `python -m "
        f"experiments.cartpole_swingup.main --workdir={config.source_workdir}`, or pass "
        "--config.source_workdir='' to train small models here.")
  return src


def load_or_train_models(config, data, workdir: str, progress=None):
  """(dyn, score, params, info): from `source_models(config)`, else trained here."""
  src = source_models(config)
  if src:
    dyn, dyn_params = models.load(os.path.join(src, "dynamics"))
    score, score_params = models.load(os.path.join(src, "score"))
    return dyn, score, {"dynamics": dyn_params, "score": score_params}, {"source": src}
  cp = cartpole_default.get_config()
  cp.seed = config.seed
  cp.num_candidates = config.cartpole.num_candidates
  cp.dynamics.epochs = config.cartpole.dynamics_epochs
  cp.score.epochs = config.cartpole.score_epochs
  cp.score.max_points = config.cartpole.score_max_points
  (dyn, score), params, metrics = cartpole_pipeline.train_models(cp, data, workdir, progress)
  return dyn, score, params, {"source": "trained here", "training": metrics}


def train_baselines(config, data, workdir: str, progress=None):
  """The dynamics ensemble and the DDE; returns (ensemble, dde, params, metrics)."""
  e = config.ensemble
  x_norm = Normalizer.from_box(PARAMS.x_low, PARAMS.x_high)
  u_norm = Normalizer.from_scale(PARAMS.u_max, 0.0, dim=1)
  ens = models.make_dynamics_ensemble(x_norm, u_norm, e.hidden, e.num_members,
                                      e.activation)
  key_ens, key_dde = jax.random.split(jax.random.PRNGKey(config.seed + 10))
  ens_params, ens_metrics = models_lib.train_model(
      "ensemble", lambda p, b, k: models.ensemble_loss(ens, p, *b),
      ens.init(key_ens), (data.x, data.u, data.x_next),
      TrainConfig.from_section(e, config.seed), workdir, progress)
  d = config.dde
  low = np.concatenate([PARAMS.x_low, [-PARAMS.u_max]]).astype(np.float32)
  high = np.concatenate([PARAMS.x_high, [PARAMS.u_max]]).astype(np.float32)
  start = time.time()
  dde, dde_params, dde_result = models.fit_data_distance(
      data.xu()[:d.max_points], low, high, 2.0 / (high - low), d.hidden, d.activation,
      d.num_points, training.TrainConfig.from_section(d, config.seed), key_dde,
      workdir=os.path.join(workdir, "train_state", "dde"),
      progress_fn=(lambda ep, m: progress("dde", ep, m)) if progress else None)
  metrics = {"ensemble": ens_metrics,
             "dde": {"best_val_loss": float(dde_result.state.best_val),
                     "seconds": time.time() - start}}
  return ens, dde, {"ensemble": ens_params, "dde": dde_params}, metrics


def make_planner(name: str, config, problem, ens, dde):
  """The planner of method `name` and its beta, at the configured budget."""
  c, s = config, config.sampling
  grad_cfg = planning.GradientPlannerConfig(
      horizon=c.horizon, num_iters=c.budget, learning_rate=c.learning_rate,
      init_std=c.init_std, record_history=False)
  samp_cfg = planning.SamplingPlannerConfig(
      horizon=c.horizon, num_iters=max(1, c.budget // s.num_samples),
      init_std=c.init_std, record_history=False, num_samples=s.num_samples,
      num_elites=s.num_elites, sample_std=s.sample_std, min_std=s.min_std,
      smoothing=s.smoothing, temperature=s.temperature)
  ens_loss = planning.ensemble_variance_loss(problem, ens, lambda m: m["ensemble"])
  dde_loss = planning.penalized_loss(
      problem, planning.dde_penalty(dde, lambda m: m["dde"]))
  no_score = problem._replace(score=None)
  if name == "shooting_beta0":
    return planning.make_single_shooting(no_score, grad_cfg), 0.0
  if name == "sgp":
    return planning.make_single_shooting(problem, grad_cfg), c.sgp_beta
  if name == "ensemble_gradient":
    return planning.make_loss_shooting(no_score, ens_loss, grad_cfg), c.ensemble_beta
  if name == "cem_ensemble":
    return planning.make_cem(no_score, ens_loss, samp_cfg), c.ensemble_beta
  if name == "cem_dde":
    return planning.make_cem(no_score, dde_loss, samp_cfg), c.dde_beta
  if name == "mppi_dde":
    return planning.make_mppi(no_score, dde_loss, samp_cfg), c.dde_beta
  raise ValueError(f"unknown method {name!r}; choose from shooting_beta0, sgp, "
                   "ensemble_gradient, cem_ensemble, cem_dde, mppi_dde.")


def evaluate(actions, pred) -> dict:
  """True open-loop rollout of actions (T, 1) from 0; pred: the plan's states."""
  true = cartpole.rollout(jnp.zeros(cartpole.DIM_X), actions)
  xT = np.asarray(true[-1])
  return {"true_terminal_cost": float(cartpole.terminal_cost(true[-1], PARAMS)),
          "planned_terminal_cost": float(cartpole.terminal_cost(pred[-1], PARAMS)),
          "true_abs_theta_error": float(abs(xT[1] - np.pi)),
          "true_abs_p_error": float(abs(xT[0])),
          "true_upright": bool(abs(xT[1] - np.pi) < cartpole_pipeline.UPRIGHT_TOL["theta"]
                               and abs(xT[0]) < cartpole_pipeline.UPRIGHT_TOL["p"]),
          "max_abs_action": float(jnp.max(jnp.abs(actions))),
          "max_true_outside_box": float(jnp.max(cartpole.box_violation(true))),
          "true_theta": np.asarray(true[:, 1]).tolist(),
          "actions": np.asarray(actions[:, 0]).tolist()}


def run_methods(config, problem, ens, dde, params) -> list:
  rows = []
  n = config.num_seeds
  x0s = jnp.zeros((n, cartpole.DIM_X))
  keys = jax.random.split(jax.random.PRNGKey(config.seed + 1), n)
  for name in config.methods:
    planner, beta = make_planner(name, config, problem, ens, dde)
    start = time.time()
    res = planning.solve_batch(planner, params, x0s, keys, jnp.full((n,), beta, jnp.float32))
    jax.block_until_ready(res.actions)
    seconds = time.time() - start
    seeds = [evaluate(res.actions[i], res.states[i]) for i in range(n)]
    cost = np.array([s["true_terminal_cost"] for s in seeds])
    theta = np.array([s["true_abs_theta_error"] for s in seeds])
    members = ens.num_members if "ensemble" in name else 1
    iters = planner.config.num_iters
    samples = 1 if name in GRADIENT else config.sampling.num_samples
    rows.append({
        "method": name, "beta": float(beta), "num_iters": iters,
        "trajectory_evaluations": iters * samples,
        "dynamics_calls_per_plan": iters * samples * members * config.horizon,
        "true_terminal_cost_mean": float(cost.mean()),
        "true_terminal_cost_std": float(cost.std()),
        "true_abs_theta_error_mean": float(theta.mean()),
        "true_abs_theta_error_std": float(theta.std()),
        "true_upright_fraction": float(np.mean([s["true_upright"] for s in seeds])),
        "planned_terminal_cost_mean": float(np.mean(
            [s["planned_terminal_cost"] for s in seeds])),
        "max_abs_action_max": float(max(s["max_abs_action"] for s in seeds)),
        "seconds_incl_compile": seconds, "seeds": seeds})
  return rows


def plot(rows, path: str) -> str:
  plt = launcher.pyplot()
  fig, axes = plt.subplots(1, 2, figsize=(14, 5))
  names = [r["method"] for r in rows]
  mean = [r["true_terminal_cost_mean"] for r in rows]
  std = [r["true_terminal_cost_std"] for r in rows]
  axes[0].bar(names, mean, yerr=std, color="tab:blue", alpha=0.7, capsize=4)
  axes[0].set_yscale("log"); axes[0].set_ylabel("true terminal cost (mean ± std)")
  axes[0].tick_params(axis="x", rotation=30)
  axes[0].set_title(f"equal budget: {rows[0]['trajectory_evaluations']} trajectory "
                    "evaluations per plan")
  t = np.arange(len(rows[0]["seeds"][0]["true_theta"])) * PARAMS.dt
  for k, r in enumerate(rows):
    for j, s in enumerate(r["seeds"]):
      axes[1].plot(t, s["true_theta"], color=f"C{k}", alpha=0.6,
                   label=r["method"] if j == 0 else None)
  axes[1].axhline(np.pi, color="k", ls=":"); axes[1].set_xlabel("t [s]")
  axes[1].set_ylabel("true θ"); axes[1].legend(fontsize=8)
  axes[1].set_title("true rollouts of each plan (all seeds)")
  launcher.save_figure(fig, path, dpi=100)
  return path


def run(config, workdir: str, progress: Optional[Callable] = None) -> dict:
  """Models, baselines, every method; writes summary.json and comparison.png."""
  launcher.check_nonempty(config, "num_seeds", "methods", "budget")
  source_models(config)
  launcher.make_workdir(workdir)
  t0 = time.time()
  data = cartpole.make_dataset(jax.random.PRNGKey(config.seed),
                               config.cartpole.num_candidates)
  dyn, score, params, source = load_or_train_models(config, data, workdir, progress)
  ens, dde, base_params, train_metrics = train_baselines(config, data, workdir, progress)
  problem = cartpole_pipeline.make_problem(dyn, score)
  t1 = time.time()
  rows = run_methods(config, problem, ens, dde, {**params, **base_params})
  summary = {"models": source, "num_transitions": data.num, "per_method": rows,
             "training": train_metrics,
             "seconds": {"plans": time.time() - t1, "total": time.time() - t0}}
  launcher.write_summary(workdir, summary, config)
  summary["plot"] = plot(rows, os.path.join(workdir, "comparison.png"))
  return summary


def format_summary(summary: dict) -> str:
  lines = [f"{'method':>18} {'beta':>5} {'iters':>6} {'true cost':>16} {'|θ_T-π|':>14} "
           f"{'upright':>7} {'plan cost':>9} {'max|u|':>7} {'s':>6}"]
  for r in summary["per_method"]:
    lines.append(
        f"{r['method']:>18} {r['beta']:>5g} {r['num_iters']:>6} "
        f"{r['true_terminal_cost_mean']:>8.3f}±{r['true_terminal_cost_std']:<7.3f} "
        f"{r['true_abs_theta_error_mean']:>6.3f}±{r['true_abs_theta_error_std']:<7.3f} "
        f"{r['true_upright_fraction']:>7.2f} {r['planned_terminal_cost_mean']:>9.3f} "
        f"{r['max_abs_action_max']:>7.1f} {r['seconds_incl_compile']:>6.0f}")
  first = summary["per_method"][0]
  lines.append(f"(mean ± std over {len(first['seeds'])} seeds; "
               f"{first['trajectory_evaluations']} trajectory evaluations per plan; "
               f"models: {summary['models']['source']})")
  lines.append(f"total {summary['seconds']['total']:.0f} s; plot: {summary.get('plot')}")
  return "\n".join(lines)
