"""Smoke tests of the D4RL benchmark: training, the closed-loop MPC evaluator, BC.

Fast tests use a pure-JAX stand-in env through the same `Env` protocol
(reset / step -> `EnvState` with terminal / truncated), so the evaluator's real
code paths (planner inside the jitted loop, early stop at termination, warm start,
vmap over episodes, normalised scores) run without compiling a brax model. The
brax tests are marked slow.
"""
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.d4rl_benchmark import pipeline
from experiments.d4rl_benchmark.configs import default
from sgp_jax import bc as bc_lib
from sgp_jax import envs, evaluation
from sgp_jax import models as models_lib
from sgp_jax.envs.brax_env import EnvState
from sgp_jax.types import Transitions

DX, DU = 3, 2


class LinearEnv:
  """x' = 0.9 x + 0.1 B u, reward = u_0 - 0.1 |x|^2; terminal when |x_0| > bound."""
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


def tiny_config():
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


def tiny_data(n=256, seed=0):
  rng = np.random.default_rng(seed)
  env = LinearEnv()
  x = rng.normal(size=(n, DX)).astype(np.float32) * 0.3
  u = rng.uniform(-1, 1, (n, DU)).astype(np.float32)
  x_next = np.asarray(jax.vmap(lambda a, b: 0.9 * a + 0.1 * env.b @ b)(x, u))
  reward = (u[:, 0] - 0.1 * np.sum(x_next ** 2, -1)).astype(np.float32)
  return Transitions(x=jnp.asarray(x), u=jnp.asarray(u), x_next=jnp.asarray(x_next),
                     reward=jnp.asarray(reward))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp("d4rl"))
  config, data = tiny_config(), tiny_data()
  m, params, metrics = pipeline.train_models(config, data, workdir)
  return config, data, workdir, m, params, metrics


def test_training_writes_checkpoints_and_resumes(trained):
  config, data, workdir, m, params, metrics = trained
  for name in ("dynamics", "reward", "score", "ensemble", "bc"):
    assert os.path.isfile(os.path.join(workdir, "models", name, "config.json"))
  for name, metric in metrics.items():
    assert np.isfinite(metric["best_val_loss"]), name
  # the score is noise-conditioned with geometric levels, largest first
  sig = np.asarray(m["score"].sigmas)
  np.testing.assert_allclose(sig, np.geomspace(10 ** -0.5, 1e-3, 3), rtol=1e-5)
  # resume: a second call finds the finished checkpoints and returns the same params
  _, params2, metrics2 = pipeline.train_models(config, data, workdir)
  jax.tree.map(np.testing.assert_array_equal, params["dynamics"], params2["dynamics"])
  assert metrics2["dynamics"]["final_train_loss"] == metrics["dynamics"]["final_train_loss"]
  ensemble, ens_params = models_lib.load(os.path.join(workdir, "models", "ensemble"))
  assert ensemble.num_members == config.ensemble.num_members
  jax.tree.map(np.testing.assert_array_equal, ens_params, params["ensemble"])
  policy, bc_params = bc_lib.load_bc(os.path.join(workdir, "models", "bc"))
  np.testing.assert_allclose(policy(bc_params, data.x[:4]), m["bc"](params["bc"], data.x[:4]))


