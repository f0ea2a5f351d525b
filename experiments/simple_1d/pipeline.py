"""1D illustrations (SPEC B.1, B.2, E.2, E.3): distance, likelihood and learned score
coincide; ensembles and GPs vs the smoothed distance as uncertainty metrics.

Part 1 (B.2, `likelihood_part`): 3 points, sigma = 0.2. Plots p_sigma; -log p_sigma
vs the softmin energy E = d_sigma / sigma^2 vs a learned data-distance estimator
(DDE), all shifted to zero minimum; the autodiff gradient of E vs the negated
DSM-learned score vs the DDE's gradient. Reports max |learned score - exact
score| and the relative L2 error where p_sigma has mass.

Part 2 (B.1, `admissibility_part`): 3 points of f(x) = x^2 sin x. An ensemble of
3 MLPs, a GP (RBF, length scale 0.1; posterior written here in jnp) and the
smoothed distance d_sigma (sigma = 0.1), each against the true squared error of
its predictor. Reports, per metric, the largest true error where the metric
says "certain", the fraction of the grid that is confidently wrong, and the
metric's local minima away from the data.
"""
from __future__ import annotations

import os
import time
from typing import Callable, Optional

import chex
import jax
import jax.numpy as jnp
import numpy as np

from experiments import launcher
from sgp_jax import distance, networks, score as score_lib
from sgp_jax.models import point_score_model, train_model
from sgp_jax.normalization import Normalizer
from sgp_jax.systems import toy1d
from sgp_jax.training import TrainConfig
from sgp_jax.types import Array
from sgp_jax import models


# ------------------------------------------------------------ part 1: B.2
def likelihood_part(config, workdir: str, progress: Optional[Callable] = None) -> dict:
  c = config.likelihood
  data = toy1d.sample_points(jax.random.PRNGKey(c.seed), c.num_points)
  grid = toy1d.grid(num=config.grid_points)
  sigma = c.sigma
  metric = jnp.asarray([1.0 / sigma ** 2])

  model = point_score_model(Normalizer.identity(1), [sigma], config.score.hidden,
                            config.score.activation)
  key_score, key_dde = jax.random.split(jax.random.PRNGKey(c.seed))
  tiled = jnp.tile(data, (c.tile, 1))  # minibatches of batch_size from 3 points
  score_params, score_metrics = train_model(
      "score", lambda p, b, k: score_lib.dsm_loss(model, p, b, k), model.init(key_score),
      tiled, TrainConfig.from_section(config.score, c.seed), workdir, progress, model=model)

  d = config.dde
  dde, dde_params, dde_result = models.fit_data_distance(
      data, [-d.domain], [d.domain], metric, d.hidden, d.activation, d.num_points,
      TrainConfig.from_section(d, c.seed), key_dde,
      workdir=os.path.join(workdir, "train_state", "dde"),
      progress_fn=(lambda e, m: progress("dde", e, m)) if progress else None)

  log_p = distance.log_density(grid, data, sigma)
  energy = distance.softmin_energy(grid, data, metric)          # d_sigma / sigma^2
  energy_grad = jax.vmap(jax.grad(lambda z: distance.softmin_energy(z, data, metric)))(grid)
  exact_score = distance.empirical_score(grid, data, sigma)
  learned_score = model.score(score_params, grid)
  dde_energy = dde(dde_params, grid)
  dde_grad = jax.vmap(jax.grad(lambda z: dde(dde_params, z)))(grid)
  chex.assert_equal_shape([exact_score, learned_score, energy_grad, dde_grad])

  mass = np.asarray(jnp.exp(log_p) > config.mass_fraction * jnp.max(jnp.exp(log_p)))
  err = np.asarray(learned_score - exact_score)[mass, 0]
  exact = np.asarray(exact_score)[mass, 0]
  shifted = lambda e: np.asarray(e - jnp.min(e))
  # -log p_sigma and E differ by a constant: check it is one (float32 round-off).
  const_gap = np.asarray(-log_p - energy)
  dde_gap = np.asarray(dde_energy - energy)[mass]
  metrics = {
      "data": np.asarray(data[:, 0]).tolist(),
      "sigma": sigma,
      "neg_log_p_minus_energy_range": float(const_gap.max() - const_gap.min()),
      "autodiff_grad_plus_exact_score_max_abs": float(
          jnp.max(jnp.abs(energy_grad + exact_score))),
      "learned_score_max_abs_error": float(np.max(np.abs(err))),
      "learned_score_relative_l2_error": float(np.linalg.norm(err) / np.linalg.norm(exact)),
      "max_abs_exact_score_on_mass": float(np.max(np.abs(exact))),
      "dde_energy_max_abs_error_up_to_constant": float(
          np.max(np.abs(dde_gap - dde_gap.mean()))),
      "dde_grad_relative_l2_error": float(
          np.linalg.norm(np.asarray(dde_grad - energy_grad)[mass])
          / np.linalg.norm(np.asarray(energy_grad)[mass])),
      "grid_fraction_with_mass": float(mass.mean()),
      "training": {"score": score_metrics,
                   "dde": {"best_val_loss": float(dde_result.state.best_val)}},
  }
  curves = {"x": np.asarray(grid[:, 0]), "p": np.exp(np.asarray(log_p)),
            "neg_log_p": shifted(-log_p), "energy": shifted(energy),
            "dde": shifted(dde_energy), "energy_grad": np.asarray(energy_grad[:, 0]),
            "neg_learned_score": -np.asarray(learned_score[:, 0]),
            "dde_grad": np.asarray(dde_grad[:, 0]), "data": np.asarray(data[:, 0]),
            "mass": mass}
  return metrics, curves


