"""The benchmark's figures (Agg) and the brax HTML render of an episode."""
from __future__ import annotations

import jax
import numpy as np

from experiments import launcher
from sgp_jax import closed_loop, distributed


def plot_episode_diagnosis(summary: dict, series: dict, path: str) -> str:
  """Plan error and distance to data against time, one line per episode (falls in red)."""
  plt = launcher.pyplot()
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
  launcher.save_figure(fig, path, dpi=100)
  return path


def render(env, config, actions, path: str) -> str:
  """brax HTML viewer of episode 0 (re-run from its reset key with its actions)."""
  from brax.io import html
  keys_reset, _ = closed_loop.episode_keys(jax.random.PRNGKey(config.eval.seed),
                                           config.eval.num_seeds * config.eval.episodes_per_seed)
  states = [s.pipeline_state for s in closed_loop.replay(env, keys_reset[0], actions)]
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
  """`diagnostics.diagnose`'s state error by plan step, and the first plan's
  position and forward velocity, predicted vs true."""
  plt = launcher.pyplot()
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
  launcher.save_figure(fig, path, dpi=100)
  return path
