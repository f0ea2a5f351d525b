"""Shared test fixtures (plain functions and classes; pytest fixtures live in
conftest.py). Import as `from helpers import ...` (pytest puts tests/ on sys.path)."""
import importlib
import json
import os

import jax
import jax.numpy as jnp
import numpy as np

from sgp_jax import closed_loop
from sgp_jax.envs.base import EnvState
from sgp_jax.planning.problem import ControlProblem
from sgp_jax.types import Transitions

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ------------------------------------------------------------------ experiments
def set_fields(config, overrides: dict):
  """Sets dotted config fields ({"plan.num_iters": 3, ...}) in place, as the command
  line's --config.FIELD=VALUE overrides do; returns config."""
  for field, value in overrides.items():
    section, _, leaf = field.rpartition(".")
    node = config
    for part in filter(None, section.split(".")):
      node = node[part]
    node[leaf] = value
  return config


def tiny_experiment_config(name: str, overrides: dict, arg=None):
  """experiments/<name>/configs/default.py's config with `overrides` applied."""
  get_config = importlib.import_module(f"experiments.{name}.configs.default").get_config
  return set_fields(get_config() if arg is None else get_config(arg), overrides)


def run_tiny_pipeline(name: str, overrides: dict, workdir, plots=()):
  """Runs experiments/<name>/pipeline.run on the shrunk default config in `workdir`
  and checks what every run writes: summary.json with versions and config, each plot
  (> 5 kB) and a printable summary. Returns (config, summary, saved summary.json)."""
  pipeline = importlib.import_module(f"experiments.{name}.pipeline")
  config = tiny_experiment_config(name, overrides)
  summary = pipeline.run(config, str(workdir))
  with open(os.path.join(str(workdir), "summary.json")) as f:
    saved = json.load(f)
  assert saved["versions"]["jax"] and saved["config"]
  for plot in plots:
    assert os.path.getsize(os.path.join(str(workdir), plot)) > 5_000, plot
  assert isinstance(pipeline.format_summary(summary), str)
  return config, summary, saved


def config_flag(field: str, value) -> str:
  """--config.<field>=<value> as a shell-free argv entry (tuples as '(a,b,)')."""
  if isinstance(value, tuple):
    value = "(" + ",".join(repr(v) for v in value) + ("," if len(value) == 1 else "") + ")"
  return f"--config.{field}={value}"


def run_launcher(name: str, *args, timeout=600):
  """`python -m experiments.<name>.main *args` from the repository root, without the
  compilation cache; returns the CompletedProcess (text stdout / stderr)."""
  import subprocess
  import sys
  return subprocess.run(
      [sys.executable, "-m", f"experiments.{name}.main", *args, "--compilation_cache_dir="],
      cwd=REPO, env=dict(os.environ, PYTHONPATH=REPO), capture_output=True, text=True,
      timeout=timeout)


# ------------------------------------------------------------------ d4rl benchmark
DX, DU = 3, 2


class LinearEnv:
  """x' = 0.9 x + 0.1 B u, reward = u_0 - 0.1 |x|^2; terminal when |x_0| > bound.

  A pure-JAX stand-in for a brax env through the same `Env` protocol (reset / step
  -> `EnvState` with terminal / truncated), so closed-loop code runs without
  compiling a MuJoCo model."""
  dim_obs, dim_action = DX, DU

  def __init__(self, episode_length=6, bound=1e9):
    self.episode_length = episode_length
    self.bound = bound
    self.b = jnp.array([[1.0, 0.0], [0.0, 1.0], [0.5, -0.5]])

  def reset(self, key):
    x = 0.1 * jax.random.normal(key, (DX,))
    f = jnp.zeros((), bool)
    return EnvState(sim=x, obs=x, reward=jnp.zeros(()), terminal=f, truncated=f,
                    t=jnp.zeros((), jnp.int32))

  def step(self, state, u):
    x = 0.9 * state.obs + 0.1 * self.b @ u
    t = state.t + 1
    terminal = jnp.abs(x[0]) > self.bound
    return EnvState(sim=x, obs=x, reward=u[0] - 0.1 * jnp.sum(x ** 2), terminal=terminal,
                    truncated=(t >= self.episode_length) & ~terminal, t=t)


class StaggeredEnv(LinearEnv):
  """LinearEnv whose episode terminates after a random number of steps, 1-4."""

  def reset(self, key):
    state = super().reset(key)
    deadline = 1 + jax.random.randint(jax.random.fold_in(key, 1), (), 0, 4)
    return state.replace(sim=(state.obs, deadline))

  def step(self, state, u):
    nxt = super().step(state, u)
    terminal = nxt.t >= state.sim[1]
    return nxt.replace(sim=(nxt.obs, state.sim[1]), terminal=terminal,
                       truncated=nxt.truncated & ~terminal)


