"""Cart-pole swing-up with SGP, end to end (SPEC B.6, E.4).

data -> dynamics and xu-score training -> single-shooting plans for several beta
(one vmapped solve) -> open-loop execution on the true cart-pole -> JSON summary
and phase-portrait plots. `run(config, workdir)` is what the launcher and the
notebook call.
"""
from __future__ import annotations

import dataclasses
import os
import time
from typing import Callable, Optional

import jax
import jax.numpy as jnp
import numpy as np

from experiments import launcher
import sgp_jax
from sgp_jax import score as score_lib
from sgp_jax import training
from sgp_jax.normalization import Normalizer
from sgp_jax import planning
from sgp_jax.systems import cartpole
from sgp_jax import models

UPRIGHT_TOL = {"theta": 0.2, "p": 0.5}  # SPEC E.4 (ours)


def build_models(config, data):
  params = cartpole.CartPoleParams()
  x_norm = Normalizer.from_box(params.x_low, params.x_high)
  u_norm = Normalizer.from_scale(params.u_max, 0.0, dim=1)
  dyn = models.make_dynamics_model(x_norm, u_norm, config.dynamics.hidden,
                                   config.dynamics.activation)
  score = models.make_score_model("xu", x_norm, u_norm, [config.score.sigma],
                                  config.score.hidden, config.score.activation)
  return dyn, score


def train_models(config, data, workdir: str, progress: Optional[Callable] = None):
  """Trains (or resumes) the dynamics and the score; returns (models, params, metrics).

  Checkpoints: workdir/models/{dynamics,score} (`sgp_jax.models.load`); training
  states in workdir/train_state/{dynamics,score}, recorded under the model's config.
  """
  dyn, score = build_models(config, data)
  key_dyn, key_score = jax.random.split(jax.random.PRNGKey(config.seed))
  jobs = {
      "dynamics": (dyn, lambda p, b, k: models.one_step_loss(dyn, p, *b),
                   (data.x, data.u, data.x_next), key_dyn, config.dynamics),
      "score": (score, lambda p, b, k: score_lib.dsm_loss(score, p, b, k),
                data.xu()[:config.score.max_points], key_score, config.score),
  }
  out, metrics = {}, {}
  for name, (model, loss_fn, arrays, key, c) in jobs.items():
    train_config = dataclasses.replace(training.TrainConfig.from_section(c, config.seed),
                                       epochs_per_call=max(1, min(10, c.epochs)))
    out[name], metrics[name] = models.train_model(
        name, loss_fn, model.init(key), arrays, train_config, workdir, progress,
        model=model, run_config=model.to_config())
  return (dyn, score), out, metrics


def make_problem(dyn, score) -> planning.ControlProblem:
  """Learned cart-pole problem; `models` is {"dynamics": params, "score": params}."""
  params = cartpole.CartPoleParams()
  return planning.ControlProblem(
      dim_x=cartpole.DIM_X, dim_u=cartpole.DIM_U,
      dynamics=lambda m, x, u: dyn(m["dynamics"], x, u),
      terminal_cost=lambda m, x: cartpole.terminal_cost(x, params),
      score=lambda m, z, level: score.score(m["score"], z, level),
      num_levels=score.num_levels)


def plan_and_evaluate(config, dyn, score, params):
  """Plans for every (beta, seed) pair in one vmapped solve; runs each plan on the true plant."""
  c = config.plan
  problem = make_problem(dyn, score)
  planner = planning.make_single_shooting(problem, planning.GradientPlannerConfig(
      horizon=c.horizon, num_iters=c.num_iters, learning_rate=c.learning_rate,
      init_std=c.init_std, record_history=False))
  betas = jnp.repeat(jnp.asarray(c.betas, jnp.float32), c.num_seeds)
  batch = betas.shape[0]
  x0s = jnp.zeros((batch, cartpole.DIM_X))
  keys = jax.random.split(jax.random.PRNGKey(config.seed + 1), batch)
  start = time.time()
  result = planning.solve_sharded(planner, params, x0s, keys, betas)
  jax.block_until_ready(result.actions)
  plan_seconds = time.time() - start
  true_states = jax.vmap(cartpole.rollout)(x0s, result.actions)
  return result, np.asarray(true_states), plan_seconds


