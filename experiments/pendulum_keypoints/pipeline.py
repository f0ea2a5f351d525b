"""Pendulum with a keypoint state: the transition score keeps plans on the circle
(SPEC B.10).

State x = (l cos theta, l sin theta, theta_dot) (theta = 0 upright), so the data
lie on a cylinder: the keypoint (x_0, x_1) on the circle of radius l. A
noise-conditioned (x, u, x') score is trained by DSM, and BVP direct collocation
(no dynamics model) plans from hanging (-l, 0, 0) to upright (l, 0, 0) with cost
sum_t u_t^2. The initial guess, the straight line, passes through the pivot;
with the score the iterates move onto the circle. Reported: the max deviation of
||(x_0, x_1)|| from l along each plan, the plan's defect against the true
dynamics, and the true rollout of its torques.
"""
from __future__ import annotations

import os
import time
from typing import Callable, Optional

import jax
import jax.numpy as jnp
import numpy as np

from experiments import launcher
from sgp_jax import score as score_lib
from sgp_jax.models import ScoreModel, make_score_model, train_model
from sgp_jax.normalization import Normalizer
from sgp_jax import planning
from sgp_jax.systems import pendulum
from sgp_jax.training import TrainConfig

PARAMS = pendulum.PendulumParams()
START = (-PARAMS.length, 0.0, 0.0)   # hanging down (theta = pi)
GOAL = (PARAMS.length, 0.0, 0.0)     # upright (theta = 0)


def build_model(config, data) -> ScoreModel:
  c = config.score
  return make_score_model(
      "xux", Normalizer.from_data(data.x), Normalizer.from_data(data.u),
      score_lib.cosine_sigmas(c.sigma_max, c.sigma_min, c.num_levels), c.hidden,
      c.activation, alpha=c.alpha)


def make_problem(model: ScoreModel) -> planning.ControlProblem:
  """Minimum torque energy; `models` is {"score": params}; dynamics unused."""
  return planning.ControlProblem(
      dim_x=pendulum.DIM_X, dim_u=pendulum.DIM_U,
      dynamics=lambda m, x, u: pendulum.step(x, u, PARAMS),
      running_cost=lambda m, x, u, t: jnp.sum(u ** 2),
      score=lambda m, z, level: model.score(m["score"], z, level),
      num_levels=model.num_levels, score_sigma=lambda m, level: model.sigmas[level])


def plan_and_evaluate(config, model, params) -> list:
  c = config.plan
  planner = planning.make_collocation(make_problem(model), planning.GradientPlannerConfig(
      horizon=c.horizon, num_iters=c.num_iters, learning_rate=c.learning_rate,
      init_std=c.init_std, record_history=False), x_goal=jnp.asarray(GOAL))
  betas = jnp.asarray(c.betas, jnp.float32)
  x0s = jnp.broadcast_to(jnp.asarray(START), (betas.shape[0], pendulum.DIM_X))
  keys = jax.random.split(jax.random.PRNGKey(config.seed + 1), betas.shape[0])
  res = planning.solve_batch(planner, {"score": params}, x0s, keys, betas)
  rows = []
  for i, beta in enumerate(c.betas):
    xs, us = res.states[i], res.actions[i]
    radius = np.asarray(pendulum.radius(xs))
    defect = pendulum.step(xs[:-1], us, PARAMS) - xs[1:]
    true = pendulum.rollout(jnp.asarray(START), us, PARAMS)
    rows.append({
        "beta": float(beta), "plan_states": np.asarray(xs).tolist(),
        "actions": np.asarray(us).tolist(), "true_states": np.asarray(true).tolist(),
        "max_radius_deviation": float(np.max(np.abs(radius - PARAMS.length))),
        "mean_radius_deviation": float(np.mean(np.abs(radius - PARAMS.length))),
        "max_true_dynamics_defect": float(jnp.max(jnp.linalg.norm(defect, axis=-1))),
        "true_terminal_error": float(jnp.linalg.norm(true[-1] - jnp.asarray(GOAL))),
        "max_abs_torque": float(jnp.max(jnp.abs(us)))})
  return rows