@pytest.mark.slow  # about 45 s of compiles on 2 cores; .ci/run runs it after the fast suite
def test_mpc_evaluator_all_planners(trained):
  config, _, _, m, params, _ = trained
  env = LinearEnv(episode_length=5)
  models = {k: params[k] for k in pipeline.PLANNED_MODELS}
  # two "training seeds": the trained set and a perturbed copy, stacked
  other = jax.tree.map(lambda a: a * 1.1, models)
  stacked = evaluation.stack_models([models, other])
  planners = pipeline.make_planners(config, m, "medium")
  assert set(planners) == set(pipeline.METHODS) - {"bc"}
  for name, (planner, beta) in planners.items():
    evaluate = evaluation.make_mpc_evaluator(env, planner, num_episodes=1,
                                             num_model_sets=2)
    eps = evaluate(stacked, jax.random.PRNGKey(0), beta)
    assert eps.actions.shape == (2, 5, DU), name
    assert bool(jnp.all(jnp.abs(eps.actions) <= 1.0)), name  # the action box
    assert bool(jnp.all(eps.valid)), name
    assert np.all(np.isfinite(np.asarray(eps.returns()))), name
    if name == "sgp":  # set s runs episode s: the same as one set's evaluator
      for s, ms in enumerate((models, other)):
        single = evaluation.make_mpc_evaluator(env, planner, num_episodes=2)(
            ms, jax.random.PRNGKey(0), beta)
        np.testing.assert_allclose(single.actions[s], eps.actions[s], rtol=1e-5,
                                   atol=1e-6)
  assert pipeline.planner_for(planners, "sgp@2.5") == (planners["sgp"][0], 2.5)
  pipeline.check_methods(("sgp@1", "cem_score", "bc"))
  assert pipeline.models_needed(("beta0", "bc")) == ("dynamics", "reward", "bc")
  assert pipeline.models_needed(("sgp@1", "mppi_state_var")) == (
      "dynamics", "reward", "score", "ensemble")
  assert pipeline.models_needed(("cem_score", "ensemble_cost_var")) == (
      "dynamics", "reward", "score", "ensemble")
  for bad in ("sgp@x", "sgd", "bc@1"):
    with pytest.raises(ValueError, match="method"):
      pipeline.check_methods((bad,))
  with pytest.raises(ValueError, match="leading axis"):
    evaluate(models, jax.random.PRNGKey(0), 0.0)
  # the episodes' true rewards are the env's: replaying the actions reproduces them
  keys_reset, _ = evaluation.episode_keys(jax.random.PRNGKey(0), 2)
  state = env.reset(keys_reset[1])
  total = 0.0
  for u in eps.actions[1]:
    state = env.step(state, u)
    total += float(state.reward)
  np.testing.assert_allclose(total, float(eps.returns()[1]), rtol=1e-5)


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