def _evaluate_plan(actions, pred, true) -> dict:
  params = cartpole.CartPoleParams()
  xT = true[-1]
  return {
      "actions": actions[:, 0].tolist(),
      "predicted_states": pred.tolist(),
      "true_states": true.tolist(),
      "planned_terminal_cost": float(cartpole.terminal_cost(jnp.asarray(pred[-1]), params)),
      "true_terminal_cost": float(cartpole.terminal_cost(jnp.asarray(xT), params)),
      "true_terminal_error": {"p": float(xT[0]), "theta_minus_pi": float(xT[1] - np.pi),
                              "p_dot": float(xT[2]), "theta_dot": float(xT[3])},
      "predicted_terminal_error": {"p": float(pred[-1, 0]),
                                   "theta_minus_pi": float(pred[-1, 1] - np.pi)},
      "true_reaches_upright": bool(abs(xT[1] - np.pi) < UPRIGHT_TOL["theta"]
                                   and abs(xT[0]) < UPRIGHT_TOL["p"]),
      "plan_reaches_upright": bool(abs(pred[-1, 1] - np.pi) < UPRIGHT_TOL["theta"]
                                   and abs(pred[-1, 0]) < UPRIGHT_TOL["p"]),
      "max_plan_true_gap": float(np.max(np.abs(pred - true))),
      "max_true_outside_box": float(np.max(cartpole.box_violation(jnp.asarray(true)))),
      "max_abs_action": float(np.max(np.abs(actions))),
      "action_outside_data": float(max(0.0, np.max(np.abs(actions)) - params.u_max)),
  }


def summarize(config, result, true_states) -> dict:
  """Per beta: every seed's plan and true rollout, and the aggregates over seeds."""
  n = config.plan.num_seeds
  per_beta = []
  for i, beta in enumerate(config.plan.betas):
    seeds = [_evaluate_plan(np.asarray(result.actions[j]), np.asarray(result.states[j]),
                            true_states[j]) for j in range(i * n, (i + 1) * n)]
    theta_err = np.array([abs(r["true_terminal_error"]["theta_minus_pi"]) for r in seeds])
    p_err = np.array([abs(r["true_terminal_error"]["p"]) for r in seeds])
    gap = np.array([r["max_plan_true_gap"] for r in seeds])
    per_beta.append({
        "beta": float(beta),
        "num_seeds": n,
        "true_upright_fraction": float(np.mean([r["true_reaches_upright"] for r in seeds])),
        "plan_upright_fraction": float(np.mean([r["plan_reaches_upright"] for r in seeds])),
        "true_abs_theta_error_mean": float(theta_err.mean()),
        "true_abs_theta_error_std": float(theta_err.std()),
        "true_abs_p_error_mean": float(p_err.mean()),
        "max_plan_true_gap_mean": float(gap.mean()),
        "max_abs_action_max": float(max(r["max_abs_action"] for r in seeds)),
        "seeds": seeds,
    })
  return {"per_beta": per_beta}


