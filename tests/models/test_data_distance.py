"""The data-distance estimator (`sgp_jax.models.data_distance`, SPEC A.9.4)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sgp_jax import distance, models, training


def test_dde_units_and_loss_by_hand():
  dde = models.make_data_distance_model([-1.0, -2.0], [1.0, 3.0], (8,), target_scale=2.0,
                                        target_offset=-1.0)
  np.testing.assert_allclose(dde.normalizer.normalize(jnp.array([[1.0, 3.0], [-1.0, -2.0]])),
                             [[1.0, 1.0], [-1.0, -1.0]])  # the box onto [-1, 1]^2
  params = jax.tree_util.tree_map(jnp.zeros_like, dde.init(jax.random.PRNGKey(0)))
  z = jnp.zeros((3, 2))
  np.testing.assert_allclose(dde(params, z), -1.0)  # output 0: the target offset
  target = jnp.array([1.0, -1.0, -4.0])
  # L1 in standardised units: |0 - (t + 1) / 2|.
  np.testing.assert_allclose(models.dde_loss(dde, params, z, target), np.mean([1.0, 0.0, 1.5]))
  with pytest.raises(ValueError, match="target_scale must be > 0"):
    models.make_data_distance_model([0.0], [1.0], target_scale=0.0)


def test_fit_data_distance_learns_the_softmin_energy():
  data = jnp.array([[-0.5], [0.1], [0.6]])
  model, params, result = models.fit_data_distance(
      data, [-1.0], [1.0], hidden=(32, 32), num_points=2048,
      config=training.TrainConfig(epochs=150, batch_size=256, learning_rate=3e-3,
                                  epochs_per_call=150), key=jax.random.PRNGKey(0))
  z = jnp.linspace(-0.9, 0.9, 37)[:, None]
  exact = distance.softmin_energy(z, data, None)
  error = jnp.abs(model(params, z) - exact)
  assert float(error.max()) < 0.1 * float(exact.max() - exact.min()), float(error.max())
  with pytest.raises(ValueError, match=r"low and high must have shape \(1,\)"):
    models.fit_data_distance(data, [-1.0, 0.0], [1.0, 1.0])
  with pytest.raises(ValueError, match="NaN"):
    models.fit_data_distance(data.at[0, 0].set(jnp.nan), [-1.0], [1.0])
