"""Default pendulum-keypoints config (SPEC B.10): a few minutes on 2 CPU cores."""
import ml_collections


def get_config() -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.seed = 0
  c.num_samples = 50_000        # (theta, theta_dot, u) uniform; keypoint transitions
  # xux noise-conditioned score on min/max-normalised keypoints, cosine 0.2 -> 0.05;
  # x' is normalised with scale k_x / alpha (alpha > 1 magnifies dynamics mismatch).
  c.score = ml_collections.ConfigDict(dict(
      hidden=(256, 256, 256), activation="elu", sigma_max=0.2, sigma_min=0.05, alpha=1.0,
      num_levels=10, epochs=60, batch_size=512, learning_rate=1e-3,
      validation_fraction=0.05))
  # BVP collocation hanging (-l, 0, 0) -> upright (l, 0, 0), cost sum_t u_t^2.
  c.plan = ml_collections.ConfigDict(dict(
      horizon=25, num_iters=500, learning_rate=1e-2, init_std=0.1, betas=(0.0, 10.0, 1000.0)))
  return c