def plot(summary: dict, path: str) -> str:
  """Phase portraits (p, theta), (p_dot, theta_dot) and the actions u(t): plan vs true
  rollout against the data box (actions against the data's action range)."""
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  from matplotlib.patches import Rectangle
  params = cartpole.CartPoleParams()
  rows = summary["per_beta"]
  fig, axes = plt.subplots(3, len(rows), figsize=(4 * len(rows), 10.5), squeeze=False)
  for j, row in enumerate(rows):
    first = row["seeds"][0]
    pred, true = np.asarray(first["predicted_states"]), np.asarray(first["true_states"])
    for i, (a, b, names) in enumerate([(0, 1, ("p", "θ")), (2, 3, ("ṗ", "θ̇"))]):
      ax = axes[i, j]
      lo, hi = params.x_low, params.x_high
      ax.add_patch(Rectangle((lo[a], lo[b]), hi[a] - lo[a], hi[b] - lo[b], fill=True,
                             alpha=0.12, color="gray", label="data box"))
      ax.plot(pred[:, a], pred[:, b], "-", color="tab:blue", label="plan (learned model)")
      ax.plot(true[:, a], true[:, b], "--", color="tab:red", label="true rollout")
      if i == 0:
        ax.plot([0], [np.pi], "k*", ms=12, label="goal")
        ax.set_title(f"β = {row['beta']:g}  (seed 0: true |θ_T−π| = "
                     f"{abs(first['true_terminal_error']['theta_minus_pi']):.2f})", fontsize=10)
      ax.set_xlabel(names[0]); ax.set_ylabel(names[1])
      ax.autoscale_view()
    ax = axes[2, j]
    t = np.arange(len(first["actions"])) * params.dt
    ax.axhspan(-params.u_max, params.u_max, color="gray", alpha=0.12, label="data range")
    ax.plot(t, first["actions"], color="tab:blue", label="planned u")
    ax.set_xlabel("t [s]"); ax.set_ylabel("u [N]")
  axes[0, 0].legend(loc="lower left", fontsize=8)
  axes[2, 0].legend(loc="lower left", fontsize=8)
  launcher.save_figure(fig, path, dpi=110)
  return path


def run(config, workdir: str, progress: Optional[Callable] = None) -> dict:
  """The whole experiment; writes models/, summary.json and phase_portraits.png."""
  launcher.check_nonempty(config, "plan.betas", "plan.num_seeds")
  launcher.make_workdir(workdir)
  t0 = time.time()
  data = cartpole.make_dataset(jax.random.PRNGKey(config.seed), config.num_candidates)
  sgp_jax.validate_transitions(data, "cartpole data")
  (dyn, score), params, train_metrics = train_models(config, data, workdir, progress)
  result, true_states, plan_seconds = plan_and_evaluate(config, dyn, score, params)
  summary = summarize(config, result, true_states)
  summary.update({
      "config": config.to_dict(),
      "num_transitions": data.num,
      "training": train_metrics,
      "plan_seconds_including_compile": plan_seconds,
      "total_seconds": time.time() - t0,
      "versions": launcher.versions(),
  })
  launcher.write_summary(workdir, summary, config)
  summary["plot"] = plot(summary, os.path.join(workdir, "phase_portraits.png"))
  return summary


def format_summary(summary: dict) -> str:
  """A short table of the per-beta results (aggregated over plan seeds)."""
  lines = [f"{'beta':>8} {'true upright':>12} {'plan upright':>12} {'|θ_T-π| true':>13} "
           f"{'|p_T| true':>10} {'plan/true gap':>13} {'max|u|':>7}"]
  for r in summary["per_beta"]:
    lines.append(
        f"{r['beta']:>8g} {r['true_upright_fraction']:>12.2f} {r['plan_upright_fraction']:>12.2f} "
        f"{r['true_abs_theta_error_mean']:>7.3f}±{r['true_abs_theta_error_std']:<5.3f} "
        f"{r['true_abs_p_error_mean']:>10.3f} {r['max_plan_true_gap_mean']:>13.3f} "
        f"{r['max_abs_action_max']:>7.1f}")
  lines.append(f"(data actions lie in ±{cartpole.CartPoleParams().u_max:g}; "
               f"upright = |θ_T-π| < {UPRIGHT_TOL['theta']} and |p_T| < {UPRIGHT_TOL['p']})")
  lines.append(f"total {summary['total_seconds']:.0f} s; plot: {summary.get('plot')}")
  return "\n".join(lines)
