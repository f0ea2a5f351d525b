"""Annealed sampling and descent (SPEC A.4.2, E.3).

`annealed_langevin` against its formula on exact scores; then SPEC E.3: descent on
d_sigma with sigma annealed towards sigma_min ends at data.

From random starts in the 1D and 2D toy problems, mean-shift (a unit gradient
step on d_sigma) and plain gradient steps on d_sigma (autodiff of
`smoothed_distance`), with sigma on a geometric schedule sigma_max -> sigma_min,
end within 3 sigma_min of a data point. Without annealing (sigma held at
sigma_max) the same iterations stop far from the data, so the check is not
vacuous. The contrast of SPEC E.3 / B.1: minimising an ensemble's predictive
variance from the same starts can stop at a non-data point where the variance
is ~0 although the true error is not.
"""
import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from sgp_jax import distance, networks
from sgp_jax.sampling import annealed_langevin
from sgp_jax.schedules import geometric_sigmas, level_schedule

SIGMA_MAX, SIGMA_MIN = 1.0, 0.01
NUM_LEVELS, FINAL_STEPS = 60, 20


def _schedule():
  sigmas = geometric_sigmas(SIGMA_MAX, SIGMA_MIN, NUM_LEVELS)
  return np.concatenate([sigmas, np.full(FINAL_STEPS, SIGMA_MIN, np.float32)])


@functools.partial(jax.jit, static_argnames="method")
def _descend(z0, data, sigmas, method):
  """Runs one step per entry of `sigmas` from every start z0 (B, n)."""
  def step(z, sigma):
    if method == "mean_shift":
      return distance.mean_shift(z, data, sigma), None
    grad = jax.grad(lambda q: jnp.sum(distance.smoothed_distance(q, data, sigma)))(z)
    return z - 0.5 * grad, None  # gradient descent on d_sigma with step size 0.5
  z, _ = jax.lax.scan(step, z0, sigmas)
  return z


def _datasets():
  three = np.random.default_rng(123).uniform(-1.0, 1.0, size=(3, 1))  # SPEC B.2
  angles = np.linspace(0.0, 2 * np.pi, 12, endpoint=False)
  return {
      "1d_three_points": three,
      "1d_random": np.random.default_rng(7).uniform(-1.5, 1.5, size=(5, 1)),
      "2d_random": np.random.default_rng(11).uniform(-1.0, 1.0, size=(10, 2)),
      "2d_sparse_circle": np.stack([np.cos(angles), np.sin(angles)], -1),
  }


@pytest.mark.parametrize("name", sorted(_datasets()))
@pytest.mark.parametrize("method", ["mean_shift", "gradient"])
def test_annealed_descent_ends_at_data(name, method):
  data = jnp.asarray(_datasets()[name], jnp.float32)
  dim = data.shape[1]
  starts = jax.random.uniform(jax.random.PRNGKey(0), (64, dim), minval=-2.0, maxval=2.0)
  final = _descend(starts, data, jnp.asarray(_schedule()), method)
  chex.assert_shape(final, starts.shape)
  chex.assert_tree_all_finite(final)
  gap = np.asarray(distance.nearest_distance(final, data))
  assert gap.max() < 3 * SIGMA_MIN, f"worst distance to data {gap.max():.4f}"
  # Not vacuous: the starts were far from data, and without annealing (sigma
  # held at sigma_max) the same iteration stops away from the data.
  assert np.asarray(distance.nearest_distance(starts, data)).max() > 30 * SIGMA_MIN
  frozen = _descend(starts, data, jnp.full(_schedule().shape, SIGMA_MAX), method)
  assert np.asarray(distance.nearest_distance(frozen, data)).max() > 5 * SIGMA_MIN


