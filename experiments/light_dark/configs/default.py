"""Default light-dark config (SPEC B.4, E.8): a few minutes on 2 CPU cores."""
import ml_collections


def get_config() -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.seed = 0
  c.num_candidates = 40_000     # uniform (x, u); those with x in the hole are dropped
  # xux noise-conditioned score: x identity, u scale 0.2, cosine levels 0.3 -> 0.01.
  c.score = ml_collections.ConfigDict(dict(
      hidden=(256, 256, 256), activation="elu", u_scale=0.2, sigma_max=0.3,
      sigma_min=0.01, num_levels=10, epochs=60, batch_size=512, learning_rate=1e-3,
      validation_fraction=0.05))
  # BVP collocation (0.8, 0.2) -> (-0.8, 0.2), minimum-energy cost sum_t ||u_t||^2.
  c.plan = ml_collections.ConfigDict(dict(
      horizon=25, num_iters=300, learning_rate=1e-2, init_std=0.1, betas=(0.0, 10.0, 100.0)))
  # MPC: IVP collocation, cost + q_running sum_t ||x_t - g||^2 + q_terminal ||x_T - g||^2,
  # closed loop on the true dynamics.
  c.mpc = ml_collections.ConfigDict(dict(
      num_steps=100, horizon=25, num_iters=150, learning_rate=1e-2, init_std=0.1,
      q_terminal=10.0, q_running=1.0, beta=100.0, warm_start=True,
      anneal=True))
  return c