# ------------------------------------------------------------ part 2: B.1
def gp_posterior(x_train: Array, y_train: Array, x: Array, length_scale: float,
                 noise: float = 1e-6, signal_var: float = 1.0):
  """GP regression with an RBF kernel: posterior mean and variance at x.

  x_train (N, 1), y_train (N,), x (M, 1) -> mean (M,), var (M,).
  """
  chex.assert_rank([x_train, y_train, x], [2, 1, 2])
  def kernel(a, b):
    return signal_var * jnp.exp(-0.5 * jnp.sum((a[:, None] - b[None]) ** 2, -1)
                                / length_scale ** 2)
  gram = kernel(x_train, x_train) + noise * jnp.eye(x_train.shape[0])
  chol = jnp.linalg.cholesky(gram)
  cross = kernel(x, x_train)                                      # (M, N)
  alpha = jax.scipy.linalg.cho_solve((chol, True), y_train)
  v = jax.scipy.linalg.solve_triangular(chol, cross.T, lower=True)  # (N, M)
  return cross @ alpha, signal_var - jnp.sum(v ** 2, 0)


def train_regression_ensemble(config, x: Array, y: Array, workdir: str,
                              progress: Optional[Callable] = None):
  """K MLPs x -> y trained jointly (summed MSE) in one loop; returns (net, params)."""
  e = config.ensemble
  net = networks.MLP(tuple(e.hidden), 1, e.activation)
  params = networks.init_ensemble(lambda k: net.init(k, jnp.zeros((1, 1))),
                                  jax.random.PRNGKey(config.admissibility.seed),
                                  e.num_members)
  def loss(p, batch, key):
    xb, yb = batch
    pred = jax.vmap(lambda q: net.apply(q, xb)[:, 0])(p)          # (K, B)
    return jnp.sum(jnp.mean((pred - yb[None]) ** 2, -1))
  t = config.admissibility.tile
  params, metrics = train_model(
      "ensemble", loss, params, (jnp.tile(x, (t, 1)), jnp.tile(y, t)),
      TrainConfig.from_section(e, config.admissibility.seed), workdir, progress)
  return net, params, metrics


def _local_minima_away(values: np.ndarray, xs: np.ndarray, data: np.ndarray,
                       tol: float) -> list:
  """Grid locations of strict local minima farther than tol from every data point."""
  interior = (values[1:-1] < values[:-2]) & (values[1:-1] < values[2:])
  where = xs[1:-1][interior]
  far = np.min(np.abs(where[:, None] - data[None]), -1) > tol if where.size else where
  return where[far].tolist() if where.size else []


