"""Shared test helpers for the core suite.

Kept deliberately small: every fixture here is cheap, and nothing here changes
global JAX state (float64 is enabled only inside `jax.enable_x64(True)` blocks
in the tests that need it, so it never leaks into other tests).
"""
import chex
import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _clear_chex_trace_counter():
  """`chex.assert_max_traces` counts per wrapped function; start every test clean."""
  chex.clear_trace_counter()
  yield
  chex.clear_trace_counter()


def naive_logsumexp(a: np.ndarray, axis: int = -1) -> np.ndarray:
  """Plain numpy log-sum-exp (float64), independent of the library's streaming code."""
  a = np.asarray(a, np.float64)
  m = np.max(a, axis=axis, keepdims=True)
  return np.squeeze(m, axis) + np.log(np.sum(np.exp(a - m), axis=axis))


def naive_sq_dists(z: np.ndarray, data: np.ndarray) -> np.ndarray:
  """||z - z_i||^2 for every query and data point, shape z.shape[:-1] + (N,)."""
  z = np.asarray(z, np.float64)
  data = np.asarray(data, np.float64)
  return np.sum((z[..., None, :] - data) ** 2, axis=-1)


def naive_distance(z, data, sigma) -> np.ndarray:
  """d_sigma(z) = -sigma^2 log sum_i exp(-||z - z_i||^2 / (2 sigma^2)), all in numpy."""
  return -sigma ** 2 * naive_logsumexp(-naive_sq_dists(z, data) / (2 * sigma ** 2))


def naive_log_density(z, data, sigma) -> np.ndarray:
  """log of the Gaussian KDE (1/N) sum_i N(z; z_i, sigma^2 I), from the Gaussian pdf."""
  data = np.asarray(data, np.float64)
  n_data, dim = data.shape
  log_gauss = (-naive_sq_dists(z, data) / (2 * sigma ** 2)
               - 0.5 * dim * np.log(2 * np.pi * sigma ** 2))
  return naive_logsumexp(log_gauss) - np.log(n_data)


def naive_score(z, data, sigma) -> np.ndarray:
  """sum_i w_i(z) (z_i - z) / sigma^2 with softmax weights, in numpy."""
  z = np.asarray(z, np.float64)
  data = np.asarray(data, np.float64)
  logits = -naive_sq_dists(z, data) / (2 * sigma ** 2)
  w = np.exp(logits - naive_logsumexp(logits)[..., None])
  return (w @ data - z) / sigma ** 2


# ---------------------------------------------------------------- linear-quadratic
# x' = A x + B u (a discretised double integrator), running cost x'Qx + u'Ru,
# terminal cost x'Qf x. With the Gaussian score s(z) = -z / var on z = (x, u) the
# SGP surrogate's gradient is that of cost + beta sum_t ||z_t||^2 / (2 var), so even
# beta > 0 has a closed-form optimum (a linear least-squares problem).
LQ_DT = 0.1
LQ_A = np.array([[1.0, LQ_DT], [0.0, 1.0]], np.float32)
LQ_B = np.array([[0.0], [LQ_DT]], np.float32)
LQ_Q = np.diag([1.0, 0.1]).astype(np.float32)
LQ_R = np.array([[0.1]], np.float32)
LQ_QF = np.diag([10.0, 1.0]).astype(np.float32)


def lq_models(var=2.0, a=LQ_A, b=LQ_B):
  """The `models` pytree the planner receives: the system matrices and score variance."""
  import jax.numpy as jnp
  return {"A": jnp.asarray(a), "B": jnp.asarray(b), "var": jnp.asarray(var, jnp.float32)}


def lq_problem(with_score=True):
  """A `ControlProblem` whose dynamics and score read their parameters from `models`."""
  from sgp_jax.planning.shooting import ControlProblem
  q, r, qf = LQ_Q, LQ_R, LQ_QF
  return ControlProblem(
      dim_x=2, dim_u=1,
      dynamics=lambda m, x, u: m["A"] @ x + m["B"] @ u,
      running_cost=lambda m, x, u, t: x @ q @ x + u @ r @ u,
      terminal_cost=lambda m, x: x @ qf @ x,
      score=(lambda m, z, level: -z / m["var"]) if with_score else None)


class LQEnv:
  """The LQ system as an `sgp_jax.envs.Env` (random reset, reward -||x||^2, time
  limit `episode_length`), for closed-loop evaluator tests."""
  dim_obs, dim_action = 2, 1

  def __init__(self, models, episode_length=3):
    self.models, self.episode_length = models, episode_length

  def reset(self, key):
    import jax, jax.numpy as jnp
    from sgp_jax.envs.brax_env import EnvState
    x, no = jax.random.normal(key, (2,)), jnp.zeros((), bool)
    return EnvState(sim=x, obs=x, reward=jnp.zeros(()), terminal=no, truncated=no,
                    t=jnp.zeros((), jnp.int32))

  def step(self, state, u):
    import jax.numpy as jnp
    from sgp_jax.envs.brax_env import EnvState
    x, t = self.models["A"] @ state.obs + self.models["B"] @ u, state.t + 1
    return EnvState(sim=x, obs=x, reward=-x @ x, terminal=jnp.zeros((), bool),
                    truncated=t >= self.episode_length, t=t)


def lq_optimum(x0, horizon, beta=0.0, var=2.0, a=LQ_A, b=LQ_B):
  """argmin_u of cost + beta sum_{t<T} ||(x_t, u_t)||^2 / (2 var), by numpy least squares.

  Returns (actions (T, 1), optimal task cost without the penalty), in float64.
  """
  a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
  x0 = np.asarray(x0, np.float64)
  nx, nu = b.shape
  # x_t = Phi_t x0 + Gamma_t U, U = (u_0, ..., u_{T-1}) stacked.
  phi = [np.linalg.matrix_power(a, t) for t in range(horizon + 1)]
  gamma = np.zeros((horizon + 1, nx, horizon * nu))
  for t in range(1, horizon + 1):
    for s in range(t):
      gamma[t][:, s * nu:(s + 1) * nu] = np.linalg.matrix_power(a, t - 1 - s) @ b
  w_pen = np.sqrt(beta / (2 * var))
  rows, rhs = [], []
  for t in range(horizon + 1):
    w = np.linalg.cholesky(LQ_QF if t == horizon else LQ_Q).T.astype(np.float64)
    rows.append(w @ gamma[t])
    rhs.append(-w @ phi[t] @ x0)
    if t < horizon and beta > 0:
      rows.append(w_pen * gamma[t])
      rhs.append(-w_pen * phi[t] @ x0)
  r_sqrt = np.linalg.cholesky(LQ_R.astype(np.float64)).T
  for t in range(horizon):
    sel = np.zeros((nu, horizon * nu))
    sel[:, t * nu:(t + 1) * nu] = np.eye(nu)
    rows.append(r_sqrt @ sel)
    rhs.append(np.zeros(nu))
    if beta > 0:
      rows.append(w_pen * sel)
      rhs.append(np.zeros(nu))
  u = np.linalg.lstsq(np.concatenate(rows), np.concatenate(rhs), rcond=None)[0]
  xs = np.stack([phi[t] @ x0 + gamma[t] @ u for t in range(horizon + 1)])
  us = u.reshape(horizon, nu)
  cost = (sum(xs[t] @ LQ_Q @ xs[t] + us[t] @ LQ_R @ us[t] for t in range(horizon))
          + xs[-1] @ LQ_QF @ xs[-1])
  return us, float(cost)