def tiny_d4rl_config():
  """The d4rl benchmark's default config with tiny models and planners."""
  from experiments.d4rl_benchmark.configs import default
  c = default.get_config()
  for name in ("dynamics", "reward", "score", "ensemble", "bc"):
    c[name].hidden = (16, 16)
    c[name].epochs = 2
    c[name].batch_size = 64
  c.score.num_levels = 3
  c.ensemble.num_members = 2
  c.plan.num_iters = 3
  c.plan.horizon = 3
  c.plan.num_samples = 4
  c.plan.num_elites = 2
  return c


def tiny_d4rl_data(n=256, seed=0):
  """n transitions of LinearEnv (x ~ N(0, 0.3^2), u ~ U[-1, 1])."""
  rng = np.random.default_rng(seed)
  env = LinearEnv()
  x = rng.normal(size=(n, DX)).astype(np.float32) * 0.3
  u = rng.uniform(-1, 1, (n, DU)).astype(np.float32)
  x_next = np.asarray(jax.vmap(lambda a, b: 0.9 * a + 0.1 * env.b @ b)(x, u))
  reward = (u[:, 0] - 0.1 * np.sum(x_next ** 2, -1)).astype(np.float32)
  return Transitions(x=jnp.asarray(x), u=jnp.asarray(u), x_next=jnp.asarray(x_next),
                     reward=jnp.asarray(reward))


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
  return {"A": jnp.asarray(a), "B": jnp.asarray(b), "var": jnp.asarray(var, jnp.float32)}


def lq_problem(with_score=True):
  """A `ControlProblem` whose dynamics and score read their parameters from `models`."""
  q, r, qf = LQ_Q, LQ_R, LQ_QF
  return ControlProblem(
      dim_x=2, dim_u=1,
      dynamics=lambda m, x, u: m["A"] @ x + m["B"] @ u,
      running_cost=lambda m, x, u, t: x @ q @ x + u @ r @ u,
      terminal_cost=lambda m, x: x @ qf @ x,
      score=(lambda m, z, level: -z / m["var"]) if with_score else None)


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


# ------------------------------------------------------------------ closed loop, LQR
# x' = A x + B u (a discretised double integrator) with running cost x'Qx + u'Ru and
# terminal cost x'Qf x: with the true model, MPC is receding-horizon LQR.
LQR_A = np.array([[1.0, 0.1], [0.0, 1.0]], np.float32)
LQR_B = np.array([[0.005], [0.1]], np.float32)
LQR_Q, LQR_R = np.eye(2, dtype=np.float32), 0.1 * np.eye(1, dtype=np.float32)
LQR_QF = 2 * np.eye(2)


def riccati(horizon):
  """Finite-horizon LQR of (LQR_A, LQR_B): gains K_0..K_{T-1}, cost-to-go P_0..P_T."""
  a, b = LQR_A, LQR_B
  P = [None] * (horizon + 1)
  K = [None] * horizon
  P[horizon] = LQR_QF
  for t in reversed(range(horizon)):
    K[t] = np.linalg.solve(LQR_R + b.T @ P[t + 1] @ b, b.T @ P[t + 1] @ a)
    P[t] = LQR_Q + a.T @ P[t + 1] @ (a - b @ K[t])
  return K, P


def lqr_step(x, u):
  """The true system x' = A x + B u, shapes (2,), (1,) -> (2,)."""
  return jnp.asarray(LQR_A) @ x + jnp.asarray(LQR_B) @ u


LQR_PROBLEM = ControlProblem(
    dim_x=2, dim_u=1, dynamics=lambda m, x, u: lqr_step(x, u),
    running_cost=lambda m, x, u, t: x @ jnp.asarray(LQR_Q) @ x + u @ jnp.asarray(LQR_R) @ u,
    terminal_cost=lambda m, x: x @ jnp.asarray(LQR_QF) @ x)



# ---------------------------------------------------------------- planning: exact cases
def nonlinear_score_setup():
  """A nonlinear rollout z(theta) (T = 4, z = (x, u) of dims 2 + 1) and the exact KDE
  score of 9 points (sigma 0.7): (theta, z_of, score_fn, dynamics, x0)."""
  from sgp_jax.distance import empirical_score
  from sgp_jax.planning import rollout
  rng = np.random.default_rng(0)
  data = jnp.asarray(rng.normal(size=(9, 3)), jnp.float32)
  theta = jnp.asarray(rng.normal(size=(4, 1)), jnp.float32)
  x0 = jnp.asarray([0.3, -0.4])

  def dynamics(models, x, u):
    return jnp.stack([x[0] + 0.1 * jnp.sin(x[1]), x[1] + 0.1 * jnp.tanh(u[0] + x[0])])

  def z_of(us):
    problem = ControlProblem(dim_x=2, dim_u=1, dynamics=dynamics)
    xs = rollout(problem, None, x0, us)
    return jnp.concatenate([xs[:-1], us], -1)  # (T, 3)

  def score_fn(models, z, level):
    return empirical_score(z, data, 0.7)
  return theta, z_of, score_fn, dynamics, x0


