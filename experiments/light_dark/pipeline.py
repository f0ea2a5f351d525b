"""Light-dark: a hole in the data, routed around by the transition score (SPEC B.4, E.8).

The 2D single integrator x' = x + u; its data leave out the disk of radius 0.4 at
the origin. A noise-conditioned (x, u, x') score is trained by DSM. Then:
  * BVP direct collocation (no dynamics model) from (0.8, 0.2) to (-0.8, 0.2),
    cost sum_t ||u_t||^2, for every beta in plan.betas in one batched solve: with
    the score the path bends around the hole, with beta = 0 it goes straight
    through (the states are then never pulled onto the dynamics at all);
  * MPC in closed loop on the TRUE integrator, IVP collocation inside with a
    terminal cost on the goal.
Reported: the minimum distance to the origin of each plan, of the true rollout
of the plan's actions and of the MPC trajectory; the plans' dynamics defects.
"""
from __future__ import annotations

import os
import time
from typing import Callable, Optional

import jax
import jax.numpy as jnp
import numpy as np

from experiments import launcher
from sgp_jax import closed_loop
from sgp_jax import score as score_lib
from sgp_jax.models import ScoreModel, make_score_model, train_model
from sgp_jax.envs.base import SystemEnv
from sgp_jax.normalization import Normalizer
from sgp_jax import planning
from sgp_jax.systems import light_dark, linear
from sgp_jax.training import TrainConfig

PARAMS = light_dark.LightDarkParams()


def build_model(config) -> ScoreModel:
  c = config.score
  return make_score_model(
      "xux", Normalizer.identity(2), Normalizer.from_scale(c.u_scale, 0.0, dim=2),
      score_lib.cosine_sigmas(c.sigma_max, c.sigma_min, c.num_levels), c.hidden,
      c.activation)


def make_problem(model: ScoreModel, q_terminal: float = 0.0,
                 q_running: float = 0.0) -> planning.ControlProblem:
  """sum_t ||u_t||^2 + q_running ||x_t - goal||^2, + q_terminal ||x_T - goal||^2;
  `models` is {"score": params}."""
  goal = jnp.asarray(PARAMS.goal)
  return planning.ControlProblem(
      dim_x=2, dim_u=2, dynamics=lambda m, x, u: light_dark.step(x, u),
      running_cost=lambda m, x, u, t: (jnp.sum(u ** 2)
                                       + q_running * jnp.sum((x - goal) ** 2)),
      terminal_cost=(lambda m, x: q_terminal * jnp.sum((x - goal) ** 2))
      if q_terminal > 0 else None,
      score=lambda m, z, level: model.score(m["score"], z, level),
      num_levels=model.num_levels, score_sigma=lambda m, level: model.sigmas[level])


def min_radius(xs) -> float:
  return float(np.min(np.linalg.norm(np.asarray(xs), axis=-1)))


def plan_bvp(config, model, params) -> list:
  c = config.plan
  planner = planning.make_collocation(
      make_problem(model), planning.GradientPlannerConfig(
          horizon=c.horizon, num_iters=c.num_iters, learning_rate=c.learning_rate,
          init_std=c.init_std, record_history=False), x_goal=jnp.asarray(PARAMS.goal))
  betas = jnp.asarray(c.betas, jnp.float32)
  x0s = jnp.broadcast_to(jnp.asarray(PARAMS.start), (betas.shape[0], 2))
  keys = jax.random.split(jax.random.PRNGKey(config.seed + 1), betas.shape[0])
  res = planning.solve_batch(planner, {"score": params}, x0s, keys, betas)
  rows = []
  for i, beta in enumerate(c.betas):
    xs, us = np.asarray(res.states[i]), np.asarray(res.actions[i])
    true = np.asarray(linear.rollout(jnp.asarray(PARAMS.start), jnp.asarray(us)))
    rows.append({
        "beta": float(beta), "plan_states": xs.tolist(), "actions": us.tolist(),
        "true_states": true.tolist(),
        "plan_min_distance_to_origin": min_radius(xs),
        "true_min_distance_to_origin": min_radius(true),
        "true_terminal_error": float(np.linalg.norm(true[-1] - np.asarray(PARAMS.goal))),
        "max_dynamics_defect": float(np.max(np.linalg.norm(xs[1:] - xs[:-1] - us, axis=-1))),
        "max_abs_action": float(np.max(np.abs(us))),
        "energy": float(np.sum(us ** 2))})
  return rows


