"""The learned reward (`sgp_jax.models.reward`)."""
import jax
import jax.numpy as jnp
import numpy as np

import sgp_jax
from sgp_jax.normalization import Normalizer


def test_reward_model_standardises_by_the_data():
  rewards = np.array([1.0, 3.0, 5.0, 7.0], np.float32)
  model = sgp_jax.make_reward_model(Normalizer.identity(2), Normalizer.identity(1), rewards,
                                    (4,))
  np.testing.assert_allclose([model.reward_scale, model.reward_offset],
                             [np.std(rewards), 4.0], rtol=1e-6)
  params = jax.tree_util.tree_map(jnp.zeros_like, model.init(jax.random.PRNGKey(0)))
  params["params"]["Dense_1"]["bias"] = jnp.array([0.5])  # standardised output 0.5
  x, u = jnp.zeros((3, 2)), jnp.zeros((3, 1))
  np.testing.assert_allclose(model(params, x, u), 4.0 + 0.5 * np.std(rewards), rtol=1e-6)
  # The loss is 1/2 the squared error in standardised units.
  r = jnp.array([4.0, 4.0, 4.0 + np.std(rewards)])
  np.testing.assert_allclose(sgp_jax.reward_loss(model, params, x, u, r),
                             0.5 * np.mean([0.25, 0.25, 0.25]), rtol=1e-6)


def test_reward_model_learns_a_known_reward():
  key = jax.random.PRNGKey(2)
  x = jax.random.uniform(key, (2048, 2), minval=-1, maxval=1)
  u = jax.random.uniform(jax.random.fold_in(key, 1), (2048, 1), minval=-1, maxval=1)
  r = 3.0 * x[:, 0] - 2.0 * u[:, 0] + 5.0
  model = sgp_jax.make_reward_model(Normalizer.from_data(x), Normalizer.from_data(u), r, (32,))
  fit = sgp_jax.train(lambda p, b, k: sgp_jax.reward_loss(model, p, *b),
                      model.init(jax.random.PRNGKey(3)), (x, u, r),
                      sgp_jax.TrainConfig(epochs=60, batch_size=256, learning_rate=3e-3,
                                          validation_fraction=0.1, epochs_per_call=60))
  pred = model(fit.params, x[:200], u[:200])
  assert pred.shape == (200,)
  assert float(jnp.sqrt(jnp.mean((pred - r[:200]) ** 2))) < 0.1 * float(jnp.std(r))