# Direct methods (collocation, transcription): x' = x + u with control cost RHO ||u||^2
# and an analytic Gaussian score, so sigma_l^2 s(z) is the gradient of a quadratic and
# each planner's optimum is one Newton step away.
DIRECT_SIGMAS = jnp.array([0.5, 0.2, 0.1])  # three annealed levels
DIRECT_RHO = 0.1


def transition_score(models, z, level):
  """Score of N(x'; x + u, sigma_l^2) (flat in x, u), dim_x = dim_u: z = (x, u, x')."""
  d = z.shape[-1] // 3
  x, u, xn = z[..., :d], z[..., d:2 * d], z[..., 2 * d:]
  r = (xn - x - u) / DIRECT_SIGMAS[level] ** 2
  return jnp.concatenate([r, r, -r], -1)


def gaussian_xu_score(models, z, level):
  """Score of N(z; 0, sigma_l^2 I)."""
  return -z / DIRECT_SIGMAS[level] ** 2


def direct_problem(dim, score, terminal=None):
  """x' = x + u, cost RHO ||u||^2 (+ terminal), the score at DIRECT_SIGMAS."""
  return ControlProblem(
      dim_x=dim, dim_u=dim, dynamics=lambda m, x, u: x + u,
      running_cost=lambda m, x, u, t: DIRECT_RHO * jnp.sum(u ** 2),
      terminal_cost=terminal, score=score, num_levels=3,
      score_sigma=lambda m, level: DIRECT_SIGMAS[level])


def newton_optimum(loss, theta0):
  """Exact minimiser of a quadratic loss(theta) (a pytree), by one Newton step."""
  import jax.flatten_util
  flat, unravel = jax.flatten_util.ravel_pytree(theta0)
  f = lambda v: loss(unravel(v))
  step = jax.jit(lambda v: v - jnp.linalg.solve(jax.hessian(f)(v), jax.grad(f)(v)))
  return unravel(step(flat))


def direct_config(**overrides):
  from sgp_jax.planning import GradientPlannerConfig
  base = dict(horizon=5, num_iters=1000, learning_rate=0.1, init_std=0.1)
  base.update(overrides)
  return GradientPlannerConfig(**base)


# Sampling planners (CEM, MPPI): x' = x + u with cost sum_t (u_t - c_t)^2, whose
# optimum is u = c whatever x0.
QUADRATIC_TARGET = np.array([0.3, -0.5, 0.8], np.float32)


def quadratic_problem(score=None):
  c = jnp.asarray(QUADRATIC_TARGET)
  return ControlProblem(
      dim_x=1, dim_u=1, dynamics=lambda m, x, u: x + u,
      running_cost=lambda m, x, u, t: jnp.sum((u - c[t]) ** 2), score=score)


def sampling_config(**overrides):
  from sgp_jax.planning import SamplingPlannerConfig
  base = dict(horizon=3, num_iters=30, num_samples=64, num_elites=8, sample_std=1.0,
              min_std=1e-4, record_history=True)
  base.update(overrides)
  return SamplingPlannerConfig(**base)


# Refit inputs with known answers: samples 0, 1, 2, 3 with losses 3, 0, 1, 2.
REFIT_US = np.array([[[0.0]], [[1.0]], [[2.0]], [[3.0]]], np.float32)
REFIT_LOSSES = np.array([3.0, 0.0, 1.0, 2.0], np.float32)


# ------------------------------------------------------------------ models, training, checkpoints
def toy_net():
  """The network of the toy regression: an MLP (8,) -> 1 on 2 inputs."""
  from sgp_jax.networks import MLP
  return MLP((8,), 1)


def toy_train_config(**overrides):
  from sgp_jax.training import TrainConfig
  return TrainConfig(**{**dict(epochs=4, batch_size=16, learning_rate=1e-2,
                                epochs_per_call=2, validation_fraction=0.25, seed=3),
                        **overrides})


TOY_RUN = {"experiment": "toy-regression"}


def toy_data():
  """64 rows of y = sin(x_0) + noise, x (64, 2)."""
  rng = np.random.default_rng(0)
  x = rng.normal(size=(64, 2)).astype(np.float32)
  return {"x": x, "y": np.sin(x[:, :1]) + 0.1 * rng.normal(size=(64, 1)).astype(np.float32)}


