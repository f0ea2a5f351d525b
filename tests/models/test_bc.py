"""Behaviour cloning (`sgp_jax.models.bc`)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sgp_jax import models, training
from sgp_jax.normalization import Normalizer
from sgp_jax.types import Transitions


def _policy():
  return models.make_bc_policy(Normalizer.from_scale([2.0, 1.0], [0.0, 1.0]),
                               Normalizer.from_box([-2.0], [2.0]), (16,), "tanh")


def test_bc_maps_into_the_action_box_and_its_loss_by_hand():
  policy = _policy()
  zero = jax.tree_util.tree_map(jnp.zeros_like, policy.init(jax.random.PRNGKey(0)))
  x = jnp.array([[0.0, 0.0], [4.0, -3.0]])
  np.testing.assert_allclose(policy(zero, x), 0.0, atol=1e-7)  # the box centre
  big = jax.tree_util.tree_map(lambda a: a, zero)
  big["params"]["Dense_1"]["bias"] = jnp.array([50.0])  # tanh saturates: the box edge
  np.testing.assert_allclose(policy(big, x), 2.0, rtol=1e-6)
  np.testing.assert_allclose(policy.policy_apply(big, x[0], jax.random.PRNGKey(1)), [2.0])
  # 1/2 mean_b ||pi_bar - u_bar||^2 with u_bar = u / 2, clipped inside (-1, 1).
  u = jnp.array([[1.0], [-4.0]])
  np.testing.assert_allclose(models.bc_loss(policy, zero, x, u),
                             0.5 * np.mean([0.25, (1 - 1e-4) ** 2]), rtol=1e-5)


def test_train_bc_recovers_a_linear_policy():
  rng = np.random.default_rng(0)
  x = rng.uniform(-2, 2, size=(512, 2)).astype(np.float32)
  u = (0.5 * x[:, :1] - 0.25 * x[:, 1:]).astype(np.float32)
  data = Transitions(x=x, u=u, x_next=x)
  policy = _policy()
  fit = models.train_bc(policy, data, training.TrainConfig(
      epochs=80, batch_size=128, learning_rate=1e-2, epochs_per_call=80),
      jax.random.PRNGKey(0))
  rmse = float(jnp.sqrt(jnp.mean((policy(fit.params, x) - u) ** 2)))
  assert rmse < 0.1 * np.std(u), rmse  # measured 0.054; std(u) = 0.64
  with pytest.raises(ValueError, match="data has dim_x=2, dim_u=2"):
    models.train_bc(policy, Transitions(x=x, u=np.concatenate([u, u], -1), x_next=x),
                    training.TrainConfig(epochs=1), jax.random.PRNGKey(0))
