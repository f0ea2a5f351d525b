"""Default config of the circle score check (SPEC B.3): about a minute on 2 CPU cores."""
import ml_collections


def get_config() -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.seed = 0
  c.num_points = 1000
  c.radius = 3.0
  # Noise-conditioned score, cosine levels in normalised units (normaliser k = 2r).
  c.score = ml_collections.ConfigDict(dict(
      hidden=(256, 256, 256), activation="elu", sigma_max=0.25, sigma_min=0.05,
      num_levels=10, epochs=500, batch_size=128, learning_rate=1e-3,
      validation_fraction=0.2))
  # Noise-free annealed Langevin from Gaussian starts.
  c.langevin = ml_collections.ConfigDict(dict(
      num_particles=20, init_std=2.0, step_size=0.1, num_steps=500, noise=False))
  c.eval_points = 2000          # per-level score check on samples of p_sigma
  return c
