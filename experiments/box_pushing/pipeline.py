"""Box pushing with keypoints on the simulated pusher-slider (SPEC B.9, E.10).

Data: teleoperation-like push episodes of `sgp_jax.systems.pusher_slider` (the
quasi-static pusher-slider with an ellipsoidal limit surface and the YCB sugar box),
observed as 12-D states: the 4 box corners and the centre (10) plus the pusher (2).

Models (library models, min/max normalisers), all on the normalised command
a = u / u_max in [-1, 1]^2 (so the planners' learning rate and sampling std are in
units of the command bound):
  dynamics        residual MLP (x, a) -> x'
  score           NCSN xu score of (x, a), cosine sigma levels 0.2 -> 0.01
  keypoint_score  a score of the 10 keypoints alone (`models.point_score_model`)
  ensemble        K dynamics models (the ensemble baseline)

Task: SGP-MPC on the TRUE simulator. Each replan minimises
  sum_t 0.1 ||u_t||^2 + ||keypoints_T - goal keypoints||^2     (u in metres)
over T = 8 commands; the first command is executed on the simulator (MPC, SPEC A.7).
Goals: the box upright (theta = 0) at three places on the table (left, centre,
right). Starts: the box 6-12 cm before its goal (along -y), within +-2 cm across and
+-15 degrees of it, the pusher 0.5-2 cm behind its -y face.

Methods, each with the same budget of trajectory evaluations per replan:
  sgp          single shooting, the learned dynamics, beta * the xu score penalty
  beta0        the same planner with beta = 0
  ensemble     gradient shooting on mean_k J_k + beta Var_k J_k over K members
  cem_score    CEM on cost + beta * the score value (Tweedie; SGP's noise levels)
  mppi_score   MPPI on the same loss
  true_model   reference: gradient shooting through the simulator itself (beta = 0),
               what the planner reaches with a perfect model
Any method but true_model may be given as '<method>@<beta>' to override its beta.

Reported per method (mean +- std over every episode): the TRUE box's final position
and orientation error, the success rate, the rigidity error of the keypoints each
plan predicts (their distance to the nearest rigid box, `rigidity_error`), and the
gap between the predicted keypoints and those the simulator executes for the same
commands. Plus keypoint stabilisation: annealed gradient ascent on the keypoint-only
score from noisy keypoints, rigidity error before and after.
"""
from __future__ import annotations

import functools
import os
import time
from typing import Callable, Optional

import jax
import jax.numpy as jnp
import numpy as np

from experiments import launcher
from sgp_jax import closed_loop, distributed
from sgp_jax.models import train_model
from sgp_jax import score as score_lib
from sgp_jax.envs.base import SystemEnv
from sgp_jax.normalization import Normalizer
from sgp_jax import planning
from sgp_jax.sampling import annealed_langevin
from sgp_jax.systems import pusher_slider as ps
from sgp_jax.training import TrainConfig
from sgp_jax.types import Transitions
from sgp_jax import models

METHODS = ("sgp", "beta0", "ensemble", "cem_score", "mppi_score", "true_model")
GRADIENT_METHODS = ("sgp", "beta0", "ensemble", "true_model")
GOAL_NAMES = ("left", "centre", "right")
KP = 2 * ps.NUM_KEYPOINTS  # the keypoint block of the 12-D observation


def sim_params(config) -> ps.PusherSliderParams:
  s = config.sim
  return ps.PusherSliderParams(pusher_radius=s.pusher_radius, mu_pusher=s.mu_pusher,
                               num_substeps=s.num_substeps)


def teleop_config(config) -> ps.TeleopConfig:
  d = config.data
  return ps.TeleopConfig(pose_low=tuple(d.pose_low), pose_high=tuple(d.pose_high),
                         max_gap=d.max_gap, max_push_angle=d.max_push_angle,
                         min_speed=d.min_speed, max_speed=d.max_speed,
                         action_noise=d.action_noise, random_fraction=d.random_fraction)


def check_config(config) -> None:
  """Raises ValueError for a config that cannot run, before any data or training."""
  launcher.check_nonempty(config, "methods", "goals.x", "goals.num_starts", "mpc.num_steps",
                          "mpc.num_iters")
  launcher.check_method_names(config.methods, METHODS, fixed=("true_model",))
  if config.data.num_episodes * config.data.episode_length < 10:
    raise ValueError("the data set needs at least 10 transitions; raise "
                     "--config.data.num_episodes or --config.data.episode_length.")
  s = config.sampling
  if config.mpc.num_iters % s.num_samples:
    raise ValueError(f"mpc.num_iters ({config.mpc.num_iters}, the budget of trajectory "
                     f"evaluations per replan) must be a multiple of sampling.num_samples "
                     f"({s.num_samples}) for an equal budget.")


