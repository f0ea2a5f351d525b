"""Dynamics ensembles (`sgp_jax.models.ensemble`): stacked members, their variance."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sgp_jax import models, training
from sgp_jax.normalization import Normalizer
from sgp_jax.types import Transitions


def _ensemble():
  ens = models.make_dynamics_ensemble(Normalizer.from_scale([2.0, 0.5], [0.0, 1.0]),
                                      Normalizer.identity(1), (8,), num_members=4)
  return ens, ens.init(jax.random.PRNGKey(0))


def test_members_are_independent_models_and_the_variance_is_theirs():
  ens, params = _ensemble()
  x = jnp.array([[0.3, -0.2], [1.0, 2.0], [0.0, 0.0]])
  u = jnp.array([[0.5], [-1.0], [2.0]])
  preds = ens.predict_all(params, x, u)
  assert preds.shape == (4, 3, 2)
  members = np.stack([np.asarray(ens.model(ens.member(params, k), x, u)) for k in range(4)])
  np.testing.assert_allclose(preds, members, rtol=1e-6, atol=1e-6)
  assert np.abs(members[0] - members[1]).max() > 1e-3  # distinct initialisations
  np.testing.assert_allclose(ens.mean(params, x, u), members.mean(0), rtol=1e-5, atol=1e-6)
  metric = np.array([1.0, 4.0], np.float32)
  np.testing.assert_allclose(ens.prediction_variance(params, x, u, metric),
                             (members.var(0, ddof=1) * metric).sum(-1), rtol=1e-4)
  rollouts = ens.rollout_all(params, x[0], u[:2])
  assert rollouts.shape == (4, 3, 2)
  np.testing.assert_allclose(rollouts[2], ens.model.rollout(ens.member(params, 2), x[0], u[:2]),
                             rtol=1e-6)


def test_ensemble_loss_is_the_sum_of_the_members_losses():
  ens, params = _ensemble()
  rng = np.random.default_rng(0)
  x, u, x_next = (jnp.asarray(rng.normal(size=(6, d)), jnp.float32) for d in (2, 1, 2))
  total = models.ensemble_loss(ens, params, x, u, x_next)
  each = [models.one_step_loss(ens.model, ens.member(params, k), x, u, x_next)
          for k in range(4)]
  np.testing.assert_allclose(total, sum(each), rtol=1e-5)
  with pytest.raises(ValueError, match="num_members must be >= 1"):
    models.make_dynamics_ensemble(Normalizer.identity(2), Normalizer.identity(1), (8,), 0)
  with pytest.raises(ValueError, match="ensemble expects 2, 1"):
    models.train_ensemble(ens, Transitions(x=x[:, :1], u=u, x_next=x_next[:, :1]),
                          training.TrainConfig(epochs=1), jax.random.PRNGKey(0))