def run_mpc(config, model, params) -> dict:
  c = config.mpc
  planner = planning.make_collocation(
      make_problem(model, c.q_terminal, c.q_running), planning.GradientPlannerConfig(
          horizon=c.horizon, num_iters=c.num_iters, learning_rate=c.learning_rate,
          init_std=c.init_std, anneal=c.anneal, record_history=False))
  env = SystemEnv(light_dark.step, dim_obs=2, dim_action=2)
  run = closed_loop.make_mpc(env, planner, c.num_steps, warm_start=c.warm_start)
  res = run({"score": params}, jnp.asarray(PARAMS.start)[None],
            jax.random.PRNGKey(config.seed + 2)[None], c.beta)
  res = jax.tree.map(lambda a: a[0], res)  # the one episode
  xs = np.asarray(res.states())
  dist_goal = np.linalg.norm(xs - np.asarray(PARAMS.goal), axis=-1)
  reached = np.nonzero(dist_goal < 0.05)[0]
  return {"beta": float(c.beta), "states": xs.tolist(),
          "actions": np.asarray(res.actions).tolist(),
          "min_distance_to_origin": min_radius(xs),
          "final_distance_to_goal": float(dist_goal[-1]),
          "first_step_within_0.05_of_goal": int(reached[0]) if reached.size else None,
          "max_abs_action": float(np.max(np.abs(np.asarray(res.actions))))}


def plot(data, rows, mpc_row, path: str) -> str:
  plt = launcher.pyplot()
  from matplotlib.patches import Circle
  fig, axes = plt.subplots(1, 2, figsize=(12, 6))
  for ax in axes:
    ax.plot(data[:, 0], data[:, 1], ".", color="0.8", ms=1)
    ax.add_patch(Circle((0, 0), PARAMS.hole_radius, fill=False, ls="--", color="k"))
    ax.plot(*PARAMS.start, "ks"); ax.plot(*PARAMS.goal, "k*", ms=12)
    ax.set_aspect("equal"); ax.set_xlim(-1.1, 1.1); ax.set_ylim(-1.1, 1.1)
  for row, color in zip(rows, ["tab:red", "tab:blue", "tab:green", "tab:purple"]):
    xs, true = np.asarray(row["plan_states"]), np.asarray(row["true_states"])
    axes[0].plot(xs[:, 0], xs[:, 1], "o-", color=color, ms=3,
                 label=f"plan β={row['beta']:g} "
                       f"(min |x| {row['plan_min_distance_to_origin']:.2f})")
    axes[0].plot(true[:, 0], true[:, 1], "--", color=color, alpha=0.7,
                 label=f"true rollout of its u, β={row['beta']:g}")
  axes[0].set_title("BVP collocation with the xux score"); axes[0].legend(fontsize=8)
  xs = np.asarray(mpc_row["states"])
  axes[1].plot(xs[:, 0], xs[:, 1], "o-", color="tab:blue", ms=3,
               label=f"MPC closed loop, β={mpc_row['beta']:g} "
                     f"(min |x| {mpc_row['min_distance_to_origin']:.2f})")
  axes[1].set_title("MPC (IVP collocation) on the true system"); axes[1].legend(fontsize=8)
  launcher.save_figure(fig, path, dpi=100)
  return path


def run(config, workdir: str, progress: Optional[Callable] = None) -> dict:
  """Data, score training, BVP plans and MPC; writes summary.json and light_dark.png."""
  launcher.check_nonempty(config, "plan.betas")
  launcher.make_workdir(workdir)
  t0 = time.time()
  key_data, key_init = jax.random.split(jax.random.PRNGKey(config.seed))
  data = light_dark.make_dataset(key_data, config.num_candidates)
  model = build_model(config)
  params, train_metrics = train_model(
      "score", lambda p, b, k: score_lib.dsm_loss(model, p, b, k), model.init(key_init),
      data.xux(), TrainConfig.from_section(config.score, config.seed), workdir, progress,
      model=model)
  t1 = time.time()
  rows = plan_bvp(config, model, params)
  t2 = time.time()
  mpc_row = run_mpc(config, model, params)
  summary = {"num_transitions": data.num, "hole_radius": PARAMS.hole_radius,
             "bvp": rows, "mpc": mpc_row, "training": {"score": train_metrics},
             "seconds": {"bvp_incl_compile": t2 - t1, "mpc_incl_compile": time.time() - t2,
                         "total": time.time() - t0}}
  launcher.write_summary(workdir, summary, config)
  summary["plot"] = plot(np.asarray(data.x[:5000]), rows, mpc_row,
                         os.path.join(workdir, "light_dark.png"))
  return summary


def format_summary(summary: dict) -> str:
  lines = [f"hole radius {summary['hole_radius']}; BVP collocation (0.8,0.2) -> (-0.8,0.2):",
           f"{'beta':>6} {'plan min|x|':>11} {'true min|x|':>11} {'true |x_T-g|':>12} "
           f"{'max defect':>10} {'max|u|':>7}"]
  for r in summary["bvp"]:
    lines.append(f"{r['beta']:>6g} {r['plan_min_distance_to_origin']:>11.3f} "
                 f"{r['true_min_distance_to_origin']:>11.3f} {r['true_terminal_error']:>12.3f} "
                 f"{r['max_dynamics_defect']:>10.4f} {r['max_abs_action']:>7.3f}")
  m = summary["mpc"]
  lines.append(f"MPC (beta {m['beta']:g}): min |x| = {m['min_distance_to_origin']:.3f}, "
               f"final |x - goal| = {m['final_distance_to_goal']:.3f}, first within 0.05 "
               f"at step {m['first_step_within_0.05_of_goal']}")
  lines.append(f"total {summary['seconds']['total']:.0f} s; plot: {summary.get('plot')}")
  return "\n".join(lines)