# ------------------------------------------------------------------ data and models
def make_data(config, params: ps.PusherSliderParams):
  """(OfflineDataset of raw commands, Transitions with u = a = command / u_max)."""
  ds = ps.make_teleop_dataset(jax.random.PRNGKey(config.seed), config.data.num_episodes,
                              config.data.episode_length, params, teleop_config(config))
  data = Transitions(x=jnp.asarray(ds.observations),
                     u=jnp.asarray(ds.actions) / params.u_max,
                     x_next=jnp.asarray(ds.next_observations))
  return ds, data


def build_models(config, data) -> dict:
  """Untrained models with min/max normalisers of the data."""
  x_norm = Normalizer.from_data(np.concatenate([np.asarray(data.x), np.asarray(data.x_next)]))
  u_norm = Normalizer.from_data(np.asarray(data.u))
  kp_norm = Normalizer(x_norm.scale[:KP], x_norm.offset[:KP])
  d, s, k, e = config.dynamics, config.score, config.keypoint_score, config.ensemble
  return {
      "dynamics": models.make_dynamics_model(x_norm, u_norm, d.hidden, d.activation),
      "score": models.make_score_model(
          "xu", x_norm, u_norm, score_lib.cosine_sigmas(s.sigma_max, s.sigma_min,
                                                        s.num_levels),
          s.hidden, s.activation),
      "keypoint_score": models.point_score_model(
          kp_norm, score_lib.cosine_sigmas(k.sigma_max, k.sigma_min, k.num_levels),
          k.hidden, k.activation),
      "ensemble": models.make_dynamics_ensemble(x_norm, u_norm, e.hidden, e.num_members,
                                                e.activation),
  }


def models_needed(methods) -> tuple:
  """The models to train: the ensemble only for the ensemble method (the dynamics
  and the score serve every other method; the keypoint score the stabilisation)."""
  needed = {"dynamics", "score", "keypoint_score"}
  if any(name.partition("@")[0] == "ensemble" for name in methods):
    needed.add("ensemble")
  return tuple(n for n in ("dynamics", "score", "keypoint_score", "ensemble") if n in needed)


def train_models(config, data, workdir: str, progress: Optional[Callable] = None):
  """Trains (or resumes) the models; returns (m, params, metrics).

  Checkpoints: workdir/models/{dynamics,score,keypoint_score,ensemble} (load with
  `sgp_jax.models.load`); resumable states in workdir/train_state/<name>.
  """
  m = build_models(config, data)
  keys = dict(zip(("dynamics", "score", "keypoint_score", "ensemble"),
                  jax.random.split(jax.random.PRNGKey(config.seed + 1), 4)))
  kps = jnp.concatenate([data.x[:, :KP], data.x_next[:, :KP]])
  jobs = {
      "dynamics": (lambda p, b, k: models.one_step_loss(m["dynamics"], p, *b),
                   (data.x, data.u, data.x_next), m["dynamics"]),
      "score": (lambda p, b, k: score_lib.dsm_loss(m["score"], p, b, k), data.xu(),
                m["score"]),
      "keypoint_score": (lambda p, b, k: score_lib.dsm_loss(m["keypoint_score"], p, b, k),
                         kps, m["keypoint_score"]),
      "ensemble": (lambda p, b, k: models.ensemble_loss(m["ensemble"], p, *b),
                   (data.x, data.u, data.x_next), m["ensemble"]),
  }
  params, metrics = {}, {}
  for name in models_needed(config.methods):
    loss_fn, arrays, model = jobs[name]
    params[name], metrics[name] = train_model(
        name, loss_fn, m[name].init(keys[name]), arrays,
        TrainConfig.from_section(config[name], config.seed), workdir, progress,
        model=model)
  return m, params, metrics


# ------------------------------------------------------------------ task and planners
def goal_poses(config) -> np.ndarray:
  """The goal poses (G, 3): the box upright at (x_g, 0) for x_g in goals.x."""
  xs = np.asarray(config.goals.x, np.float32)
  return np.stack([xs, np.zeros_like(xs), np.zeros_like(xs)], -1)