def test_mpc_evaluator_stops_terminated_episodes_and_records_plans(trained):
  config, _, _, m, params, _ = trained
  models = {k: params[k] for k in pipeline.PLANNED_MODELS}
  planner, beta = pipeline.make_planners(config, m, "medium")["sgp"]
  num, steps, key = 6, 5, jax.random.PRNGKey(1)
  env = StaggeredEnv(episode_length=steps)
  eps = jax.device_get(evaluation.make_mpc_evaluator(env, planner, num, record_plans=True)(
      models, key, beta))
  keys_reset, _ = evaluation.episode_keys(key, num)
  deadlines = np.array([int(env.reset(k).sim[1]) for k in keys_reset])
  assert len(set(deadlines)) > 1, deadlines  # episodes of the batch end at different steps
  np.testing.assert_array_equal(eps.lengths(), deadlines)
  for i, n in enumerate(deadlines):
    assert eps.valid[i, :n].all() and not eps.valid[i, n:].any()
    assert eps.terminals[i, n - 1] and not eps.terminals[i, :n - 1].any()
    assert not np.any(eps.actions[i, n:]) and not np.any(eps.plan_states[i, n:])
  t = config.plan.horizon
  assert eps.plan_states.shape == (num, steps, t + 1, DX)
  assert eps.plan_true_states.shape == (num, steps, t + 1, DX)
  # plan and truth start from the same state
  np.testing.assert_allclose(eps.plan_states[:, :, 0], eps.plan_true_states[:, :, 0])
  # until its end, each episode is the one a never-terminating env runs (same keys)
  full = evaluation.make_mpc_evaluator(LinearEnv(episode_length=steps), planner, num)(
      models, key, beta)
  assert bool(jnp.all(full.valid))
  for i, n in enumerate(deadlines):
    np.testing.assert_allclose(eps.actions[i, :n], full.actions[i, :n], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(eps.rewards[i, :n], full.rewards[i, :n], rtol=1e-5, atol=1e-6)
  # an episode's return is its reward up to its end, not beyond
  np.testing.assert_allclose(eps.returns(), [full.rewards[i, :n].sum() for i, n in
                                             enumerate(deadlines)], rtol=1e-5, atol=1e-6)


def test_bc_and_scores(trained):
  config, data, _, m, params, _ = trained
  rollout = envs.make_rollout(LinearEnv(episode_length=4), m["bc"].policy_apply, 2)
  r = rollout(params["bc"], jax.random.PRNGKey(0))
  assert r.actions.shape == (2, 4, DU) and bool(jnp.all(jnp.abs(r.actions) < 1))
  scores = evaluation.normalized_scores(np.array([0.0, 50.0, 100.0]),
                                        {"ref_min_score": 0.0, "ref_max_score": 100.0})
  np.testing.assert_allclose(scores, [0, 50, 100])
  s = evaluation.score_summary(scores)
  assert s["mean"] == 50 and s["num_episodes"] == 3


@pytest.mark.slow
def test_one_mpc_step_on_brax_halfcheetah(trained):
  """The brax path: one MPC step of untrained models on positional halfcheetah."""
  config = tiny_config()
  env = envs.make_env("halfcheetah", "positional", episode_length=2)
  rng = np.random.default_rng(0)
  n = 64
  data = Transitions(x=jnp.asarray(rng.normal(size=(n, env.dim_obs)), jnp.float32),
                     u=jnp.asarray(rng.uniform(-1, 1, (n, env.dim_action)), jnp.float32),
                     x_next=jnp.asarray(rng.normal(size=(n, env.dim_obs)), jnp.float32),
                     reward=jnp.asarray(rng.normal(size=(n,)), jnp.float32))
  m = pipeline.build_models(config, data)
  keys = jax.random.split(jax.random.PRNGKey(0), 4)
  models = {k: m[k].init(key) for k, key in zip(("dynamics", "reward", "score", "ensemble"),
                                                keys)}
  planner, beta = pipeline.make_planners(config, m, "medium")["sgp"]
  eps = evaluation.make_mpc_evaluator(env, planner, 1)(models, jax.random.PRNGKey(0), beta)
  assert eps.actions.shape == (1, 2, env.dim_action)
  assert np.all(np.isfinite(np.asarray(eps.returns())))
  states = evaluation.replay(env, evaluation.episode_keys(jax.random.PRNGKey(0), 1)[0][0],
                             eps.actions[0])
  assert len(states) == 3


def test_evaluate_methods_per_seed_summary(trained):
  config, _, _, m, params, _ = trained
  config = config.copy_and_resolve_references()
  config.methods = ("bc",)
  config.eval.episodes_per_seed = 2
  config.eval.num_steps = 4
  meta = {"ref_min_score": -10.0, "ref_max_score": 10.0, "episode_length": 4}
  other = dict(params, bc=jax.tree.map(lambda a: -a, params["bc"]))
  out, episodes = pipeline.evaluate_methods(config, m, [params, other],
                                            LinearEnv(episode_length=4), meta, "medium",
                                            log=lambda *a: None)
  r = out["bc"]
  assert len(r["scores"]) == 4 and len(r["score_per_seed_mean"]) == 2
  np.testing.assert_allclose(r["score_per_seed_mean"],
                             np.asarray(r["scores"]).reshape(2, 2).mean(1))
  # seed 1's policy is a different network: its episodes differ from seed 0's
  assert episodes["bc"].actions.shape == (4, 4, DU)
  assert not np.allclose(episodes["bc"].actions[:2], episodes["bc"].actions[2:])
  # BC starts from the planners' reset states (paired comparisons): episode i from
  # the reset key i of `episode_keys`, as the MPC evaluator does.
  keys_reset, _ = evaluation.episode_keys(jax.random.PRNGKey(config.eval.seed), 4)
  env = LinearEnv(episode_length=4)
  x0s = np.stack([np.asarray(env.reset(k).obs) for k in keys_reset])
  assert np.ptp(x0s, axis=0).max() > 0  # reset states differ between episodes
  np.testing.assert_allclose(np.asarray(episodes["bc"].observations[:, 0]), x0s, atol=1e-6)


@pytest.mark.parametrize("name", ["default", "gpu", "gpu:walker2d", "hopper", "walker2d", "ant"])
def test_shipped_configs_are_complete(name):
  """Every shipped config names a known env and methods, and has a beta per level."""
  import importlib
  module, _, arg = name.partition(":")
  get_config = importlib.import_module(f"experiments.d4rl_benchmark.configs.{module}").get_config
  c = get_config(arg) if arg else get_config()
  if module == "gpu":
    assert c.env == (arg or "halfcheetah") and c.dynamics.hidden == (1024,) * 4
  assert c.env in envs.ENV_NAMES
  pipeline.check_methods(c.methods)
  for level in ("random", "medium", "medium-replay", "medium-expert", "expert"):
    assert c.plan.betas[level] > 0 and 0 < c.plan.beta_mins[level] <= c.plan.betas[level]
  assert pipeline.FORWARD_VELOCITY_INDEX[c.env] < envs.make_env(c.env).dim_obs



@pytest.mark.slow  # about 10 s of compiles on 2 cores; .ci/run runs it after the fast suite
def test_diagnose_episodes(trained, tmp_path):
  """Per-step plan error and distance to data along the benchmark's own episodes."""
  config, data, _, m, params, _ = trained
  config = config.copy_and_resolve_references()
  config.eval.episodes_per_seed = 2
  config.eval.num_steps = 5
  config.methods = ("sgp",)
  meta = {"ref_min_score": -10.0, "ref_max_score": 10.0, "episode_length": 5}
  env = LinearEnv(episode_length=5, bound=0.12)  # some episodes end early
  other = dict(params, dynamics=jax.tree.map(lambda a: 1.1 * a, params["dynamics"]))
  summary, series = pipeline.diagnose_episodes(config, m, [params, other], env, data, meta,
                                               "medium", "sgp", window=2)
  eps = summary["episodes"]
  assert [ep["seed"] for ep in eps] == [0, 0, 1, 1]
  assert series["plan_error"].shape == series["data_distance"].shape == (4, 5)
  assert any(ep["fell"] for ep in eps) and not all(ep["fell"] for ep in eps)
  # the same episodes as the benchmark's (same keys, model sets and planner)
  out, _ = pipeline.evaluate_methods(config, m, [params, other], env, meta, "medium",
                                     log=lambda *a: None)
  np.testing.assert_allclose([ep["score"] for ep in eps], out["sgp"]["scores"], rtol=1e-5)
  assert [ep["length"] for ep in eps] == out["sgp"]["episode_lengths"]
  for i, ep in enumerate(eps):
    n = ep["length"]
    assert ep["fell"] == (n < 5)
    np.testing.assert_allclose(ep["plan_error_last"],
                               series["plan_error"][i, max(0, n - 2):n].mean(), rtol=1e-5)
  # the distance to data is the exact nearest distance in the score normaliser's units
  z = np.asarray(m["score"].normalizer.normalize(data.xu()))
  brute = np.min(np.linalg.norm(series["executed"][1, 0] - z, axis=-1))
  np.testing.assert_allclose(series["data_distance"][1, 0], brute, rtol=1e-4)
  valid = series["valid"]
  for key in ("plan_error", "data_distance"):  # measured at the steps taken only
    assert np.isfinite(series[key][valid]).all() and np.isnan(series[key][~valid]).all()
  # the data's own spacing: median nearest distance of a random half (<= 512) to the rest
  probe = np.random.default_rng(0).choice(len(z), size=min(512, len(z) // 2), replace=False)
  rest = np.delete(z, probe, axis=0)
  spacing = np.median([np.min(np.linalg.norm(rest - z[i], axis=-1)) for i in probe])
  np.testing.assert_allclose(summary["in_data_distance"], spacing, rtol=1e-4)
  assert summary["in_data_distance"] > 0
  path = pipeline.plot_episode_diagnosis(summary, series, str(tmp_path / "diag.png"))
  assert os.path.getsize(path) > 10_000
