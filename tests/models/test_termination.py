"""The termination model (`sgp_jax.models.termination`): the weighted cross-entropy,
the fit on a known boundary, save / load, and its place in the planner's objective
(`planning.survival`, `trajectory_cost`): a plan stops short of a known cliff."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sgp_jax
from sgp_jax import models
from sgp_jax.normalization import Normalizer
from sgp_jax.planning import (ControlProblem, GradientPlannerConfig, check_problem,
                              make_problem, make_single_shooting, rollout, solve, survival,
                              trajectory_cost)


def test_termination_fit_recovers_a_known_boundary(tmp_path):
  """x ~ U[-1, 1]^2, the episode ends where x_0 > 0.8 (10 % of the rows): the fit
  puts p > 0.9 beyond the boundary and p < 0.05 well inside; the loss and the
  positive weight match their formulas."""
  rng = np.random.default_rng(0)
  x = rng.uniform(-1, 1, (2000, 2)).astype(np.float32)
  terminals = x[:, 0] > 0.8
  weight = models.balanced_positive_weight(terminals)
  negatives, positives = int((~terminals).sum()), int(terminals.sum())
  np.testing.assert_allclose(weight, np.sqrt(negatives / positives))
  assert models.balanced_positive_weight(np.zeros(5, bool)) == 1.0
  model = models.make_termination_model(Normalizer.from_data(x), (32, 32))
  params = model.init(jax.random.PRNGKey(0))
  logit = np.asarray(model.logit(params, x[:8]), np.float64)
  flags = terminals[:8].astype(np.float64)
  by_hand = np.mean((1 + (weight - 1) * flags) * (
      -flags * np.log(1 / (1 + np.exp(-logit))) - (1 - flags) * np.log(1 / (1 + np.exp(logit)))))
  np.testing.assert_allclose(
      models.termination_loss(model, params, x[:8], terminals[:8], weight), by_hand,
      rtol=1e-5)
  fit = sgp_jax.train(
      lambda p, b, k: models.termination_loss(model, p, *b, weight), params,
      (jnp.asarray(x), jnp.asarray(terminals)),
      sgp_jax.TrainConfig(epochs=60, batch_size=100, learning_rate=3e-3,
                          validation_fraction=0.0, epochs_per_call=60))
  grid = np.array([[0.95, 0.0], [0.9, 0.5], [0.0, 0.0], [-0.8, 0.7], [0.5, -0.5]],
                  np.float32)
  p = np.asarray(model.probability(fit.params, grid))
  assert p.shape == (5,)
  assert np.all(p[:2] > 0.9) and np.all(p[2:] < 0.05), p
  # saved and loaded like every model kind
  models.save(str(tmp_path / "termination"), model, fit.params)
  loaded, loaded_params = models.load(str(tmp_path / "termination"))
  assert isinstance(loaded, models.TerminationModel)
  np.testing.assert_allclose(loaded.probability(loaded_params, grid), p, rtol=1e-6)
  with pytest.raises(ValueError, match="termination model expects x"):
    model.probability(fit.params, jnp.zeros((3, 3)))


# x' = x + 0.3 u on a line, reward 1 + u per step (alive and moving right), a value
# 5 of being alive beyond the horizon, and a cliff at x = 1: reaching x > 1 ends the
# episode.
def _cliff_problem(with_termination: bool) -> ControlProblem:
  return ControlProblem(
      dim_x=1, dim_u=1, dynamics=lambda m, x, u: x + 0.3 * u,
      running_cost=lambda m, x, u, t: -(1.0 + u[0]),
      terminal_cost=lambda m, x: -5.0 + 0.0 * x[0],
      termination=((lambda m, x: jax.nn.sigmoid((x[0] - 1.0) / 0.02))
                   if with_termination else None))


def test_survival_weights_each_step_and_the_terminal_cost():
  """a_t = prod_{s<=t} (1 - p(x_s)) with a_0 = 1; cost = sum_t a_t c_t + a_T c_T."""
  x_norm, u_norm = Normalizer.identity(2), Normalizer.identity(1)
  value = models.make_value_model(x_norm, np.array([0.0, 2.0]), (4,))
  reward = models.make_reward_model(x_norm, u_norm, np.array([0.0, 2.0]), (4,))
  dynamics = models.make_dynamics_model(x_norm, u_norm, (4,))
  termination = models.make_termination_model(x_norm, (4,))
  keys = jax.random.split(jax.random.PRNGKey(1), 4)
  params = {"dynamics": dynamics.init(keys[0]), "reward": reward.init(keys[1]),
            "value": value.init(keys[2]), "termination": termination.init(keys[3])}
  problem = make_problem(dynamics=dynamics, reward=reward, value=value, value_weight=0.5,
                         termination=termination)
  check_problem(problem, params)
  x0, us = jnp.array([0.3, -0.1]), jnp.array([[0.5], [-0.2], [0.1]])
  xs = rollout(problem, params, x0, us)
  p = np.asarray(termination.probability(params["termination"], xs), np.float64)
  alive = np.concatenate([[1.0], np.cumprod(1 - p[1:])])
  np.testing.assert_allclose(survival(problem, params, xs), alive, rtol=1e-5)
  r = np.asarray(reward(params["reward"], xs[:-1], us), np.float64)
  want = -np.sum(alive[:-1] * r) - 0.5 * alive[-1] * float(value(params["value"], xs[-1]))
  np.testing.assert_allclose(trajectory_cost(problem, params, xs, us), want, rtol=1e-5)
  bad = problem._replace(termination=lambda m, x: jnp.zeros(2))
  with pytest.raises(ValueError, match="termination maps x"):
    check_problem(bad, params)


def test_plan_stops_short_of_the_cliff():
  """Without the termination model the plan runs right, over the cliff (every step
  pays 1 + u); with it the plan's states stay before x = 1 (the step over it would
  pay 2 but lose the value beyond the horizon), and its predicted survival is near
  1."""
  config = GradientPlannerConfig(horizon=6, num_iters=300, learning_rate=0.05,
                                 init_std=0.0, action_low=-1.0, action_high=1.0)
  x0, key = jnp.zeros(1), jax.random.PRNGKey(0)
  reckless = solve(make_single_shooting(_cliff_problem(False), config), {}, x0, key, 0.0)
  assert float(reckless.states[-1, 0]) > 1.5  # u = 1 throughout: x_T = 1.8
  careful_problem = _cliff_problem(True)
  careful = solve(make_single_shooting(careful_problem, config), {}, x0, key, 0.0)
  assert float(jnp.max(careful.states[:, 0])) < 1.0
  assert float(careful.states[-1, 0]) > 0.8  # it still moves right, up to the cliff
  assert float(survival(careful_problem, {}, careful.states)[-1]) > 0.9
