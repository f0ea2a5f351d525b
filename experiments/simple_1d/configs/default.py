"""Default config of the 1D illustrations (SPEC B.1, B.2): about a minute on 2 CPU cores."""
import ml_collections


def get_config() -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.grid_points = 10_000          # evaluation grid on [-2, 2]
  c.mass_fraction = 0.01          # score errors are measured where p_sigma > this * max
  # B.2: distance <-> likelihood <-> learned score.
  c.likelihood = ml_collections.ConfigDict(dict(
      seed=123, num_points=3, sigma=0.2, tile=512))
  c.score = ml_collections.ConfigDict(dict(
      hidden=(64,) * 6, activation="elu", epochs=2000, batch_size=512,
      learning_rate=1e-3, validation_fraction=0.0))
  c.dde = ml_collections.ConfigDict(dict(
      hidden=(64,) * 6, activation="elu", domain=3.0, num_points=4096, epochs=250,
      batch_size=512, learning_rate=1e-3, validation_fraction=0.1))
  # B.1: admissibility / stability of uncertainty metrics on f(x) = x^2 sin x.
  c.admissibility = ml_collections.ConfigDict(dict(
      seed=321, num_points=3, sigma=0.1, gp_length_scale=0.1, gp_noise=1e-6, tile=32,
      large_error=0.1, small_metric=0.01))
  c.ensemble = ml_collections.ConfigDict(dict(
      num_members=3, hidden=(512, 512), activation="elu", epochs=1000, batch_size=32,
      learning_rate=1e-3, validation_fraction=0.0))
  # E.3: from uniform starts, annealed mean shift on d_sigma vs descent on ensemble variance.
  c.descent = ml_collections.ConfigDict(dict(
      num_starts=50, sigma_max=0.05, sigma_min=0.01, num_levels=20, steps_per_level=10,
      gd_steps=2000, gd_lr=0.01))
  return c
