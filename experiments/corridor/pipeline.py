"""The L-shaped corridor: the score keeps an open-loop plan inside the data (SPEC B.5).

The 2D single integrator x' = x + 0.1 clip(u, -1, 1) with data only in an
L-shaped corridor of width 0.2. A residual dynamics MLP and an (x, u) score are
learned from the data; SGP single shooting (actions projected onto [-1, 1]) plans
from (0, 1) to (1, 0) with cost
  sum_t path_weight ||f_hat(x_t, u_t) - x_t|| + action_weight ||u_t||^2
  + terminal_weight ||x_T - goal||^2,
for each beta in plan.betas and plan.num_seeds random initial action sequences,
in one batched solve. Every plan is then rolled out on the TRUE integrator:
reported is the fraction of its states outside the corridor, the largest
distance outside, and the terminal error.
"""
from __future__ import annotations

import os
import time
from typing import Callable, Optional

import jax
import jax.numpy as jnp
import numpy as np

from experiments import launcher
from sgp_jax.models import train_model
from sgp_jax import score as score_lib
from sgp_jax.normalization import Normalizer
from sgp_jax import planning
from sgp_jax.systems import corridor
from sgp_jax.training import TrainConfig
from sgp_jax import models

PARAMS = corridor.CorridorParams()


def build_models(config, data):
  x_norm, u_norm = Normalizer.from_data(data.x), Normalizer.from_data(data.u)
  dyn = models.make_dynamics_model(x_norm, u_norm, config.dynamics.hidden,
                                   config.dynamics.activation)
  score = models.make_score_model("xu", x_norm, u_norm, [config.score.sigma],
                                  config.score.hidden, config.score.activation)
  return dyn, score


def make_problem(config, dyn, score) -> planning.ControlProblem:
  """`models` is {"dynamics": params, "score": params}."""
  c = config.plan
  goal = jnp.asarray(PARAMS.goal)

  def running_cost(m, x, u, t):
    step = dyn(m["dynamics"], x, u) - x
    return (c.path_weight * jnp.sqrt(jnp.sum(step ** 2) + 1e-8)
            + c.action_weight * jnp.sum(u ** 2))
  return planning.ControlProblem(
      dim_x=2, dim_u=2, dynamics=lambda m, x, u: dyn(m["dynamics"], x, u),
      running_cost=running_cost,
      terminal_cost=lambda m, x: c.terminal_weight * jnp.sum((x - goal) ** 2),
      score=lambda m, z, level: score.score(m["score"], z, level),
      num_levels=score.num_levels)


def plan_and_evaluate(config, dyn, score, params) -> list:
  c = config.plan
  planner = planning.make_single_shooting(make_problem(config, dyn, score),
                                          planning.GradientPlannerConfig(
      horizon=c.horizon, num_iters=c.num_iters, learning_rate=c.learning_rate,
      init_std=c.init_std, action_low=-PARAMS.u_max, action_high=PARAMS.u_max,
      record_history=False))
  betas = jnp.repeat(jnp.asarray(c.betas, jnp.float32), c.num_seeds)
  x0s = jnp.broadcast_to(jnp.asarray(PARAMS.start), (betas.shape[0], 2))
  keys = jax.random.split(jax.random.PRNGKey(config.seed + 1), betas.shape[0])
  res = planning.solve_batch(planner, params, x0s, keys, betas)
  true = np.asarray(jax.vmap(corridor.rollout)(x0s, res.actions))
  rows = []
  for i, beta in enumerate(c.betas):
    seeds = []
    for j in range(i * c.num_seeds, (i + 1) * c.num_seeds):
      xs = jnp.asarray(true[j])
      seeds.append({
          "actions": np.asarray(res.actions[j]).tolist(),
          "predicted_states": np.asarray(res.states[j]).tolist(),
          "true_states": true[j].tolist(),
          "true_fraction_outside": float(1 - jnp.mean(corridor.in_corridor(xs))),
          "true_max_distance_outside": float(jnp.max(corridor.distance_outside(xs))),
          "predicted_fraction_outside": float(
              1 - jnp.mean(corridor.in_corridor(res.states[j]))),
          "true_terminal_error": float(jnp.linalg.norm(xs[-1] - jnp.asarray(PARAMS.goal))),
          "max_plan_true_gap": float(jnp.max(jnp.abs(res.states[j] - xs)))})
    frac = np.array([s["true_fraction_outside"] for s in seeds])
    term = np.array([s["true_terminal_error"] for s in seeds])
    rows.append({"beta": float(beta), "num_seeds": c.num_seeds,
                 "true_fraction_outside_mean": float(frac.mean()),
                 "true_fraction_outside_std": float(frac.std()),
                 "true_max_distance_outside_mean": float(np.mean(
                     [s["true_max_distance_outside"] for s in seeds])),
                 "true_terminal_error_mean": float(term.mean()),
                 "true_terminal_error_std": float(term.std()),
                 "max_plan_true_gap_mean": float(np.mean(
                     [s["max_plan_true_gap"] for s in seeds])),
                 "seeds": seeds})
  return rows


