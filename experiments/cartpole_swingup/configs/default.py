"""Default cart-pole swing-up config (SPEC B.6): finishes in a few minutes on 2 CPU cores."""
import ml_collections


def get_config() -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.seed = 0
  # Data: uniform (x, u) candidates in the box, kept when x' stays inside.
  c.num_candidates = 1_000_000
  # Dynamics: residual MLP on normalised (x, u), SPEC B.6 sizes.
  c.dynamics = ml_collections.ConfigDict(dict(
      hidden=(64, 64, 32), activation="leaky_relu", epochs=100, batch_size=1024,
      learning_rate=1e-3, validation_fraction=0.2))
  # xu score, single noise level sigma (normalised units).
  c.score = ml_collections.ConfigDict(dict(
      hidden=(128, 128, 128, 128), activation="relu", sigma=0.01, epochs=300,
      batch_size=2048, learning_rate=1e-3, validation_fraction=0.2,
      max_points=100_000))  # DSM on the first max_points transitions (time budget)
  # Planning: single shooting from x0 = 0 to upright, terminal cost only, no input bound.
  c.plan = ml_collections.ConfigDict(dict(
      horizon=60, num_iters=15_000, learning_rate=0.1, init_std=0.1,
      betas=(0.0, 0.1, 0.3, 1.0, 1000.0), num_seeds=4))
  return c
