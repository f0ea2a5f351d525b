"""What the planners minimise (SPEC A.5, A.9): the score surrogate, the uncertainty
penalties and the trajectory losses, against hand computations."""
import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import naive_distance
from helpers import nonlinear_score_setup
from sgp_jax import distance, training
from sgp_jax import models as models_lib
from sgp_jax.normalization import Normalizer
from sgp_jax.planning import (ControlProblem, GradientPlannerConfig, dde_penalty,
                              distance_penalty, ensemble_variance_loss,
                              injected_score_penalty, make_loss_shooting, penalized_loss,
                              score_penalty, score_penalty_of, score_value_penalty, solve,
                              state_variance_penalty, trajectory_points)
from sgp_jax.types import Transitions


# ------------------------------------------------------------ the score surrogate
def test_score_penalty_gradient_is_minus_jt_s():
  theta, z_of, score_fn, _, _ = nonlinear_score_setup()

  @jax.jit
  def compute(theta):
    z = z_of(theta)
    s = score_fn(None, z, 0)
    jac = jax.jacobian(z_of)(theta)  # (T, dim_z, T, dim_u)
    return {
        "grad": jax.grad(lambda th: score_penalty(score_fn, None, z_of(th), 0))(theta),
        "expected": -jnp.einsum("tiuj,ti->uj", jac, s),
        "value": score_penalty(score_fn, None, z, 0),
        "inner": -jnp.sum(z * s),
        # Full autodiff of the same expression, which also differentiates s.
        "full": jax.grad(lambda th: -jnp.sum(z_of(th) * score_fn(None, z_of(th), 0)))(theta),
    }
  out = compute(theta)
  chex.assert_shape(out["grad"], theta.shape)
  np.testing.assert_allclose(out["grad"], out["expected"], rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(out["value"], out["inner"], rtol=1e-6)
  # The stop-gradient matters: dropping it gives a different gradient.
  assert np.abs(np.asarray(out["full"]) - np.asarray(out["expected"])).max() > 1e-3


def test_injected_penalty_and_trajectory_points():
  """sigma_l^2 times the surrogate (collocation's weight); points (x_t, u_t[, x_t+1])."""
  xs = jnp.arange(8.0).reshape(4, 2)
  us = jnp.arange(3.0)[:, None] + 10.0
  np.testing.assert_array_equal(trajectory_points(xs, us),
                                [[0, 1, 10], [2, 3, 11], [4, 5, 12]])
  np.testing.assert_array_equal(trajectory_points(xs, us, "xux")[1], [2, 3, 11, 4, 5])
  with pytest.raises(ValueError, match="kind"):
    trajectory_points(xs, us, "ux")
  problem = ControlProblem(dim_x=2, dim_u=1, dynamics=None, score=lambda m, z, l: -z,
                           score_sigma=lambda m, l: 0.5 * (l + 1))
  z = trajectory_points(xs, us)
  for level, sigma in ((0, 0.5), (1, 1.0)):
    np.testing.assert_allclose(injected_score_penalty(problem, None, z, level),
                               sigma ** 2 * np.sum(np.asarray(z) ** 2), rtol=1e-6)
  pen = score_penalty_of(problem)
  assert pen.gradient_only
  np.testing.assert_allclose(pen(None, xs, us, 0), np.sum(np.asarray(z) ** 2))
  with pytest.raises(ValueError, match="problem.score"):
    score_penalty_of(problem._replace(score=None))


# ------------------------------------------------------------ penalties and losses
DX, DU, T = 2, 1, 4


def tiny_ensemble(k=3):
  return models_lib.make_dynamics_ensemble(
      Normalizer.from_scale([1.0, 2.0], 0.0), Normalizer.from_scale(0.5, 0.0, dim=1),
      hidden=(8,), num_members=k)


def cost_problem(ens):
  return ControlProblem(
      dim_x=DX, dim_u=DU, dynamics=lambda m, x, u: ens.mean(m["ens"], x, u),
      running_cost=lambda m, x, u, t: jnp.sum(x ** 2) + 0.1 * jnp.sum(u ** 2),
      terminal_cost=lambda m, x: 3.0 * jnp.sum(x ** 2))


def test_ensemble_cost_variance_is_unbiased_variance_by_hand():
  ens = tiny_ensemble()
  # jitted / numpy helpers throughout: eager JAX ops compile one by one (slow on CPU)
  params = jax.tree_util.tree_map(np.asarray, jax.jit(ens.init)(jax.random.PRNGKey(0)))
  single = jax.eval_shape(ens.model.init, jax.random.PRNGKey(0))
  chex.assert_trees_all_equal_shapes(
      jax.tree_util.tree_map(lambda a: a[0], params), single)
  problem = cost_problem(ens)
  x0 = jnp.array([0.3, -0.2])
  us = jax.random.normal(jax.random.PRNGKey(1), (T, DU))
  member_rollout = jax.jit(lambda p: ens.model.rollout(p, x0, us))  # one compile
  costs = []
  for k in range(3):
    xs = np.asarray(member_rollout(ens.member(params, k)), np.float64)
    costs.append(np.sum(xs[:-1] ** 2) + 0.1 * np.sum(np.asarray(us) ** 2)
                 + 3 * np.sum(xs[-1] ** 2))
  costs = np.array(costs)
  mean, var = costs.mean(), np.sum((costs - costs.mean()) ** 2) / 2  # ddof 1, by hand
  loss = ensemble_variance_loss(problem, ens, lambda m: m["ens"])
  value, aux = jax.jit(loss.fn)({"ens": params}, us, x0, 0.7, 0)
  np.testing.assert_allclose(aux["cost"], mean, rtol=1e-5)
  np.testing.assert_allclose(aux["cost_variance"], var, rtol=1e-4)
  np.testing.assert_allclose(value, mean + 0.7 * var, rtol=1e-5)

  # MOPO-style: sum_t sum_j m_j Var_k f_k(x_t, u_t)_j along a trajectory
  metric = jnp.array([1.0, 0.5])
  pen = state_variance_penalty(ens, lambda m: m["ens"], metric)
  xs_mean = jax.random.normal(jax.random.PRNGKey(4), (T + 1, DX))
  member_step = jax.jit(lambda p: ens.model(p, xs_mean[:-1], us))
  preds = np.stack([np.asarray(member_step(ens.member(params, k))) for k in range(3)])
  want = np.sum(np.asarray(metric) * preds.var(0, ddof=1))
  np.testing.assert_allclose(jax.jit(pen.fn)({"ens": params}, xs_mean, us, 0), want,
                             rtol=1e-4)

  # the gradient ensemble baseline runs on the shared contract
  planner = make_loss_shooting(problem, loss, GradientPlannerConfig(
      horizon=T, num_iters=30, learning_rate=0.05))
  res = solve(planner, {"ens": params}, x0, jax.random.PRNGKey(2), 1.0)
  assert float(res.history["loss"][-1]) < float(res.history["loss"][0])
  with pytest.raises(ValueError, match="2 members"):
    ensemble_variance_loss(problem, tiny_ensemble(1), lambda m: m["ens"])


def test_train_ensemble_equals_separate_training():
  """One stacked loop == K separate runs (same minibatches; Adam is per-parameter)."""
  key = jax.random.PRNGKey(0)
  x = jax.random.uniform(key, (256, DX), minval=-1, maxval=1)
  u = jax.random.uniform(jax.random.PRNGKey(1), (256, DU), minval=-0.5, maxval=0.5)
  data = Transitions(x=x, u=u, x_next=x + 0.1 * jnp.concatenate([x[:, 1:], u], -1))
  ens = tiny_ensemble(2)
  config = training.TrainConfig(epochs=5, batch_size=64, learning_rate=1e-2,
                                validation_fraction=0.0, keep_best=False,
                                epochs_per_call=5)
  result = models_lib.train_ensemble(ens, data, config, jax.random.PRNGKey(3))
  stacked = ens.init(jax.random.PRNGKey(3))
  one = training.train(lambda p, b, k: models_lib.one_step_loss(ens.model, p, *b),
                       ens.member(stacked, 1), (data.x, data.u, data.x_next), config)
  chex.assert_trees_all_close(ens.member(result.params, 1), one.params, atol=1e-5)
  before = models_lib.ensemble_loss(ens, stacked, data.x, data.u, data.x_next)
  after = models_lib.ensemble_loss(ens, result.params, data.x, data.u, data.x_next)
  assert float(after) < 0.5 * float(before)
  with pytest.raises(ValueError, match="ensemble expects"):
    models_lib.train_ensemble(ens, Transitions(x=x[:, :1], u=u, x_next=x[:, :1]), config,
                            key)


def test_distance_penalty_is_exact_smoothed_distance():
  data = jax.random.normal(jax.random.PRNGKey(0), (50, DX + DU))
  norm = Normalizer.from_scale([1.0, 2.0, 0.5], [0.1, 0.0, 0.0])
  xs = jax.random.normal(jax.random.PRNGKey(1), (T + 1, DX))
  us = jax.random.normal(jax.random.PRNGKey(2), (T, DU))
  pen = distance_penalty(lambda m: m["data"], 0.3, normalizer=norm)
  z = (np.concatenate([xs[:-1], us], -1) - np.asarray(norm.offset)) / np.asarray(norm.scale)
  data_bar = (np.asarray(data) - np.asarray(norm.offset)) / np.asarray(norm.scale)
  want = np.sum(naive_distance(z, data_bar, 0.3))
  np.testing.assert_allclose(pen({"data": data}, xs, us, 0), want, rtol=1e-5)
  with pytest.raises(ValueError, match="sigma"):
    distance_penalty(lambda m: m["data"], 0.0)
  with pytest.raises(ValueError, match="kind"):
    distance_penalty(lambda m: m["data"], 0.3, kind="xyz")


class ExactScore:
  """The exact score of the data's Gaussian KDE, in the ScoreModel interface."""

  def __init__(self, data, normalizer, sigmas):
    self.normalizer, self.sigmas, self.kind = normalizer, jnp.asarray(sigmas), "xu"
    self.data_bar = normalizer.normalize(data)

  def score_normalized(self, params, z_bar, level):
    return distance.empirical_score(z_bar, self.data_bar, float(self.sigmas[level]))

  def sigma(self, level):
    return self.sigmas[level]


def test_score_value_penalty_is_tweedie_distance():
  norm = Normalizer.from_scale([1.0, 2.0, 0.5], [0.1, 0.0, 0.0])
  xs = jax.random.normal(jax.random.PRNGKey(1), (T + 1, DX))
  us = jax.random.normal(jax.random.PRNGKey(2), (T, DU))
  z_bar = norm.normalize(jnp.concatenate([xs[:-1], us], -1))
  # One data point: the value is -log p_sigma + const exactly, ||z_bar - z0||^2 / 2 sigma^2.
  z0 = jnp.array([[0.3, -0.2, 0.4]])
  pen = score_value_penalty(ExactScore(z0, norm, [0.5, 0.1]), lambda m: None)
  for level, sigma in ((0, 0.5), (1, 0.1)):
    want = np.sum((np.asarray(z_bar) - np.asarray(norm.normalize(z0))) ** 2) / (2 * sigma**2)
    np.testing.assert_allclose(pen({}, xs, us, level), want, rtol=1e-4)
  # Many points, small sigma: ~ the smoothed distance / sigma^2 (nearest point dominates),
  # and it is a real value: CEM accepts it (it refuses the gradient-only surrogate).
  data = jax.random.normal(jax.random.PRNGKey(3), (40, DX + DU))
  pen = score_value_penalty(ExactScore(data, norm, [0.05]), lambda m: None)
  exact = np.sum(naive_distance(np.asarray(z_bar), np.asarray(norm.normalize(data)), 0.05))
  np.testing.assert_allclose(pen({}, xs, us, 0), exact / 0.05**2, rtol=0.05)
  assert not pen.gradient_only


def test_dde_approximates_softmin_energy_and_penalises():
  data = jnp.array([[0.0, 0.0], [1.0, 0.5], [-0.5, 1.0], [0.5, -1.0], [-1.0, -0.5]])
  low, high, metric = (-2.0, -2.0), (2.0, 2.0), jnp.array([4.0, 4.0])
  config = training.TrainConfig(epochs=40, batch_size=256, learning_rate=3e-3,
                                validation_fraction=0.1, epochs_per_call=40)
  model, params, result = models_lib.fit_data_distance(
      data, low, high, metric, hidden=(64, 64), num_points=4096, config=config,
      key=jax.random.PRNGKey(0))
  grid = jnp.stack(jnp.meshgrid(jnp.linspace(-1.8, 1.8, 25), jnp.linspace(-1.8, 1.8, 25)),
                   -1).reshape(-1, 2)
  exact = distance.softmin_energy(grid, data, metric)
  pred = model(params, grid)
  chex.assert_shape(pred, (625,))
  rel = float(jnp.mean(jnp.abs(pred - exact)) / (jnp.max(exact) - jnp.min(exact)))
  assert rel < 0.02, rel  # 0.003 at 60 epochs
  # the DDE penalty sums the learned energy over the trajectory's (x, u) points
  pen = dde_penalty(model, lambda m: m["dde"])
  xs, us = grid[:T + 1, :1], grid[:T, 1:]
  np.testing.assert_allclose(pen({"dde": params}, xs, us, 0),
                             jnp.sum(model(params, jnp.concatenate([xs[:-1], us], -1))),
                             rtol=1e-5)
  with pytest.raises(ValueError, match="low and high"):
    models_lib.fit_data_distance(data, (0.0,), (1.0,), config=config)
  with pytest.raises(ValueError, match="NaN"):
    models_lib.fit_data_distance(data.at[0, 0].set(jnp.nan), low, high, config=config)
  with pytest.raises(ValueError, match="dim"):
    model(params, jnp.zeros((3,)))


def test_model_and_planner_dims_mismatch_is_a_clear_error():
  ens = tiny_ensemble(2)  # a model of dim_x = 2, dim_u = 1
  params = jax.jit(ens.init)(jax.random.PRNGKey(0))
  problem = cost_problem(ens)._replace(dim_x=3)
  planner = make_loss_shooting(problem, penalized_loss(problem),
                               GradientPlannerConfig(horizon=T, num_iters=2))
  with pytest.raises(ValueError, match="dynamics model expects x"):
    solve(planner, {"ens": params}, jnp.zeros(3), jax.random.PRNGKey(0), 0.0)