def plot(data, rows, path: str) -> str:
  plt = launcher.pyplot()
  fig, axes = plt.subplots(1, len(rows), figsize=(5.5 * len(rows), 5.5), squeeze=False)
  for ax, row in zip(axes[0], rows):
    ax.plot(data[:, 0], data[:, 1], ".", color="0.85", ms=1)
    for k, s in enumerate(row["seeds"]):
      pred, true = np.asarray(s["predicted_states"]), np.asarray(s["true_states"])
      ax.plot(pred[:, 0], pred[:, 1], "-", color="tab:blue", alpha=0.6,
              label="plan (learned model)" if k == 0 else None)
      ax.plot(true[:, 0], true[:, 1], "o--", color="tab:red", ms=2, alpha=0.8,
              label="true rollout" if k == 0 else None)
    ax.plot(*PARAMS.start, "ks"); ax.plot(*PARAMS.goal, "k*", ms=12)
    ax.set_xlim(-0.3, 1.3); ax.set_ylim(-0.3, 1.3); ax.set_aspect("equal")
    ax.set_title(f"β = {row['beta']:g}: true path outside corridor "
                 f"{100 * row['true_fraction_outside_mean']:.0f} %", fontsize=10)
    ax.legend(fontsize=8)
  launcher.save_figure(fig, path, dpi=100)
  return path


def run(config, workdir: str, progress: Optional[Callable] = None) -> dict:
  """Data, model and score training, plans; writes summary.json and corridor.png."""
  launcher.check_nonempty(config, "plan.betas", "plan.num_seeds")
  launcher.make_workdir(workdir)
  t0 = time.time()
  key_data, key_dyn, key_score = jax.random.split(jax.random.PRNGKey(config.seed), 3)
  data = corridor.make_dataset(key_data, config.num_candidates)
  dyn, score = build_models(config, data)
  dyn_params, dyn_metrics = train_model(
      "dynamics", lambda p, b, k: models.one_step_loss(dyn, p, *b), dyn.init(key_dyn),
      (data.x, data.u, data.x_next), TrainConfig.from_section(config.dynamics, config.seed),
      workdir, progress,
      model=dyn)
  score_params, score_metrics = train_model(
      "score", lambda p, b, k: score_lib.dsm_loss(score, p, b, k), score.init(key_score),
      data.xu(), TrainConfig.from_section(config.score, config.seed), workdir, progress,
      model=score)
  t1 = time.time()
  rows = plan_and_evaluate(config, dyn, score,
                           {"dynamics": dyn_params, "score": score_params})
  summary = {"num_transitions": data.num, "per_beta": rows,
             "training": {"dynamics": dyn_metrics, "score": score_metrics},
             "seconds": {"plan_incl_compile": time.time() - t1, "total": time.time() - t0}}
  launcher.write_summary(workdir, summary, config)
  summary["plot"] = plot(np.asarray(data.x[:20000]), rows,
                         os.path.join(workdir, "corridor.png"))
  return summary


def format_summary(summary: dict) -> str:
  lines = [f"{'beta':>6} {'true outside':>14} {'max dist out':>12} {'true |x_T-g|':>14} "
           f"{'plan/true gap':>13}"]
  for r in summary["per_beta"]:
    lines.append(f"{r['beta']:>6g} {r['true_fraction_outside_mean']:>7.3f}±"
                 f"{r['true_fraction_outside_std']:<6.3f} "
                 f"{r['true_max_distance_outside_mean']:>12.3f} "
                 f"{r['true_terminal_error_mean']:>7.3f}±{r['true_terminal_error_std']:<6.3f} "
                 f"{r['max_plan_true_gap_mean']:>13.3f}")
  lines.append(f"(mean ± std over {summary['per_beta'][0]['num_seeds']} plan seeds) "
               f"total {summary['seconds']['total']:.0f} s; plot: {summary.get('plot')}")
  return "\n".join(lines)