def plot(rows, path: str) -> str:
  plt = launcher.pyplot()
  fig, axes = plt.subplots(1, 3, figsize=(16, 5))
  th = np.linspace(0, 2 * np.pi, 200)
  axes[0].plot(PARAMS.length * np.cos(th), PARAMS.length * np.sin(th), "k:", label="|p| = l")
  for row, color in zip(rows, ["tab:red", "tab:blue", "tab:green"]):
    xs, true = np.asarray(row["plan_states"]), np.asarray(row["true_states"])
    label = f"β={row['beta']:g} (max ||p|−l| {row['max_radius_deviation']:.3f})"
    axes[0].plot(xs[:, 0], xs[:, 1], "o-", color=color, ms=3, label="plan " + label)
    axes[0].plot(true[:, 0], true[:, 1], "--", color=color, alpha=0.6,
                 label=f"true rollout of its u, β={row['beta']:g}")
    axes[1].plot(np.asarray(pendulum.radius(xs)), "o-", color=color, ms=3, label=label)
    axes[2].plot(np.asarray(row["actions"])[:, 0], color=color, label=f"β={row['beta']:g}")
  axes[0].set_aspect("equal"); axes[0].legend(fontsize=7)
  axes[0].set_title("keypoint (l cos θ, l sin θ)")
  axes[1].axhline(PARAMS.length, color="k", ls=":"); axes[1].set_xlabel("t")
  axes[1].set_title("||(x_0, x_1)|| along the plan"); axes[1].legend(fontsize=8)
  axes[2].set_title("torque u_t"); axes[2].set_xlabel("t"); axes[2].legend(fontsize=8)
  launcher.save_figure(fig, path, dpi=100)
  return path


def run(config, workdir: str, progress: Optional[Callable] = None) -> dict:
  """Data, score training and BVP plans; writes summary.json and pendulum.png."""
  launcher.check_nonempty(config, "plan.betas")
  launcher.make_workdir(workdir)
  t0 = time.time()
  key_data, key_init = jax.random.split(jax.random.PRNGKey(config.seed))
  data = pendulum.make_dataset(key_data, config.num_samples, PARAMS)
  model = build_model(config, data)
  params, train_metrics = train_model(
      "score", lambda p, b, k: score_lib.dsm_loss(model, p, b, k), model.init(key_init),
      data.xux(), TrainConfig.from_section(config.score, config.seed), workdir, progress,
      model=model)
  t1 = time.time()
  rows = plan_and_evaluate(config, model, params)
  summary = {"length": PARAMS.length, "per_beta": rows,
             "training": {"score": train_metrics},
             "seconds": {"plan_incl_compile": time.time() - t1, "total": time.time() - t0}}
  launcher.write_summary(workdir, summary, config)
  summary["plot"] = plot(rows, os.path.join(workdir, "pendulum.png"))
  return summary


def format_summary(summary: dict) -> str:
  lines = [f"BVP collocation hanging -> upright, l = {summary['length']}:",
           f"{'beta':>6} {'max ||p|-l|':>11} {'mean ||p|-l|':>12} {'max true defect':>15} "
           f"{'true |x_T-goal|':>15} {'max|u|':>7}"]
  for r in summary["per_beta"]:
    lines.append(f"{r['beta']:>6g} {r['max_radius_deviation']:>11.4f} "
                 f"{r['mean_radius_deviation']:>12.4f} {r['max_true_dynamics_defect']:>15.4f} "
                 f"{r['true_terminal_error']:>15.3f} {r['max_abs_torque']:>7.2f}")
  lines.append(f"total {summary['seconds']['total']:.0f} s; plot: {summary.get('plot')}")
  return "\n".join(lines)