def start_states(config, goal_pose: np.ndarray, key, params: ps.PusherSliderParams):
  """num_starts random pose states (S, 5) before `goal_pose` (module docstring)."""
  g = config.goals
  n = int(g.num_starts)
  k = jax.random.split(key, 5)
  pose = jnp.stack([
      goal_pose[0] + jax.random.uniform(k[0], (n,), minval=-g.max_across, maxval=g.max_across),
      goal_pose[1] - jax.random.uniform(k[1], (n,), minval=g.min_before, maxval=g.max_before),
      goal_pose[2] + jnp.radians(g.max_angle_deg) * jax.random.uniform(
          k[2], (n,), minval=-1.0, maxval=1.0)], -1)
  gap = jax.random.uniform(k[3], (n,), minval=g.min_gap, maxval=g.max_gap)
  offset = g.max_pusher_offset * jax.random.uniform(k[4], (n,), minval=-1.0, maxval=1.0)
  pusher = ps.pusher_at_face(pose, jnp.full((n,), 3), offset, gap, params)
  return jnp.concatenate([pose, pusher], -1)


def make_problem(m: dict, config, params: ps.PusherSliderParams) -> planning.ControlProblem:
  """The learned problem on (12-D x, normalised command a); `models` is
  {"dynamics", "score", "ensemble", "goal" (10,)}: the goal travels with the models,
  so one compiled closed loop serves every goal."""
  dyn, score = m["dynamics"], m["score"]
  weight = config.mpc.action_cost * params.u_max ** 2  # 0.1 ||u||^2 with u = u_max a
  return planning.ControlProblem(
      dim_x=ps.DIM_OBS, dim_u=ps.DIM_U,
      dynamics=lambda p, x, a: dyn(p["dynamics"], x, a),
      running_cost=lambda p, x, a, t: weight * jnp.sum(a ** 2),
      terminal_cost=lambda p, x: jnp.sum((x[:KP] - p["goal"]) ** 2),
      score=lambda p, z, level: score.score(p["score"], z, level),
      num_levels=score.num_levels)


def make_planner(name: str, config, problem, m: dict, params: ps.PusherSliderParams):
  """(planner, beta) of method `name` ('<method>' or '<method>@<beta>') at the
  configured budget."""
  base_name, beta = launcher.split_method(name)
  planner, default_beta = _planner(base_name, config, problem, m, params)
  return planner, default_beta if beta is None else beta


def _planner(name: str, config, problem, m: dict, params: ps.PusherSliderParams):
  c, s = config.mpc, config.sampling
  low, high = (-1.0, 1.0) if c.bound_plan else (None, None)  # else only execution clips
  base = dict(horizon=c.horizon, action_low=low, action_high=high, record_history=False)
  grad_cfg = planning.GradientPlannerConfig(num_iters=c.num_iters, learning_rate=c.learning_rate,
                                            init_std=c.init_std, **base)
  samp_cfg = planning.SamplingPlannerConfig(
      num_iters=c.num_iters // s.num_samples, num_samples=s.num_samples,
      num_elites=s.num_elites, sample_std=s.sample_std, min_std=s.min_std,
      smoothing=s.smoothing, temperature=s.temperature, init_std=0.0, anneal=True, **base)
  no_score = problem._replace(score=None)
  if name == "sgp":
    return planning.make_single_shooting(problem, grad_cfg), config.betas.sgp
  if name == "beta0":
    return planning.make_single_shooting(no_score, grad_cfg), 0.0
  if name == "true_model":
    step = true_step(params)
    return planning.make_single_shooting(
        no_score._replace(dynamics=lambda p, x, a: step(x, a)), grad_cfg), 0.0
  if name == "ensemble":
    loss = planning.ensemble_variance_loss(no_score, m["ensemble"], lambda p: p["ensemble"])
    return planning.make_loss_shooting(no_score, loss, grad_cfg), config.betas.ensemble
  value = planning.penalized_loss(
      problem, planning.score_value_penalty(m["score"], lambda p: p["score"]))
  if name == "cem_score":
    return planning.make_cem(problem, value, samp_cfg), config.betas.cem_score
  if name == "mppi_score":
    return planning.make_mppi(problem, value, samp_cfg), config.betas.mppi_score
  raise ValueError(f"unknown method {name!r}; choose from {METHODS}.")


