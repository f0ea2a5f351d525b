"""Default box-pushing config (SPEC B.9, E.10): about 15 minutes on 2 CPU cores."""
import ml_collections


def get_config() -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.seed = 0
  # The simulated pusher-slider: a 1 cm disc pusher and the YCB sugar box.
  c.sim = ml_collections.ConfigDict(dict(pusher_radius=0.01, mu_pusher=0.3, num_substeps=20))
  # Teleoperation-like push episodes (sgp_jax.systems.pusher_slider.TeleopConfig).
  c.data = ml_collections.ConfigDict(dict(
      num_episodes=20_000, episode_length=5, pose_low=(-0.25, -0.2, -0.5),
      pose_high=(0.25, 0.05, 0.5), max_gap=0.04, max_push_angle=0.7, min_speed=0.005,
      max_speed=0.03, action_noise=0.01, random_fraction=0.2))
  train = dict(batch_size=1024, learning_rate=1e-3, validation_fraction=0.05)
  c.dynamics = ml_collections.ConfigDict(dict(hidden=(512, 512, 512), activation="elu",
                                              epochs=150, **train))
  c.score = ml_collections.ConfigDict(dict(
      hidden=(256, 256, 256), activation="elu", sigma_max=0.2, sigma_min=0.01,
      num_levels=10, epochs=60, **train))
  c.keypoint_score = ml_collections.ConfigDict(dict(
      hidden=(128, 128, 128, 128), activation="elu", sigma_max=0.2, sigma_min=0.005,
      num_levels=10, epochs=30, **train))
  c.ensemble = ml_collections.ConfigDict(dict(num_members=5, hidden=(256, 256, 256),
                                              activation="elu", epochs=60, **train))
  # Goals: the box upright at (x, 0) for each x; starts before each goal.
  c.goals = ml_collections.ConfigDict(dict(
      x=(-0.15, 0.0, 0.15), num_starts=20, start_seed=0, min_before=0.06, max_before=0.12,
      max_across=0.02, max_angle_deg=15.0, min_gap=0.005, max_gap=0.02,
      max_pusher_offset=0.02, success_position=0.02, success_angle_deg=10.0))
  # SGP-MPC on the true simulator; commands normalised a = u / u_max in [-1, 1]^2.
  c.mpc = ml_collections.ConfigDict(dict(
      num_steps=25, horizon=8, num_iters=100, learning_rate=0.1, init_std=0.1,
      warm_start=False, action_cost=0.1, bound_plan=True))
  # Chosen on the held-out starts of goals.start_seed=1 (6 per goal), RESULTS.md.
  c.betas = ml_collections.ConfigDict(dict(sgp=3e-6, ensemble=0.0, cem_score=1e-4,
                                           mppi_score=3e-6))
  # CEM / MPPI: num_iters / num_samples iterations (the same trajectory budget).
  c.sampling = ml_collections.ConfigDict(dict(
      num_samples=10, num_elites=3, sample_std=0.5, min_std=0.05, smoothing=0.0,
      temperature=1e-4))
  c.stabilisation = ml_collections.ConfigDict(dict(
      noise=0.01, num_points=512, num_steps=200, step_size=2e-5))
  c.methods = ("sgp", "beta0", "ensemble", "cem_score", "mppi_score", "true_model",
               "sgp@1e-5", "sgp@3e-5")
  return c
