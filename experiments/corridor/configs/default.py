"""Default L-shaped corridor config (SPEC B.5): a few minutes on 2 CPU cores."""
import ml_collections


def get_config() -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.seed = 0
  c.num_candidates = 200_000    # half in each strip; kept when x and x' are in the corridor
  # Residual MLP dynamics on min/max-normalised (x, u) (SPEC B.5 sizes).
  c.dynamics = ml_collections.ConfigDict(dict(
      hidden=(8, 4), activation="elu", epochs=100, batch_size=1024, learning_rate=1e-3,
      validation_fraction=0.1))
  # xu score, one noise level (normalised units).
  c.score = ml_collections.ConfigDict(dict(
      hidden=(32, 32, 32, 32), activation="elu", sigma=0.01, epochs=100, batch_size=2048,
      learning_rate=1e-3, validation_fraction=0.1))
  # Open-loop single shooting from (0, 1) to (1, 0), u clamped to [-1, 1].
  c.plan = ml_collections.ConfigDict(dict(
      horizon=40, num_iters=1000, learning_rate=1e-2, init_std=0.1, betas=(0.0, 1.0),
      num_seeds=3, path_weight=0.1, action_weight=1e-3, terminal_weight=100.0))
  return c