def true_step(params: ps.PusherSliderParams) -> Callable:
  """The simulator on observations and normalised commands: (x (12,), a (2,)) -> x'."""
  return lambda x, a: ps.step_observation(x, params.u_max * a, params)


def true_env(params: ps.PusherSliderParams) -> SystemEnv:
  """The simulator as an env for the closed loop (observation = the 12 keypoint
  coordinates, actions = normalised commands; started at given states)."""
  return SystemEnv(true_step(params), dim_obs=12, dim_action=2)


# ------------------------------------------------------------------ evaluation
def wrap_angle(a):
  return (a + np.pi) % (2 * np.pi) - np.pi


@jax.jit
def _model_plans(model, model_params, states, plan_actions):
  """Rollouts (B, N, T+1, 12) of a dynamics model or the members' mean of an ensemble."""
  if isinstance(model, models.DynamicsEnsemble):
    one = lambda x, us: jnp.mean(model.rollout_all(model_params, x, us), 0)
  else:
    one = lambda x, us: model.rollout(model_params, x, us)
  return jax.vmap(jax.vmap(one))(states[:, :-1], plan_actions)


@functools.partial(jax.jit, static_argnames="params")
def executed_plans(states, plan_actions, params: ps.PusherSliderParams):
  """The simulator's open-loop rollouts (B, N, T+1, 12) of every replan's commands."""
  def one(x, us):
    xs = ps.rollout(ps.state_from_observation(x, params), params.u_max * us, params)
    return ps.observe(xs, params)
  return jax.vmap(jax.vmap(one))(states[:, :-1], plan_actions)


def predicted_plans(name: str, m: dict, planner_models: dict, states, plan_actions):
  """The keypoint trajectories (B, N, T+1, 12) each replan of a learned-model method
  predicts: the dynamics' rollout (the ensemble method: the members' mean rollout)."""
  key = "ensemble" if name.partition("@")[0] == "ensemble" else "dynamics"
  return _model_plans(m[key], planner_models[key], states, plan_actions)


def keypoint_rms(a, b):
  """RMS over the 5 keypoints of their distances, (...,) for a, b (..., >= 10)."""
  d2 = np.square(np.asarray(a)[..., :KP] - np.asarray(b)[..., :KP])
  return np.sqrt(d2.reshape(d2.shape[:-1] + (ps.NUM_KEYPOINTS, 2)).sum(-1).mean(-1))


def episode_metrics(config, states, actions, predicted, executed, goal_pose, params) -> dict:
  """Per-episode arrays (B,) of the reported metrics (metres and degrees) of the
  executed states (B, N+1, 12) and commands (B, N, 2)."""
  final = np.asarray(ps.fit_pose(states[:, -1, :KP], params))
  pos_err = np.linalg.norm(final[:, :2] - goal_pose[:2], axis=-1)
  ang_err = np.degrees(np.abs(wrap_angle(final[:, 2] - goal_pose[2])))
  rigidity = np.asarray(ps.rigidity_error(predicted[..., 1:, :KP], params))  # (B, N, T)
  gap = keypoint_rms(predicted[..., 1:, :], executed[..., 1:, :])  # (B, N, T)
  g = config.goals
  return {
      "final_position_error": pos_err, "final_angle_error_deg": ang_err,
      "success": (pos_err < g.success_position) & (ang_err < g.success_angle_deg),
      "plan_rigidity_error": rigidity.mean((1, 2)),
      "plan_rigidity_error_max": rigidity.max((1, 2)),
      "prediction_gap": gap.mean((1, 2)),
      "prediction_gap_final": gap[..., -1].mean(1),
      "max_abs_command": params.u_max * np.abs(np.asarray(actions)).max((1, 2)),
  }


