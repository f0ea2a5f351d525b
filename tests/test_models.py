"""Dynamics multi-step loss and the reward model against hand computations."""
import jax
import jax.numpy as jnp
import numpy as np

import sgp_jax
from sgp_jax.normalization import Normalizer


def _dyn():
  x_norm = Normalizer.from_scale([2.0, 0.5], [0.1, -0.2])
  u_norm = Normalizer.from_scale([3.0], [0.0])
  model = sgp_jax.make_dynamics_model(x_norm, u_norm, (8,), "tanh")
  return model, model.init(jax.random.PRNGKey(0))


def test_multi_step_loss_matches_hand_rollout():
  model, params = _dyn()
  k = jax.random.split(jax.random.PRNGKey(1), 2)
  xs = jax.random.normal(k[0], (3, 4, 2))   # B = 3 windows, H = 3
  us = jax.random.normal(k[1], (3, 3, 1))
  got = sgp_jax.multi_step_loss(model, params, xs, us, discount=0.9)
  want = 0.0
  for b in range(3):
    pred = model.rollout(params, xs[b, 0], us[b])          # raw units, (H+1, dx)
    err = model.x_normalizer.normalize(pred) - model.x_normalizer.normalize(xs[b])
    want += np.sum(0.9 ** np.arange(4) * np.sum(np.asarray(err) ** 2, -1))
  np.testing.assert_allclose(got, want / 3, rtol=1e-5)
  # With one step it is 0.9 x twice the one-step loss (which carries a 1/2).
  one = sgp_jax.one_step_loss(model, params, xs[:, 0], us[:, 0], xs[:, 1])
  np.testing.assert_allclose(sgp_jax.multi_step_loss(model, params, xs[:, :2], us[:, :1]),
                             0.9 * 2 * one, rtol=1e-5)


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
