"""Noise-conditioned score of points on a circle, and annealed Langevin (SPEC B.3, E.2).

1000 points on the radius-3 circle; a noise-conditioned score network (cosine
levels 0.25 -> 0.05 in normalised units, normaliser k = 2r) trained by DSM with
one level per minibatch; then noise-free annealed Langevin (annealed gradient
ascent on log p, `sgp_jax.sampling.annealed_langevin`) moves 20 particles from
Gaussian starts onto the circle. Reported: mean and max | ||z|| - r | of the
particles, and per level the relative L2 error of the learned score against the
exact score of the smoothed data on samples of p_sigma (SPEC E.2).
"""
from __future__ import annotations

import os
import time
from typing import Callable, Optional

import jax
import jax.numpy as jnp
import numpy as np

from experiments import launcher
from sgp_jax import distance, sampling, score as score_lib
from sgp_jax.models import ScoreModel, point_score_model, train_model
from sgp_jax.normalization import Normalizer
from sgp_jax.systems import circle
from sgp_jax.training import TrainConfig


def build_model(config) -> ScoreModel:
  c = config.score
  sigmas = score_lib.cosine_sigmas(c.sigma_max, c.sigma_min, c.num_levels)
  return point_score_model(Normalizer.from_scale(2 * config.radius, 0.0, dim=2), sigmas,
                           c.hidden, c.activation)


def score_errors(model, params, data, key, num: int) -> list:
  """Per level: ||s_learned - s_exact|| / ||s_exact|| (normalised units) on samples
  z_bar = data_bar + sigma_l eps of the smoothed data."""
  data_bar = model.normalizer.normalize(data)
  out = []
  for level, sigma in enumerate(np.asarray(model.sigmas)):
    k1, k2 = jax.random.split(jax.random.fold_in(key, level))
    idx = jax.random.randint(k1, (num,), 0, data.shape[0])
    z = data_bar[idx] + sigma * jax.random.normal(k2, (num, data.shape[1]))
    exact = distance.empirical_score(z, data_bar, float(sigma))
    learned = model.score_normalized(params, z, level)
    out.append(float(jnp.linalg.norm(learned - exact) / jnp.linalg.norm(exact)))
  return out


def plot(data, z0, z, model, params, path: str, radius: float) -> str:
  plt = launcher.pyplot()
  fig, ax = plt.subplots(figsize=(6, 6))
  g = np.linspace(-1.6 * radius, 1.6 * radius, 21)
  gx, gy = np.meshgrid(g, g)
  pts = jnp.asarray(np.stack([gx.ravel(), gy.ravel()], -1), jnp.float32)
  s = np.asarray(model.score(params, pts, model.num_levels // 2))
  ax.quiver(gx, gy, s[:, 0].reshape(gx.shape), s[:, 1].reshape(gx.shape), color="0.6",
            label=f"learned score (level {model.num_levels // 2})")
  ax.plot(data[:, 0], data[:, 1], ".", color="tab:blue", ms=2, label="data")
  for a, b in zip(np.asarray(z0), np.asarray(z)):
    ax.plot([a[0], b[0]], [a[1], b[1]], "-", color="tab:red", lw=0.5, alpha=0.5)
  ax.plot(z0[:, 0], z0[:, 1], "kx", label="start")
  ax.plot(z[:, 0], z[:, 1], "o", color="tab:red", label="annealed Langevin end")
  ax.set_aspect("equal"); ax.legend(loc="upper right", fontsize=8)
  ax.set_title("noise-free annealed Langevin on the circle score")
  launcher.save_figure(fig, path, dpi=100)
  return path


def run(config, workdir: str, progress: Optional[Callable] = None) -> dict:
  """Trains the score, samples, and writes summary.json and circle.png."""
  launcher.check_nonempty(config, "langevin.num_particles")
  launcher.make_workdir(workdir)
  t0 = time.time()
  key_data, key_init, key_z0, key_eval, key_lv = jax.random.split(
      jax.random.PRNGKey(config.seed), 5)
  data = circle.sample(key_data, config.num_points, config.radius)
  model = build_model(config)
  params, train_metrics = train_model(
      "score", lambda p, b, k: score_lib.dsm_loss(model, p, b, k), model.init(key_init),
      data, TrainConfig.from_section(config.score, config.seed), workdir, progress,
      model=model)
  lv = config.langevin
  z0 = lv.init_std * jax.random.normal(key_z0, (lv.num_particles, 2))
  z = sampling.annealed_langevin(model, params, z0, key_lv, lv.num_steps, lv.step_size,
                                 noise=lv.noise)
  err = np.asarray(circle.radial_error(z, config.radius))
  summary = {
      "radial_error_mean": float(err.mean()), "radial_error_max": float(err.max()),
      "radial_error_start_mean": float(np.mean(circle.radial_error(z0, config.radius))),
      "sigmas": np.asarray(model.sigmas).tolist(),
      "score_relative_l2_error_per_level": score_errors(model, params, data, key_eval,
                                                        config.eval_points),
      "particles_start": np.asarray(z0).tolist(), "particles_end": np.asarray(z).tolist(),
      "training": {"score": train_metrics}, "total_seconds": time.time() - t0}
  launcher.write_summary(workdir, summary, config)
  summary["plot"] = plot(np.asarray(data), np.asarray(z0), np.asarray(z), model, params,
                         os.path.join(workdir, "circle.png"), config.radius)
  return summary


def format_summary(summary: dict) -> str:
  errs = ", ".join(f"{e:.3f}" for e in summary["score_relative_l2_error_per_level"])
  return "\n".join([
      f"annealed Langevin: mean | |z| - r | = {summary['radial_error_mean']:.4f} "
      f"(max {summary['radial_error_max']:.4f}; at start "
      f"{summary['radial_error_start_mean']:.3f})",
      f"score rel. L2 error per level (sigma {summary['sigmas'][0]:.3g} -> "
      f"{summary['sigmas'][-1]:.3g}): {errs}",
      f"total {summary['total_seconds']:.0f} s; plot: {summary.get('plot')}"])
