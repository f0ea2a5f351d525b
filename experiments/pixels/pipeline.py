"""Planning from pixels: the image single integrator (SPEC B.7, E.6, E.7).

World: `sgp_jax.systems.pixel_integrator` (B.4's single integrator x' = x + u,
|u_i| <= 0.1, no data in the disk of radius 0.4 at the origin), with N x N image
states and N x N image actions (dim x = dim u = N^2: 1024 at N = 32). One data set
of transitions outside the disk serves every model.

Models (`sgp_jax.models.image`, trained by the library's one loop):
  score      NCSNv2-style U-Net xu score of (x-image, u-image): geometric sigma
             levels, output divided by sigma_l, one random level per sample
  ensemble   K residual U-Net dynamics models; member 0 is the dynamics model of
             sgp, beta0 and mppi, so every method plans with the same networks

Task: from x0 = (0.8, 0.2) to the goal (-0.8, -0.2) in T = 15 steps, an open-loop
plan of T action images. The cost is on image centroids c(.) (SPEC B.7):
  sum_t R ||c_u(u_t)||^2 + Qd ||c(x_T) - goal||^2.
(B.7's Q on the path-length increments of the state centroids is left out: a
per-step cost sees one state, and under the true integrator the increment is the
action's centroid, which R already weighs.) Action images are bounded to [0, 1].

Methods, each with the same budget of trajectory evaluations (gradient methods one
per iteration, sampling methods num_samples per iteration):
  sgp           single shooting through the learned dynamics, beta * the score
                penalty, sigma annealed (SPEC A.5a, A.6)
  beta0         the same with beta = 0
  ensemble      gradient shooting on mean_k J_k + beta Var_k J_k (SPEC A.9.2)
  cem_ensemble  CEM on the same ensemble loss (the paper's baseline)
  mppi          MPPI on the learned dynamics with the score value (`score_value_penalty`)
  true_model    reference: gradient shooting through the true image dynamics
Any method but true_model may be given as '<method>@<beta>'.

Reported per method over the plan seeds (random initial action sequences), mean +-
std: the hallucinated cost (under the learned model), the actual cost (decode the
action images, roll out the true integrator, re-render, the same cost), the final
distance to the goal, the minimum distance of the true path to the origin, and the
gap between the planned and the true centroid paths. With several image sizes
(`world.sizes`), every size is run and compared (the dimension sweep).
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
from sgp_jax import planning
from sgp_jax.systems import pixel_integrator as pix
from sgp_jax.training import TrainConfig
from sgp_jax import models

METHODS = ("sgp", "beta0", "ensemble", "cem_ensemble", "mppi", "true_model")
GRADIENT_METHODS = ("sgp", "beta0", "ensemble", "true_model")
STRIP_TIMES = (0, 5, 10, 14)


def world(config, size: int) -> pix.PixelWorld:
  w = config.world
  return pix.PixelWorld(size=int(size), fov=w.fov, u_fov=w.u_fov, blob_px=w.blob_px,
                        u_max=w.u_max, hole_radius=w.hole_radius, x_max=w.x_max)


def check_config(config) -> None:
  """Raises ValueError for a config that cannot run, before any data or training."""
  launcher.check_nonempty(config, "methods", "world.sizes", "plan.num_seeds",
                          "plan.num_iters", "data.num_samples")
  launcher.check_method_names(config.methods, METHODS, fixed=("true_model",))
  depth = max(len(config.score.features), len(config.ensemble.features))
  for size in config.world.sizes:
    world(config, size)  # checks the world
    if size % 2 ** (depth - 1):
      raise ValueError(f"image size {size} is not divisible by 2^{depth - 1}, as the "
                       f"U-Nets' {depth} levels need; change --config.world.sizes or "
                       "the features.")
  if config.plan.num_iters % config.sampling.num_samples:
    raise ValueError(f"plan.num_iters ({config.plan.num_iters}, the budget of trajectory "
                     f"evaluations) must be a multiple of sampling.num_samples "
                     f"({config.sampling.num_samples}) for an equal budget.")
  needs_ensemble_variance = any(n.partition("@")[0] in ("ensemble", "cem_ensemble")
                                for n in config.methods)
  if needs_ensemble_variance and config.ensemble.num_members < 2:
    raise ValueError("the ensemble methods need --config.ensemble.num_members >= 2.")


# ------------------------------------------------------------------ models
def build_models(config, size: int) -> dict:
  s, e = config.score, config.ensemble
  return {
      "score": models.make_image_score_model(
          "xu", size, score_lib.geometric_sigmas(s.sigma_max, s.sigma_min, s.num_levels),
          s.features, s.parameterization),
      "ensemble": models.make_image_dynamics_ensemble(size, e.num_members,
                                                      e.features),
  }


def train_models(config, data, workdir: str, progress: Optional[Callable] = None):
  """Trains (or resumes) the score and the ensemble; returns (m, params, metrics).

  Checkpoints: workdir/models/{score,ensemble} (`sgp_jax.models.load`).
  """
  size = int(round(np.sqrt(data.dim_x)))
  m = build_models(config, size)
  key_score, key_ens = jax.random.split(jax.random.PRNGKey(config.seed + 1))
  jobs = {
      "score": (lambda p, b, k: score_lib.dsm_loss(m["score"], p, b, k, per_sample=True),
                data.xu(), key_score),
      "ensemble": (lambda p, b, k: models.ensemble_loss(m["ensemble"], p, *b),
                   (data.x, data.u, data.x_next), key_ens),
  }
  params, metrics = {}, {}
  for name, (loss_fn, arrays, key) in jobs.items():
    params[name], metrics[name] = train_model(
        name, loss_fn, m[name].init(key), arrays,
        TrainConfig.from_section(config[name], config.seed), workdir, progress, model=m[name])
  return m, params, metrics


# ------------------------------------------------------------------ task and planners
def make_problem(config, w: pix.PixelWorld, m: dict) -> planning.ControlProblem:
  """The learned problem on flat images; `models` is {"dynamics", "score",
  "ensemble"} parameters (dynamics: the ensemble's member 0)."""
  t = config.task
  goal = jnp.asarray(t.goal, jnp.float32)
  dyn, score = m["ensemble"].model, m["score"]
  return planning.ControlProblem(
      dim_x=w.dim, dim_u=w.dim,
      dynamics=lambda p, x, u: dyn(p["dynamics"], x, u),
      running_cost=lambda p, x, u, t_: t.action_cost * jnp.sum(
          pix.decode(u, w.size, w.u_fov) ** 2),
      terminal_cost=lambda p, x: t.goal_cost * jnp.sum((pix.decode_state(w, x) - goal) ** 2),
      score=lambda p, z, level: score.score(p["score"], z, level),
      num_levels=score.num_levels)


def make_planner(name: str, config, problem, m: dict, w: pix.PixelWorld):
  """(planner, beta) of method `name` ('<method>' or '<method>@<beta>')."""
  base, beta = launcher.split_method(name)
  c, s = config.plan, config.sampling
  bounds = dict(horizon=config.task.horizon, action_low=0.0, action_high=1.0,
                record_history=False)
  grad_cfg = planning.GradientPlannerConfig(num_iters=c.num_iters, learning_rate=c.learning_rate,
                                            init_std=0.0, **bounds)
  samp_cfg = planning.SamplingPlannerConfig(
      num_iters=c.num_iters // s.num_samples, num_samples=s.num_samples,
      num_elites=s.num_elites, sample_std=s.sample_std, min_std=s.min_std,
      temperature=s.temperature, init_std=0.0, anneal=True, **bounds)
  no_score = problem._replace(score=None)
  ensemble_loss = planning.ensemble_variance_loss(no_score, m["ensemble"],
                                                  lambda p: p["ensemble"])
  b = config.betas
  if base == "sgp":
    planner, default = planning.make_single_shooting(problem, grad_cfg), b.sgp
  elif base == "beta0":
    planner, default = planning.make_single_shooting(no_score, grad_cfg), 0.0
  elif base == "true_model":
    planner, default = planning.make_single_shooting(
        no_score._replace(dynamics=lambda p, x, u: pix.true_step(w, x, u)), grad_cfg), 0.0
  elif base == "ensemble":
    planner, default = planning.make_loss_shooting(no_score, ensemble_loss,
                                                   grad_cfg), b.ensemble
  elif base == "cem_ensemble":
    planner, default = planning.make_cem(no_score, ensemble_loss,
                                                  samp_cfg), b.cem_ensemble
  elif base == "mppi":
    value = planning.penalized_loss(
        problem, planning.score_value_penalty(m["score"], lambda p: p["score"]))
    planner, default = planning.make_mppi(problem, value, samp_cfg), b.mppi
  else:
    raise ValueError(f"unknown method {name!r}; choose from {METHODS}.")
  return planner, default if beta is None else beta


def initial_plans(config, w: pix.PixelWorld) -> jnp.ndarray:
  """One random initial action-image sequence per seed (S, T, N^2): u_t uniform in
  [-init_u, init_u]^2, rendered."""
  c = config.plan
  u = jax.random.uniform(jax.random.PRNGKey(config.seed + 11),
                         (c.num_seeds, config.task.horizon, 2),
                         minval=-c.init_u, maxval=c.init_u)
  return pix.render_action(w, u)


# ------------------------------------------------------------------ evaluation
def evaluate(config, w: pix.PixelWorld, problem, planner_models, plan_actions,
             plan_states) -> dict:
  """Per-seed arrays (S,) of the metrics, plus the true positions (S, T+1, 2)."""
  x0 = jnp.asarray(config.task.start, jnp.float32)
  goal = np.asarray(config.task.goal)
  true_pos = jax.vmap(lambda us: pix.true_rollout(w, x0, us))(plan_actions)
  true_images = pix.render_state(w, true_pos)
  cost = jax.vmap(lambda xs, us: planning.trajectory_cost(problem, planner_models, xs, us))
  plan_pos = np.asarray(pix.decode_state(w, plan_states))
  true_np = np.asarray(true_pos)
  return {
      "hallucinated_cost": np.asarray(cost(plan_states, plan_actions)),
      "actual_cost": np.asarray(cost(true_images, plan_actions)),
      "final_distance": np.linalg.norm(true_np[:, -1] - goal, axis=-1),
      "min_distance_to_origin": np.linalg.norm(true_np, axis=-1).min(-1),
      "plan_true_gap": np.linalg.norm(plan_pos - true_np, axis=-1).mean(-1),
      "plan_final_distance": np.linalg.norm(plan_pos[:, -1] - goal, axis=-1),
  }, true_np, np.asarray(true_images)


def strip_times(horizon: int) -> list:
  """STRIP_TIMES that exist in a plan of `horizon` steps."""
  return [t for t in STRIP_TIMES if t < horizon]


def example(w: pix.PixelWorld, result, true_pos, true_images) -> dict:
  """Seed 0's plan for the plots: centroid paths and the strip images."""
  plan_states, actions = np.asarray(result.states[0]), np.asarray(result.actions[0])
  times = strip_times(actions.shape[0])
  return {"times": times, "true_positions": true_pos[0].tolist(),
          "plan_positions": np.asarray(pix.decode_state(w, plan_states)).tolist(),
          "plan_images": plan_states[times].tolist(),
          "true_images": true_images[0][times].tolist(),
          "action_images": actions[times].tolist()}


def run_method(name, config, w, problem, m, planner_models) -> dict:
  planner, beta = make_planner(name, config, problem, m, w)
  s = config.plan.num_seeds
  x0s = jnp.tile(pix.render_state(w, jnp.asarray(config.task.start, jnp.float32)), (s, 1))
  keys = jax.random.split(jax.random.PRNGKey(config.seed + 100), s)
  start = time.time()
  result = planning.solve_batch(planner, planner_models, x0s, keys,
                                jnp.full((s,), beta, jnp.float32),
                                theta_init=initial_plans(config, w))
  jax.block_until_ready(result.states)
  seconds = time.time() - start
  metrics, true_pos, true_images = evaluate(config, w, problem, planner_models,
                                            result.actions, result.states)
  base = name.partition("@")[0]
  evaluations = planner.config.num_iters * (
      1 if base in GRADIENT_METHODS else config.sampling.num_samples)
  members = config.ensemble.num_members if base in ("ensemble", "cem_ensemble") else 1
  return {
      "method": name, "beta": float(beta), "image_size": w.size, "dim_u": w.dim,
      "trajectory_evaluations": evaluations, "model_rollouts": evaluations * members,
      "num_seeds": int(s), **{k: launcher.mean_std(v) for k, v in metrics.items()},
      "reaches_goal_and_avoids_hole": float(np.mean(
          (metrics["final_distance"] < config.task.goal_radius) &
          (metrics["min_distance_to_origin"] >= w.hole_radius))),
      "per_seed": {k: np.asarray(v).tolist() for k, v in metrics.items()},
      "example": example(w, result, true_pos, true_images),
      "seconds_incl_compile": seconds}


# ------------------------------------------------------------------ plots
def plot_strips(rows, path: str) -> str:
  """Per method: the planned (model) and the true state images at STRIP_TIMES."""
  plt = launcher.pyplot()
  times = rows[0]["example"]["times"]
  k = len(times)
  fig, axes = plt.subplots(len(rows), 2 * k, figsize=(1.6 * 2 * k, 1.8 * len(rows)),
                           squeeze=False)
  for r, row in enumerate(rows):
    n = row["image_size"]
    for j, t in enumerate(times):
      for off, key, label in ((0, "plan_images", "plan"), (k, "true_images", "true")):
        ax = axes[r, off + j]
        ax.imshow(np.asarray(row["example"][key][j]).reshape(n, n), cmap="gray",
                  vmin=0, vmax=1)
        ax.set_xticks([]); ax.set_yticks([])
        if r == 0:
          ax.set_title(f"{label} t={t}", fontsize=8)
    axes[r, 0].set_ylabel(row["method"], fontsize=8)
  launcher.save_figure(fig, path, dpi=90)
  return path


def plot_paths(rows, config, path: str) -> str:
  """Planned (dashed) and true (solid) centroid paths against the data hole."""
  plt = launcher.pyplot()
  fig, axes = plt.subplots(1, len(rows), figsize=(3.2 * len(rows), 3.4), squeeze=False)
  for ax, row in zip(axes[0], rows):
    ex = row["example"]
    ax.add_patch(plt.Circle((0, 0), config.world.hole_radius, color="0.85",
                            label="no data"))
    ax.plot(*np.asarray(ex["plan_positions"]).T, "--", color="tab:orange", label="plan")
    ax.plot(*np.asarray(ex["true_positions"]).T, ".-", color="tab:blue", ms=3,
            label="true rollout")
    ax.plot(*config.task.start, "ks", ms=4)
    ax.plot(*config.task.goal, "k*", ms=8)
    ax.set_xlim(-1.2, 1.2); ax.set_ylim(-1.2, 1.2); ax.set_aspect("equal")
    ax.set_title(f"{row['method']}: d_goal {row['final_distance']['mean']:.2f}", fontsize=8)
  axes[0, 0].legend(fontsize=6, loc="lower left")
  launcher.save_figure(fig, path, dpi=90)
  return path


def plot_costs(rows, path: str) -> str:
  """Hallucinated vs actual cost per method (log scale)."""
  plt = launcher.pyplot()
  fig, ax = plt.subplots(figsize=(1.3 * len(rows) + 2, 3.5))
  x = np.arange(len(rows))
  for off, key, color in ((-0.2, "hallucinated_cost", "tab:orange"),
                          (0.2, "actual_cost", "tab:blue")):
    ax.bar(x + off, [max(r[key]["mean"], 1e-3) for r in rows], 0.4,
           yerr=[r[key]["std"] for r in rows], color=color, capsize=3,
           label=key.replace("_", " "))
  ax.set_xticks(x, [r["method"] for r in rows], rotation=30, fontsize=8)
  ax.set_yscale("log")
  ax.legend(fontsize=8)
  launcher.save_figure(fig, path, dpi=90)
  return path


def plot_sweep(sweep, path: str) -> str:
  """Actual cost and wall time against dim u per step, one line per method."""
  plt = launcher.pyplot()
  fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
  for method in sweep["methods"]:
    rows = [r for r in sweep["rows"] if r["method"] == method]
    dims = [r["dim_u"] for r in rows]
    axes[0].errorbar(dims, [r["actual_cost"]["mean"] for r in rows],
                     yerr=[r["actual_cost"]["std"] for r in rows], marker="o",
                     capsize=3, label=method)
    axes[1].plot(dims, [r["seconds_incl_compile"] for r in rows], marker="o", label=method)
  for ax, label in zip(axes, ("actual cost", "planning wall time [s] (incl. compile)")):
    ax.set_xscale("log", base=2); ax.set_yscale("log")
    ax.set_xlabel("dim u per step (N^2)"); ax.set_ylabel(label)
  axes[0].legend(fontsize=7)
  launcher.save_figure(fig, path, dpi=90)
  return path


# ------------------------------------------------------------------ run
def run_size(config, size: int, workdir: str, progress: Optional[Callable]) -> dict:
  w = world(config, size)
  t0 = time.time()
  data, _ = pix.make_dataset(jax.random.PRNGKey(config.seed), config.data.num_samples, w)
  m, params, train_metrics = train_models(config, data, workdir, progress)
  del data
  t1 = time.time()
  problem = make_problem(config, w, m)
  planner_models = {"dynamics": m["ensemble"].member(params["ensemble"], 0),
                    "score": params["score"], "ensemble": params["ensemble"]}
  rows = []
  for name in config.methods:
    rows.append(run_method(name, config, w, problem, m, planner_models))
    r = rows[-1]
    print(f"N={size:>2} {name:>13}: actual cost {r['actual_cost']['mean']:9.2f}, "
          f"hallucinated {r['hallucinated_cost']['mean']:9.2f}, final distance "
          f"{r['final_distance']['mean']:.3f}, min |x| {r['min_distance_to_origin']['mean']:.2f}"
          f" ({r['seconds_incl_compile']:.0f} s)", flush=True)
  summary = {"image_size": size, "dim_x": w.dim, "dim_u": w.dim,
             "num_samples": int(config.data.num_samples), "per_method": rows,
             "training": train_metrics,
             "seconds": {"data_and_training": t1 - t0, "planning": time.time() - t1}}
  summary["plots"] = [
      plot_strips(rows, os.path.join(workdir, "strips.png")),
      plot_paths(rows, config, os.path.join(workdir, "paths.png")),
      plot_costs(rows, os.path.join(workdir, "costs.png"))]
  return summary


def run(config, workdir: str, progress: Optional[Callable] = None) -> dict:
  """Every image size of world.sizes: data, models, every method; writes
  summary.json (and per size N: N<N>/ with models, strips.png, paths.png,
  costs.png; several sizes add sweep.png)."""
  check_config(config)
  launcher.make_workdir(workdir)
  start = time.time()
  per_size = []
  for size in config.world.sizes:
    sub = launcher.make_workdir(os.path.join(workdir, f"N{size}"))
    per_size.append(run_size(config, int(size), sub, progress))
  summary = {"per_size": per_size, "seconds": {"total": time.time() - start}}
  if len(per_size) > 1:
    sweep = {"methods": list(config.methods),
             "rows": [{k: r[k] for k in ("method", "image_size", "dim_u", "actual_cost",
                                         "final_distance", "seconds_incl_compile")}
                      for s in per_size for r in s["per_method"]]}
    summary["sweep"] = sweep
    summary["plots"] = [plot_sweep(sweep, os.path.join(workdir, "sweep.png"))]
  launcher.write_summary(workdir, summary, config)
  return summary


def format_summary(summary: dict) -> str:
  lines = [f"{'N':>3} {'method':>13} {'beta':>7} {'hallucinated':>14} {'actual':>14} "
           f"{'final dist':>11} {'min |x|':>10} {'goal&hole':>9} {'s':>5}"]
  for s in summary["per_size"]:
    for r in s["per_method"]:
      f = lambda k, d=2: f"{r[k]['mean']:.{d}f}±{r[k]['std']:.{d}f}"
      lines.append(f"{s['image_size']:>3} {r['method']:>13} {r['beta']:>7g} "
                   f"{f('hallucinated_cost'):>14} {f('actual_cost'):>14} "
                   f"{f('final_distance', 3):>11} {f('min_distance_to_origin'):>10} "
                   f"{r['reaches_goal_and_avoids_hole']:>9.0%} "
                   f"{r['seconds_incl_compile']:>5.0f}")
  first = summary["per_size"][0]["per_method"][0]
  lines.append(f"(mean ± std over {first['num_seeds']} plan seeds; "
               f"{first['trajectory_evaluations']} trajectory evaluations per method)")
  lines.append(f"total {summary['seconds']['total']:.0f} s")
  return "\n".join(lines)
