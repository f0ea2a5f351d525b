"""The value beyond the horizon (`sgp_jax.models.value`): Monte-Carlo returns of the
logged episodes, the value fit, save / load, and its place in the planner's objective."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sgp_jax
from sgp_jax import data as data_lib
from sgp_jax import models
from sgp_jax.normalization import Normalizer
from sgp_jax.planning import make_problem, rollout, trajectory_cost

GAMMA = 0.9


def test_monte_carlo_returns_by_hand():
  """Episode 1 ends in a terminal, episode 2 in a timeout, episode 3 is cut by the
  data's end (no flag): a terminal adds nothing, a cut continues with the episode's
  mean reward forever ("mean_reward") or stops ("zero")."""
  rewards = np.array([1.0, 2.0, 3.0, 4.0, 2.0, 5.0, 1.0], np.float32)
  terminals = np.array([0, 1, 0, 0, 0, 0, 0], bool)
  timeouts = np.array([0, 0, 0, 0, 1, 0, 0], bool)
  arrays = {"rewards": rewards, "terminals": terminals, "timeouts": timeouts}
  g = GAMMA
  tail2, tail3 = 3.0 / (1 - g), 3.0 / (1 - g)  # mean rewards (3+4+2)/3 and (5+1)/2
  want = {"mean_reward": [1 + g * 2, 2, 3 + g * 4 + g ** 2 * 2 + g ** 3 * tail2,
                          4 + g * 2 + g ** 2 * tail2, 2 + g * tail2,
                          5 + g * 1 + g ** 2 * tail3, 1 + g * tail3],
          "zero": [1 + g * 2, 2, 3 + g * 4 + g ** 2 * 2, 4 + g * 2, 2, 5 + g * 1, 1]}
  for tail, expected in want.items():
    got = models.monte_carlo_returns(arrays, GAMMA, truncated_tail=tail)
    assert got.dtype == np.float32 and got.shape == (7,)
    np.testing.assert_allclose(got, expected, rtol=1e-6)
  # an OfflineDataset gives the same
  ds = data_lib.dataset_from_arrays({
      "observations": np.zeros((7, 1)), "actions": np.zeros((7, 1)), "rewards": rewards,
      "next_observations": np.zeros((7, 1)), "terminals": terminals, "timeouts": timeouts})
  np.testing.assert_allclose(models.monte_carlo_returns(ds, GAMMA), want["mean_reward"],
                             rtol=1e-6)
  with pytest.raises(ValueError, match="discount"):
    models.monte_carlo_returns(arrays, 1.0)
  with pytest.raises(ValueError, match="truncated_tail"):
    models.monte_carlo_returns(arrays, GAMMA, truncated_tail="bootstrap")
  with pytest.raises(ValueError, match="timeouts"):
    models.monte_carlo_returns({"rewards": rewards, "terminals": terminals}, GAMMA)


def test_value_fit_recovers_a_known_return(tmp_path):
  """Reward 1 per step, episodes of L steps ending in a terminal, x = the steps
  taken so far / L: V(x) = (1 - gamma^(L (1 - x))) / (1 - gamma) exactly."""
  length, episodes = 10, 20
  t = np.tile(np.arange(length), episodes)
  x = (t / length).astype(np.float32)[:, None]
  terminals = t == length - 1
  returns = models.monte_carlo_returns(
      {"rewards": np.ones(t.size), "terminals": terminals,
       "timeouts": np.zeros(t.size, bool)}, GAMMA)
  exact = (1 - GAMMA ** (length - t)) / (1 - GAMMA)
  np.testing.assert_allclose(returns, exact, rtol=1e-6)
  value = models.make_value_model(Normalizer.from_data(x), returns, (32, 32))
  fit = sgp_jax.train(lambda p, b, k: models.value_loss(value, p, *b),
                      value.init(jax.random.PRNGKey(0)), (jnp.asarray(x), jnp.asarray(returns)),
                      sgp_jax.TrainConfig(epochs=300, batch_size=50, learning_rate=3e-3,
                                          validation_fraction=0.0, epochs_per_call=300))
  grid = np.linspace(0, 0.9, 10, dtype=np.float32)[:, None]
  want = (1 - GAMMA ** (length * (1 - grid[:, 0]))) / (1 - GAMMA)
  pred = np.asarray(value(fit.params, grid))
  assert pred.shape == (10,)
  assert np.max(np.abs(pred - want)) < 0.05 * np.ptp(want), (pred, want)
  # saved and loaded like every model kind
  models.save(str(tmp_path / "value"), value, fit.params)
  loaded, params = models.load(str(tmp_path / "value"))
  assert isinstance(loaded, models.ValueModel)
  np.testing.assert_allclose(loaded(params, grid), pred, rtol=1e-6)
  with pytest.raises(ValueError, match="value model expects x"):
    value(fit.params, jnp.zeros((3, 2)))


def test_value_is_the_planners_terminal_reward():
  """make_problem(value=V, value_weight=w): cost = -sum_t r_hat - w V(x_T)."""
  x_norm, u_norm = Normalizer.identity(2), Normalizer.identity(1)
  value = models.make_value_model(x_norm, np.array([0.0, 2.0]), (4,))
  reward = models.make_reward_model(x_norm, u_norm, np.array([0.0, 2.0]), (4,))
  dynamics = models.make_dynamics_model(x_norm, u_norm, (4,))
  keys = jax.random.split(jax.random.PRNGKey(1), 3)
  params = {"dynamics": dynamics.init(keys[0]), "reward": reward.init(keys[1]),
            "value": value.init(keys[2])}
  x0, us = jnp.array([0.3, -0.1]), jnp.array([[0.5], [-0.2], [0.1]])
  plain = make_problem(dynamics=dynamics, reward=reward)
  with_value = make_problem(dynamics=dynamics, reward=reward, value=value, value_weight=0.5)
  xs = rollout(plain, params, x0, us)
  want = (-float(jnp.sum(reward(params["reward"], xs[:-1], us)))
          - 0.5 * float(value(params["value"], xs[-1])))
  np.testing.assert_allclose(trajectory_cost(with_value, params, xs, us), want, rtol=1e-5)
  np.testing.assert_allclose(trajectory_cost(plain, params, xs, us),
                             -float(jnp.sum(reward(params["reward"], xs[:-1], us))),
                             rtol=1e-5)
  with pytest.raises(ValueError, match="value_weight"):
    make_problem(dynamics=dynamics, reward=reward, value=value, value_weight=-1.0)
