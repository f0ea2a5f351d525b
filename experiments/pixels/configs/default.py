"""Pixel configs (SPEC B.7). Pick one as --config=experiments/pixels/configs/default.py
or with a variant after a colon, ...default.py:<variant>:
  (none)  N = 32 (dim x = dim u = 1024), sized for 2 CPU cores
  sweep   the same task and methods at N = 8, 16 and 32 (the dimension sweep)
  gpu     the SPEC's sizes: wide U-Nets, 232 geometric levels 50 -> 0.01, 2,000
          epochs on 200k samples, 10 ensemble members, 1,472 iterations
"""
import ml_collections

VARIANTS = {
    "": {},
    "sweep": {"world.sizes": (8, 16, 32)},
    "gpu": {"data.num_samples": 200_000, "score.features": (128, 128, 256, 256),
            "score.sigma_max": 50.0, "score.sigma_min": 0.01, "score.num_levels": 232,
            "score.epochs": 2000, "ensemble.num_members": 10,
            "ensemble.features": (128, 128, 256, 256), "ensemble.epochs": 2000,
            "plan.num_iters": 1472},  # 1,450 rounded up to a multiple of 32 samples
}


def get_config(variant: str = "") -> ml_collections.ConfigDict:
  if variant not in VARIANTS:
    raise ValueError(f"unknown pixel config variant {variant!r}; choose from "
                     f"{sorted(v for v in VARIANTS if v)} (or none).")
  c = ml_collections.ConfigDict()
  c.seed = 0
  # The image world (sgp_jax.systems.pixel_integrator.PixelWorld); one run per size.
  c.world = ml_collections.ConfigDict(dict(
      sizes=(32,), fov=1.2, u_fov=0.2, blob_px=0.7, u_max=0.1, hole_radius=0.4,
      x_max=1.0))
  c.data = ml_collections.ConfigDict(dict(num_samples=16_000))
  train = dict(batch_size=128, learning_rate=3e-3, validation_fraction=0.02)
  c.score = ml_collections.ConfigDict(dict(
      features=(8, 16, 32, 64), parameterization="denoiser", sigma_max=3.0, sigma_min=0.02,
      num_levels=12, epochs=8,
      **train))
  c.ensemble = ml_collections.ConfigDict(dict(
      num_members=3, features=(4, 8, 16, 32), epochs=6, **train))
  # x0 -> goal in T steps; cost R ||c_u(u_t)||^2 + Qd ||c(x_T) - goal||^2 (centroids).
  c.task = ml_collections.ConfigDict(dict(
      start=(0.8, 0.2), goal=(-0.8, -0.2), horizon=15, action_cost=6.5,
      goal_cost=1000.0, goal_radius=0.15))
  # Every method gets num_iters trajectory evaluations; seeds draw the initial plans.
  c.plan = ml_collections.ConfigDict(dict(
      num_iters=256, learning_rate=0.03, num_seeds=5, init_u=0.05))
  # The best of the betas tried on N = 16 runs of the same task (RESULTS.md).
  c.betas = ml_collections.ConfigDict(dict(sgp=0.1, ensemble=5.0, cem_ensemble=5.0,
                                           mppi=0.1))
  # CEM / MPPI: num_iters / num_samples iterations of num_samples action sequences.
  c.sampling = ml_collections.ConfigDict(dict(
      num_samples=32, num_elites=4, sample_std=0.05, min_std=0.01, temperature=1.0))
  c.methods = ("sgp", "beta0", "ensemble", "cem_ensemble", "mppi", "true_model")
  for field, value in VARIANTS[variant].items():
    section, name = field.split(".")
    c[section][name] = value
  return c
