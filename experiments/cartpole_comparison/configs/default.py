"""Default cart-pole comparison config (SPEC B.6, E.5, E.6): ~5-8 minutes on 2 CPU cores
when the models come from a finished cart-pole run (--config.source_workdir); by
default small ones are trained here first."""
import ml_collections


def get_config() -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.seed = 0
  # Dynamics + xu score: loaded from <source_workdir>/models (written by
  # experiments.cartpole_swingup.main --workdir=<source_workdir>); '' trains them here
  # with the `cartpole` sizes.
  c.source_workdir = ""
  c.cartpole = ml_collections.ConfigDict(dict(
      num_candidates=100_000, dynamics_epochs=30, score_epochs=60, score_max_points=50_000))
  c.ensemble = ml_collections.ConfigDict(dict(
      num_members=6, hidden=(64, 64, 32), activation="leaky_relu", epochs=20,
      batch_size=1024, learning_rate=1e-3, validation_fraction=0.2))
  c.dde = ml_collections.ConfigDict(dict(
      max_points=10_000, num_points=32_768, hidden=(128, 128, 128, 128),
      activation="relu", epochs=60, batch_size=1024, learning_rate=1e-3,
      validation_fraction=0.1))
  # Every planner gets `budget` trajectory evaluations per plan: gradient planners
  # `budget` iterations, sampling planners budget / num_samples iterations.
  c.budget = 10_000
  c.num_seeds = 5
  c.horizon = 60
  c.learning_rate = 0.1
  c.init_std = 0.1
  c.sgp_beta = 0.1
  c.ensemble_beta = 0.0          # the paper's swingup_ensemble config: mean cost only
  c.dde_beta = 0.1
  c.sampling = ml_collections.ConfigDict(dict(
      num_samples=10, num_elites=4, sample_std=10.0, min_std=0.5, smoothing=0.5,
      temperature=1.0))
  c.methods = ("shooting_beta0", "sgp", "ensemble_gradient", "cem_ensemble", "cem_dde",
               "mppi_dde")
  return c