def run_method(name: str, config, problem, m, params_models, goals, starts, params) -> dict:
  planner, beta = make_planner(name, config, problem, m, params)
  loop = closed_loop.make_mpc(true_env(params), planner, config.mpc.num_steps,
                              warm_start=config.mpc.warm_start)
  per_goal, episodes, first = [], {}, None
  start = time.time()
  for g, goal_pose in enumerate(goals):
    models = {**params_models, "goal": ps.keypoints(jnp.asarray(goal_pose), params)}
    x0s = ps.observe(starts[g], params)
    keys = jax.random.split(jax.random.PRNGKey(config.seed + 100 + g), x0s.shape[0])
    result = loop(models, x0s, keys, beta)
    states, plan_actions = result.states(), result.plans.actions
    executed = executed_plans(states, plan_actions, params)
    predicted = (executed if name == "true_model" else predicted_plans(
        name, m, models, states, plan_actions))
    metrics = episode_metrics(config, states, result.actions, predicted, executed, goal_pose,
                              params)
    per_goal.append({"goal": GOAL_NAMES[g] if len(goals) == 3 else str(g),
                     "success_rate": float(metrics["success"].mean()),
                     **{k: launcher.mean_std(v) for k, v in metrics.items() if k != "success"}})
    for k, v in metrics.items():
      episodes.setdefault(k, []).append(v)
    if g == min(1, len(goals) - 1):  # the trajectory plot's episode: the centre goal
      first = {"states": np.asarray(states[0]).tolist(),
               "commands": (params.u_max * np.asarray(result.actions[0])).tolist(),
               "plan_predicted": np.asarray(predicted[0]).tolist(),
               "goal_pose": goal_pose.tolist()}
  seconds = time.time() - start
  episodes = {k: np.concatenate(v) for k, v in episodes.items()}
  base_name = name.partition("@")[0]
  evaluations = planner.config.num_iters * (
      1 if base_name in GRADIENT_METHODS else config.sampling.num_samples)
  members = config.ensemble.num_members if base_name == "ensemble" else 1
  return {
      "method": name, "beta": float(beta),
      "trajectory_evaluations_per_replan": evaluations,
      "model_rollouts_per_replan": evaluations * members,
      "num_episodes": int(episodes["success"].size),
      "success_rate": float(episodes["success"].mean()),
      **{k: launcher.mean_std(v) for k, v in episodes.items() if k != "success"},
      "per_goal": per_goal, "example_episode": first,
      "seconds_incl_compile": seconds}


def stabilise(config, m, params_models, data, params) -> dict:
  """Noisy keypoints pulled back by annealed gradient ascent on the keypoint score."""
  c = config.stabilisation
  key_pick, key_noise, key_run = jax.random.split(jax.random.PRNGKey(config.seed + 7), 3)
  idx = jax.random.choice(key_pick, data.x.shape[0], (c.num_points,), replace=False)
  clean = data.x[idx, :KP]
  noisy = clean + c.noise * jax.random.normal(key_noise, clean.shape)
  out = annealed_langevin(m["keypoint_score"], params_models["keypoint_score"], noisy,
                          key_run, c.num_steps, c.step_size, noise=False)
  before, after = np.asarray(ps.rigidity_error(noisy, params)), np.asarray(
      ps.rigidity_error(out, params))
  return {"noise_std": c.noise, "num_points": int(c.num_points),
          "rigidity_error_before": launcher.mean_std(before),
          "rigidity_error_after": launcher.mean_std(after),
          "rigidity_reduction": float(before.mean() / max(after.mean(), 1e-12)),
          "rms_to_clean_before": launcher.mean_std(keypoint_rms(noisy, clean)),
          "rms_to_clean_after": launcher.mean_std(keypoint_rms(out, clean)),
          "examples": {"clean": np.asarray(clean[:4]).tolist(),
                       "noisy": np.asarray(noisy[:4]).tolist(),
                       "stabilised": np.asarray(out[:4]).tolist()}}


# ------------------------------------------------------------------ plots
def _box_outline(kp):
  k = np.asarray(kp)[:8].reshape(4, 2)
  return np.vstack([k, k[:1]])