def admissibility_part(config, workdir: str, progress: Optional[Callable] = None):
  c = config.admissibility
  x = toy1d.sample_points(jax.random.PRNGKey(c.seed), c.num_points)
  y = toy1d.target(x[:, 0])
  grid = toy1d.grid(num=config.grid_points)
  truth = toy1d.target(grid[:, 0])

  net, params, ens_metrics = train_regression_ensemble(config, x, y, workdir, progress)
  preds = jax.vmap(lambda q: net.apply(q, grid)[:, 0])(params)     # (K, M)
  ens_mean, ens_var = jnp.mean(preds, 0), jnp.var(preds, 0, ddof=1)
  gp_mean, gp_var = gp_posterior(x, y, grid, c.gp_length_scale, c.gp_noise)
  dist = distance.smoothed_distance(grid, x, c.sigma)
  single = preds[0]

  xs, data = np.asarray(grid[:, 0]), np.asarray(x[:, 0])
  methods = {  # metric, the predictor whose true error it should flag
      "ensemble_variance": (ens_var, ens_mean),
      "gp_variance": (gp_var, gp_mean),
      "smoothed_distance": (dist, single),
  }
  out, curves = {}, {"x": xs, "data": data, "y": np.asarray(y), "truth": np.asarray(truth),
                     "preds": np.asarray(preds), "gp_mean": np.asarray(gp_mean)}
  for name, (metric, pred) in methods.items():
    metric, sq_err = np.asarray(metric), np.asarray((pred - truth) ** 2)
    m_rel = (metric - metric.min()) / (metric.max() - metric.min())
    certain = m_rel < c.small_metric
    wrong = sq_err > c.large_error * sq_err.max()
    out[name] = {
        "max_true_sq_error_where_metric_small": float(sq_err[certain].max()),
        "true_sq_error_max": float(sq_err.max()),
        "fraction_confidently_wrong": float(np.mean(certain & wrong)),
        "max_underestimate": float(np.max(sq_err / sq_err.max() - m_rel)),
        "local_minima_away_from_data": _local_minima_away(metric, xs, data, c.sigma),
        "spearman_with_true_error": _spearman(metric, sq_err),
    }
    curves[name] = (metric, sq_err)
  out["descent"] = descent_to_data(config, x, net, params)
  out["training"] = {"ensemble": ens_metrics}
  out["data"] = data.tolist()
  return out, curves


def descent_to_data(config, data: Array, net, params) -> dict:
  """SPEC E.3 from uniform starts on [-2, 2]: annealed mean shift on d_sigma (sigma
  geometric from sigma_max to sigma_min) vs gradient descent on the ensemble
  variance. Returns each method's final distances to the nearest data point."""
  d = config.descent
  starts = jnp.linspace(-2.0, 2.0, d.num_starts)[:, None]
  sigmas = np.geomspace(d.sigma_max, d.sigma_min, d.num_levels)
  def shift(z, sigma):
    z = jax.lax.fori_loop(0, d.steps_per_level,
                          lambda i, z: distance.mean_shift(z, data, sigma), z)
    return z, None
  z_ms, _ = jax.lax.scan(shift, starts, jnp.asarray(sigmas, jnp.float32))
  var = lambda z: jnp.var(jax.vmap(lambda q: net.apply(q, z)[:, 0])(params), 0, ddof=1)
  grad = jax.grad(lambda z: jnp.sum(var(z)))
  z_gd = jax.lax.fori_loop(0, d.gd_steps, lambda i, z: z - d.gd_lr * grad(z), starts)
  out = {}
  for name, z in (("annealed_mean_shift", z_ms), ("ensemble_variance_descent", z_gd)):
    dist = np.asarray(distance.nearest_distance(z, data))
    out[name] = {"final_distance_to_data_max": float(dist.max()),
                 "final_distance_to_data_median": float(np.median(dist)),
                 "fraction_farther_than_0.05": float(np.mean(dist > 0.05)),
                 "ends": np.asarray(z[:, 0]).tolist()}
  out["sigma_min"] = d.sigma_min
  return out


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
  ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
  return float(np.corrcoef(ra, rb)[0, 1])


# ------------------------------------------------------------------ plots
def plot_likelihood(curves: dict, path: str) -> str:
  plt = launcher.pyplot()
  fig, axes = plt.subplots(1, 3, figsize=(15, 4))
  xs, data = curves["x"], curves["data"]
  axes[0].plot(xs, curves["p"], color="k")
  axes[0].set_title("p_σ (Gaussian-smoothed data)")
  axes[1].plot(xs, curves["neg_log_p"], "k-", lw=3, alpha=0.4, label="−log p_σ")
  axes[1].plot(xs, curves["energy"], "b--", label="softmin energy d_σ/σ²")
  axes[1].plot(xs, curves["dde"], "r:", lw=2, label="learned DDE")
  axes[1].set_title("levels (shifted to min 0)")
  axes[2].plot(xs, curves["energy_grad"], "k-", lw=3, alpha=0.4, label="∇ energy (autodiff)")
  axes[2].plot(xs, curves["neg_learned_score"], "b--", label="− learned score (DSM)")
  axes[2].plot(xs, curves["dde_grad"], "r:", lw=2, label="∇ DDE")
  axes[2].set_ylim(np.min(curves["energy_grad"]) * 1.2, np.max(curves["energy_grad"]) * 1.2)
  axes[2].set_title("gradients")
  for ax in axes:
    ax.plot(data, np.zeros_like(data), "ko", ms=6)
    ax.set_xlabel("x")
  axes[1].legend(); axes[2].legend()
  launcher.save_figure(fig, path, dpi=100)
  return path