def test_ensemble_variance_descent_can_stop_off_data():
  """B.1 picture: an ensemble's variance has minima away from the data (E.3 contrast).

  Three MLPs fit f(x) = x^2 sin x on the N = 3 points of SPEC B.1; Adam on the
  predictive variance from a grid of starts converges somewhere with ~0 variance
  and ~0 gradient, far from all data, where the true squared error of the
  ensemble mean is orders of magnitude larger than the variance. Annealed
  mean-shift from the same starts ends on data.
  """
  points = np.random.default_rng(321).uniform(-1.0, 1.0, size=(3, 1)).astype(np.float32)
  target = lambda x: x ** 2 * jnp.sin(x)
  net = networks.MLP((32, 32), 1)
  members = networks.init_ensemble(lambda k: net.init(k, jnp.zeros((1, 1))),
                                   jax.random.PRNGKey(0), 3)
  fit_opt, var_opt = optax.adam(1e-2), optax.adam(1e-2)

  def predictions(params, x):  # x scalar -> (members,)
    return jax.vmap(lambda p: net.apply(p, jnp.reshape(x, (1, 1)))[0, 0])(params)

  @jax.jit
  def run(members, starts):
    def fit_loss(p):
      return jnp.mean((net.apply(p, points) - target(points)) ** 2)

    def fit_step(carry, _):
      p, s = carry
      g = jax.vmap(jax.grad(fit_loss))(p)
      u, s = jax.vmap(fit_opt.update)(g, s, p)
      return (optax.apply_updates(p, u), s), None
    (members, _), _ = jax.lax.scan(fit_step, (members, jax.vmap(fit_opt.init)(members)),
                                   None, length=1000)
    variance = lambda x: jnp.var(predictions(members, x))

    def descend(x0):
      def step(carry, _):
        x, s = carry
        u, s = var_opt.update(jax.grad(variance)(x), s, x)
        return (x + u, s), None
      (x, _), _ = jax.lax.scan(step, (x0, var_opt.init(x0)), None, length=1000)
      return x
    ends = jax.vmap(descend)(starts)
    fit_err = jax.vmap(lambda p: fit_loss(p))(members)
    sq_err = (jnp.mean(jax.vmap(lambda x: predictions(members, x))(ends), -1)
              - target(ends)) ** 2
    return (ends, jax.vmap(variance)(ends), jax.vmap(jax.grad(variance))(ends), sq_err,
            fit_err)

  starts = jnp.linspace(-2.0, 2.0, 81)
  ends, var, grad, sq_err, fit_err = map(np.asarray, run(members, starts))
  assert fit_err.max() < 1e-5  # every member interpolates the data
  gap = np.abs(ends[:, None] - points[:, 0]).min(-1)
  off_data = (gap > 10 * SIGMA_MIN) & (np.abs(grad) < 1e-6) & (var < 1e-2 * sq_err)
  assert off_data.any(), "variance descent ended on data from every start"
  # The annealed distance descent from the same starts ends on data.
  final = _descend(starts[:, None], jnp.asarray(points), jnp.asarray(_schedule()),
                   "mean_shift")
  assert np.asarray(distance.nearest_distance(final, jnp.asarray(points))).max() < 3 * SIGMA_MIN


class _GaussianScore:
  """The exact score -z / var_l of N(0, var_l I) at level l, in the ScoreModel interface
  annealed_langevin uses (num_levels, check_input, score)."""

  def __init__(self, variances):
    self.variances = jnp.asarray(variances, jnp.float32)
    self.num_levels = int(self.variances.shape[0])

  def check_input(self, z):
    assert z.shape[-1] == 2

  def score(self, params, z, level):
    return -z / self.variances[level] + params * level


def test_annealed_langevin_is_its_formula():
  """z <- z + eps/2 s(z, l_k) (+ sqrt(eps) xi_k), l_k the planners' level schedule."""
  z0 = jnp.array([[1.0, -2.0], [0.5, 0.0]])
  # one level, no noise: z_K = (1 - eps / (2 var))^K z0 exactly
  out = annealed_langevin(_GaussianScore([2.0]), 0.0, z0, jax.random.PRNGKey(0), 10, 0.1,
                          noise=False)
  np.testing.assert_allclose(out, (1 - 0.1 / 4) ** 10 * np.asarray(z0), rtol=1e-5)
  # three levels with noise: the same recursion by hand, the keys split as the sampler does
  model, eps, steps = _GaussianScore([4.0, 1.0, 0.25]), 0.05, 7
  key = jax.random.PRNGKey(3)
  out = annealed_langevin(model, 0.3, z0, key, steps, eps)
  levels = level_schedule(steps, 3)
  z = np.asarray(z0, np.float64)
  for level, k in zip(levels, jax.random.split(key, steps)):
    s = -z / float(model.variances[level]) + 0.3 * level
    z = z + 0.5 * eps * s + np.sqrt(eps) * np.asarray(jax.random.normal(k, z.shape))
  np.testing.assert_allclose(out, z, rtol=1e-5, atol=1e-6)
  assert levels[0] == 0 and levels[-1] == 2  # it walked from the largest level down
  with pytest.raises(ValueError, match="step_size"):
    annealed_langevin(model, 0.0, z0, key, 5, 0.0)