def plot_trajectories(rows, path: str, params) -> str:
  """The box and pusher over time, one panel per method, from the same start."""
  plt = launcher.pyplot()
  fig, axes = plt.subplots(1, len(rows), figsize=(4.2 * len(rows), 4.6), squeeze=False)
  for ax, row in zip(axes[0], rows):
    ep = row["example_episode"]
    xs = np.asarray(ep["states"])
    goal = np.asarray(ps.keypoints(jnp.asarray(ep["goal_pose"]), params))
    n = len(xs)
    for t in range(0, n, max(1, n // 6)):
      ax.plot(*_box_outline(xs[t]).T, color="tab:blue", alpha=0.25 + 0.75 * t / n, lw=1)
    ax.plot(*_box_outline(xs[-1]).T, color="tab:blue", lw=2, label="true box, final")
    ax.plot(*_box_outline(goal).T, "k--", lw=1.5, label="goal")
    ax.plot(xs[:, 10], xs[:, 11], ".-", color="tab:red", ms=3, label="pusher")
    pred = np.asarray(ep["plan_predicted"][0])  # the first replan's predicted keypoints
    ax.plot(pred[:, 0:8:2].ravel(), pred[:, 1:8:2].ravel(), "x", color="tab:orange",
            ms=3, label="1st plan: predicted corners")
    ax.set_aspect("equal")
    ax.set_title(f"{row['method']} (β={row['beta']:g}): success "
                 f"{row['success_rate']:.0%}", fontsize=9)
    ax.legend(fontsize=6, loc="lower right")
  launcher.save_figure(fig, path, dpi=100)
  return path


def plot_metrics(rows, path: str) -> str:
  plt = launcher.pyplot()
  fig, axes = plt.subplots(1, 4, figsize=(18, 4))
  names = [r["method"] for r in rows]
  bars = [("success_rate", "success rate", None),
          ("final_position_error", "true final position error [m]", "mean"),
          ("plan_rigidity_error", "rigidity error of predicted keypoints [m]", "mean"),
          ("prediction_gap", "predicted vs executed keypoints (RMS) [m]", "mean")]
  for ax, (key, label, stat) in zip(axes, bars):
    if stat is None:
      ax.bar(names, [r[key] for r in rows], color="tab:green", alpha=0.7)
    else:
      ax.bar(names, [r[key]["mean"] for r in rows], yerr=[r[key]["std"] for r in rows],
             color="tab:blue", alpha=0.7, capsize=3)
      if key != "final_position_error":  # true_model's zeros sit at the floor
        ax.set_yscale("log")
        ax.set_ylim(bottom=1e-4)
    ax.set_title(label, fontsize=9)
    ax.tick_params(axis="x", rotation=30)
  launcher.save_figure(fig, path, dpi=100)
  return path


def plot_stabilisation(stab, path: str, params) -> str:
  plt = launcher.pyplot()
  fig, axes = plt.subplots(1, 4, figsize=(16, 4))
  ex = stab["examples"]
  for ax, clean, noisy, out in zip(axes, ex["clean"], ex["noisy"], ex["stabilised"]):
    for kp, style, label in ((clean, "k-", "clean"), (noisy, "r:", "noisy"),
                             (out, "g--", "stabilised")):
      ax.plot(*_box_outline(kp).T, style, label=label)
      ax.plot(kp[8], kp[9], style[0] + "o", ms=3)
    ax.set_title(f"rigidity {np.asarray(ps.rigidity_error(jnp.asarray(noisy), params)):.4f}"
                 f" → {np.asarray(ps.rigidity_error(jnp.asarray(out), params)):.4f} m",
                 fontsize=9)
    ax.set_aspect("equal")
  axes[0].legend(fontsize=7)
  fig.suptitle(f"keypoint stabilisation (noise σ = {stab['noise_std']} m): mean rigidity "
               f"error {stab['rigidity_error_before']['mean']:.4f} → "
               f"{stab['rigidity_error_after']['mean']:.4f} m", fontsize=10)
  launcher.save_figure(fig, path, dpi=100)
  return path


def animate_episode(row, path: str, params) -> str:
  """A GIF of one episode: the true box and pusher, the goal and each replan's
  predicted keypoints."""
  from matplotlib import animation
  plt = launcher.pyplot()
  ep = row["example_episode"]
  xs = np.asarray(ep["states"])
  pred = np.asarray(ep["plan_predicted"])
  goal = np.asarray(ps.keypoints(jnp.asarray(ep["goal_pose"]), params))
  fig, ax = plt.subplots(figsize=(4.5, 4.5))
  everything = np.concatenate([xs[:, :KP].reshape(-1, 2), pred[..., :KP].reshape(-1, 2),
                               goal.reshape(-1, 2), xs[:, 10:]])
  lo, hi = everything.min(0) - 0.03, everything.max(0) + 0.03

  def draw(t):
    ax.clear()
    ax.plot(*_box_outline(goal).T, "k--", lw=1.5)
    ax.plot(*_box_outline(xs[t]).T, color="tab:blue", lw=2)
    ax.plot(xs[:t + 1, 10], xs[:t + 1, 11], "-", color="tab:red", lw=1)
    ax.plot(xs[t, 10], xs[t, 11], "o", color="tab:red", ms=6)
    if t < len(pred):
      ax.plot(pred[t, :, 0:8:2].ravel(), pred[t, :, 1:8:2].ravel(), "x",
              color="tab:orange", ms=3)
    ax.set_xlim(lo[0], hi[0]); ax.set_ylim(lo[1], hi[1]); ax.set_aspect("equal")
    ax.set_title(f"{row['method']}: step {t}", fontsize=9)

  anim = animation.FuncAnimation(fig, draw, frames=len(xs))
  if distributed.is_primary():
    anim.save(path, writer=animation.PillowWriter(fps=4))
  plt.close(fig)
  return path


# ------------------------------------------------------------------ run
def run(config, workdir: str, progress: Optional[Callable] = None) -> dict:
  """Data, models, every method in closed loop, stabilisation; writes summary.json,
  trajectories.png, metrics.png, stabilisation.png and episode.gif."""
  check_config(config)
  launcher.make_workdir(workdir)
  params = sim_params(config)
  t0 = time.time()
  ds, data = make_data(config, params)
  m, params_models, train_metrics = train_models(config, data, workdir, progress)
  t1 = time.time()
  goals = goal_poses(config)
  start_key = jax.random.fold_in(jax.random.PRNGKey(config.seed + 50), config.goals.start_seed)
  starts = [start_states(config, goal, jax.random.fold_in(start_key, g), params)
            for g, goal in enumerate(goals)]
  problem = make_problem(m, config, params)
  planner_models = {k: v for k, v in params_models.items() if k != "keypoint_score"}
  if "ensemble" not in planner_models:  # the planners' pytree is the same for every method
    planner_models["ensemble"] = None
  rows = []
  for name in config.methods:
    rows.append(run_method(name, config, problem, m, planner_models, goals, starts, params))
    if distributed.is_primary():  # progress: one line per method
      print(f"closed loop {name:>14}: success {rows[-1]['success_rate']:4.0%}, final "
            f"position error {100 * rows[-1]['final_position_error']['mean']:.2f} cm "
            f"({rows[-1]['seconds_incl_compile']:.0f} s)", flush=True)
  t2 = time.time()
  stab = stabilise(config, m, params_models, data, params)
  summary = {
      "data": {"num_transitions": ds.num, "metadata": ds.metadata},
      "per_method": rows, "stabilisation": stab, "training": train_metrics,
      "seconds": {"data_and_training": t1 - t0, "mpc": t2 - t1, "total": time.time() - t0}}
  launcher.write_summary(workdir, summary, config)
  summary["plots"] = [
      plot_trajectories(rows, os.path.join(workdir, "trajectories.png"), params),
      plot_metrics(rows, os.path.join(workdir, "metrics.png")),
      plot_stabilisation(stab, os.path.join(workdir, "stabilisation.png"), params),
      animate_episode(rows[0], os.path.join(workdir, "episode.gif"), params)]
  return summary


def format_summary(summary: dict) -> str:
  lines = [f"{'method':>11} {'beta':>7} {'success':>7} {'pos err [cm]':>13} "
           f"{'angle err [deg]':>15} {'plan rigidity [mm]':>18} {'pred gap [mm]':>14} "
           f"{'s':>5}"]
  for r in summary["per_method"]:
    f = lambda k, scale: f"{scale * r[k]['mean']:.2f}±{scale * r[k]['std']:.2f}"
    lines.append(f"{r['method']:>11} {r['beta']:>7g} {r['success_rate']:>7.0%} "
                 f"{f('final_position_error', 100):>13} {f('final_angle_error_deg', 1):>15} "
                 f"{f('plan_rigidity_error', 1000):>18} {f('prediction_gap', 1000):>14} "
                 f"{r['seconds_incl_compile']:>5.0f}")
  first = summary["per_method"][0]
  lines.append(f"(mean ± std over {first['num_episodes']} episodes; "
               f"{first['trajectory_evaluations_per_replan']} trajectory evaluations per "
               "replan)")
  s = summary["stabilisation"]
  lines.append(f"keypoint stabilisation (noise {s['noise_std']} m): rigidity error "
               f"{1000 * s['rigidity_error_before']['mean']:.2f} -> "
               f"{1000 * s['rigidity_error_after']['mean']:.2f} mm "
               f"({s['rigidity_reduction']:.1f}x smaller)")
  lines.append(f"total {summary['seconds']['total']:.0f} s; plots: "
               f"{', '.join(summary.get('plots', []))}")
  return "\n".join(lines)