def plot_admissibility(curves: dict, path: str) -> str:
  plt = launcher.pyplot()
  fig, axes = plt.subplots(2, 3, figsize=(15, 7.5))
  xs, data, y = curves["x"], curves["data"], curves["y"]
  preds, truth = curves["preds"], curves["truth"]
  titles = {"smoothed_distance": "single NN + smoothed distance (σ=0.1)",
            "gp_variance": "GP (RBF, ℓ=0.1)", "ensemble_variance": "ensemble of 3 MLPs"}
  fits = {"smoothed_distance": preds[:1], "gp_variance": curves["gp_mean"][None],
          "ensemble_variance": preds}
  for j, name in enumerate(["smoothed_distance", "gp_variance", "ensemble_variance"]):
    metric, sq_err = curves[name]
    ax = axes[0, j]
    ax.plot(xs, truth, "k-", lw=2, label="f(x) = x² sin x")
    for p in fits[name]:
      ax.plot(xs, p, "-", alpha=0.7)
    ax.plot(data, y, "ro", label="data")
    ax.set_ylim(-5, 5); ax.set_title(titles[name]); ax.legend(fontsize=8)
    ax = axes[1, j]
    ax.plot(xs, sq_err / sq_err.max(), "k-", label="true sq. error (÷ max)")
    ax.plot(xs, (metric - metric.min()) / (metric.max() - metric.min()), "b--",
            label=name.replace("_", " ") + " (÷ max)")
    ax.plot(data, np.zeros_like(data), "ro")
    ax.set_xlabel("x"); ax.legend(fontsize=8)
  launcher.save_figure(fig, path, dpi=100)
  return path


# -------------------------------------------------------------------- run
def run(config, workdir: str, progress: Optional[Callable] = None) -> dict:
  """Both parts; writes summary.json, likelihood.png and admissibility.png."""
  launcher.check_nonempty(config, "descent.num_starts")
  launcher.make_workdir(workdir)
  t0 = time.time()
  likelihood, lik_curves = likelihood_part(config, workdir, progress)
  admissibility, adm_curves = admissibility_part(config, workdir, progress)
  summary = {"likelihood": likelihood, "admissibility": admissibility,
             "total_seconds": time.time() - t0}
  launcher.write_summary(workdir, summary, config)
  summary["plots"] = [plot_likelihood(lik_curves, os.path.join(workdir, "likelihood.png")),
                      plot_admissibility(adm_curves,
                                         os.path.join(workdir, "admissibility.png"))]
  return summary


def format_summary(summary: dict) -> str:
  lik, adm = summary["likelihood"], summary["admissibility"]
  lines = ["B.2 distance / likelihood / score (sigma = %g):" % lik["sigma"],
           f"  learned score: max |s - s_exact| = {lik['learned_score_max_abs_error']:.3g}, "
           f"rel. L2 = {lik['learned_score_relative_l2_error']:.3g} "
           f"(max |s_exact| = {lik['max_abs_exact_score_on_mass']:.3g})",
           f"  DDE: max |E_hat - E| (up to a constant) = "
           f"{lik['dde_energy_max_abs_error_up_to_constant']:.3g}, grad rel. L2 = "
           f"{lik['dde_grad_relative_l2_error']:.3g}",
           "B.1 uncertainty metrics vs true squared error:"]
  for name in ("smoothed_distance", "gp_variance", "ensemble_variance"):
    m = adm[name]
    lines.append(f"  {name:18s} max err where metric small = "
                 f"{m['max_true_sq_error_where_metric_small']:.3g} "
                 f"(max err {m['true_sq_error_max']:.3g}); confidently wrong "
                 f"{m['fraction_confidently_wrong']:.3f}; minima away from data "
                 f"{len(m['local_minima_away_from_data'])}; spearman "
                 f"{m['spearman_with_true_error']:.2f}; max underestimate "
                 f"{m['max_underestimate']:.2f}")
  for name, m in adm["descent"].items():
    if isinstance(m, dict):
      lines.append(f"  descent {name}: final distance to data max "
                   f"{m['final_distance_to_data_max']:.3g}, fraction > 0.05: "
                   f"{m['fraction_farther_than_0.05']:.2f}")
  lines.append(f"total {summary['total_seconds']:.0f} s; plots: {summary.get('plots')}")
  return "\n".join(lines)