def toy_loss(params, batch, key):
  # The key is used, so a wrong RNG after resume would change the result.
  noise = 0.01 * jax.random.normal(key, batch["y"].shape)
  return jnp.mean((toy_net().apply(params, batch["x"]) - batch["y"] - noise) ** 2)


def toy_params():
  return toy_net().init(jax.random.PRNGKey(0), jnp.zeros((1, 2)))


def train_toy(workdir=None, config=None, run=TOY_RUN, data=None, progress_fn=None):
  """`training.train` on the toy regression (checkpoints in `workdir` if given)."""
  from sgp_jax import training
  return training.train(toy_loss, toy_params(), toy_data() if data is None else data,
                        toy_train_config() if config is None else config,
                        workdir=None if workdir is None else str(workdir), run_config=run,
                        progress_fn=progress_fn)


class StopTraining(Exception):
  """Raised by `stop_at`'s progress function: an interrupted run."""


def stop_at(epoch):
  """A progress_fn that interrupts training once `epoch` epochs are done."""
  def progress(done, metrics):
    if done >= epoch:
      raise StopTraining(done)
  return progress


def copy_dir(src, dst):
  import shutil
  shutil.copytree(src, dst)
  return dst


def flip_bytes(path):
  raw = bytearray(open(path, "rb").read())
  raw[len(raw) // 2] ^= 0xFF
  open(path, "wb").write(bytes(raw))


def truncate_file(path):
  raw = open(path, "rb").read()
  open(path, "wb").write(raw[:len(raw) // 2])


def garbage_json(path):
  open(path, "w").write("{not json")


def perturbed(params, scale=0.1, seed=7):
  """params plus Gaussian noise (e.g. zero-initialised output layers, level embeddings
  initialised to ones, made to differ)."""
  leaves, tree = jax.tree_util.tree_flatten(params)
  keys = jax.random.split(jax.random.PRNGKey(seed), len(leaves))
  return jax.tree_util.tree_unflatten(
      tree, [a + scale * jax.random.normal(k, a.shape) for a, k in zip(leaves, keys)])


def example_models():
  """One small model of every kind, with non-trivial normalisers: {name: model}."""
  from sgp_jax import models
  from sgp_jax.normalization import Normalizer
  x_norm = Normalizer.from_scale([2.0, 0.5], [1.0, 0.0])
  u_norm = Normalizer.from_scale(4.0, 0.25, dim=1)
  rewards = np.random.default_rng(0).normal(2.0, 3.0, size=100)
  return {
      "dynamics": models.make_dynamics_model(x_norm, u_norm, (16, 16), layer_norm=True),
      "reward": models.make_reward_model(x_norm, u_norm, rewards, (8,)),
      "bc": models.make_bc_policy(x_norm, u_norm, (8,), "tanh"),
      "dde": models.make_data_distance_model([-1.0, -2.0], [1.0, 2.0], (8,),
                                             target_scale=3.0, target_offset=-0.5),
      "ensemble": models.make_dynamics_ensemble(x_norm, u_norm, (8,), num_members=3),
      "score": models.make_score_model("xux", x_norm, u_norm, [0.3, 0.175, 0.05],
                                       (16, 16), alpha=2.0),
      "value": models.make_value_model(x_norm, 10.0 * rewards, (8,)),
  }


def assert_return_replays(env, episodes, key, episode: int):
  """Replays episode `episode`'s actions on `env` from its reset key (the evaluator's
  `episode_keys(key, P)`) and checks that the rewards sum to its recorded return.
  Returns the reset keys."""
  num = episodes.actions.shape[0]
  keys_reset, _ = closed_loop.episode_keys(key, num)
  state = env.reset(keys_reset[episode])
  total = 0.0
  for u in episodes.actions[episode]:
    state = env.step(state, u)
    total += float(state.reward)
  np.testing.assert_allclose(total, float(episodes.returns()[episode]), rtol=1e-5)
  return keys_reset


# ---------------------------------------------------------------- plan prior, value
def linear_env_prior_setup():
  """LinearEnv's exact model as a ControlProblem (no cost, no score: a gradient
  planner keeps its initial plan), a linear-tanh "BC" policy u = tanh(K x) reading K
  from models["bc"], and the models pytree {"B", "bc": {"K"}}:
  (problem, policy_apply, models)."""
  env = LinearEnv()
  problem = ControlProblem(dim_x=DX, dim_u=DU,
                           dynamics=lambda m, x, u: 0.9 * x + 0.1 * m["B"] @ u)
  models = {"B": env.b, "bc": {"K": jnp.array([[1.5, -0.5, 0.2], [0.3, 0.8, -1.0]])}}
  return problem, (lambda m, x: jnp.tanh(m["bc"]["K"] @ x)), models
