"""Learned dynamics (`sgp_jax.models.dynamics`) against hand computations."""
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


def test_residual_prediction_in_raw_units():
  """x' = x + k_x net(x_bar, u_bar): with the network's output layer zeroed the model
  is the identity, and a bias c moves x by k_x c."""
  model, params = _dyn()
  x, u = jnp.array([[0.3, -1.0], [2.0, 0.5]]), jnp.array([[1.0], [-2.0]])
  zero = jax.tree_util.tree_map(jnp.zeros_like, params)
  np.testing.assert_allclose(model(zero, x, u), x, rtol=1e-6)
  shifted = jax.tree_util.tree_map(lambda a: a, zero)
  shifted["params"]["Dense_1"]["bias"] = jnp.array([1.0, -2.0])
  np.testing.assert_allclose(model(shifted, x, u), x + jnp.array([2.0, -1.0]), rtol=1e-6)
  xs = model.rollout(shifted, x[0], jnp.zeros((3, 1)))
  np.testing.assert_allclose(xs, x[0] + jnp.arange(4)[:, None] * jnp.array([2.0, -1.0]),
                             rtol=1e-6)


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
