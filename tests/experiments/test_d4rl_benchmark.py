"""The D4RL benchmark's pipeline: training per seed, the method table, closed-loop
scores per method, episode diagnosis, the configs, the data checks.

Fast tests use `helpers.LinearEnv`, a pure-JAX stand-in env through the same `Env`
protocol, so the evaluator's real code paths run without compiling a brax model.
The brax tests are marked slow.
"""
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.d4rl_benchmark import diagnostics, evaluation as d4rl_eval, methods
from experiments.d4rl_benchmark import pipeline, plots, training
from experiments.d4rl_benchmark.configs import default
from helpers import DU, LinearEnv, assert_return_replays, tiny_d4rl_config
from sgp_jax import closed_loop, envs
from sgp_jax import models as models_lib
from sgp_jax.types import Transitions


def test_training_writes_checkpoints_and_resumes(d4rl_trained):
  config, data, workdir, m, params, metrics = d4rl_trained
  for name in ("dynamics", "reward", "score", "ensemble", "bc"):
    assert os.path.isfile(os.path.join(workdir, "models", name, "config.json"))
  for name in ("dynamics", "reward", "score", "ensemble", "bc"):
    assert np.isfinite(metrics[name]["best_val_loss"]), name
  assert metrics["value"] == {"trained": False}  # its targets (returns) were not given
  # the score is noise-conditioned with geometric levels, largest first
  sig = np.asarray(m["score"].sigmas)
  np.testing.assert_allclose(sig, np.geomspace(10 ** -0.5, 1e-3, 3), rtol=1e-5)
  # resume: a second call finds the finished checkpoints and returns the same params
  _, params2, metrics2 = training.train_models(config, data, workdir)
  jax.tree.map(np.testing.assert_array_equal, params["dynamics"], params2["dynamics"])
  assert metrics2["dynamics"]["final_train_loss"] == metrics["dynamics"]["final_train_loss"]
  ensemble, ens_params = models_lib.load(os.path.join(workdir, "models", "ensemble"))
  assert ensemble.num_members == config.ensemble.num_members
  jax.tree.map(np.testing.assert_array_equal, ens_params, params["ensemble"])
  policy, bc_params = models_lib.load(os.path.join(workdir, "models", "bc"))
  np.testing.assert_allclose(policy(bc_params, data.x[:4]), m["bc"](params["bc"], data.x[:4]))


@pytest.mark.slow  # about 45 s of compiles on 2 cores; .ci/run runs it after the fast suite
def test_mpc_evaluator_all_planners(d4rl_trained):
  config, _, _, m, params, _ = d4rl_trained
  env = LinearEnv(episode_length=5)
  models = {k: params[k] for k in methods.PLANNED_MODELS}
  # two "training seeds": the trained set and a perturbed copy, stacked
  other = jax.tree.map(lambda a: a * 1.1, models)
  stacked = closed_loop.stack_models([models, other])
  planners = methods.make_planners(config, m, "medium")
  assert set(planners) == set(methods.METHODS) - {"bc"}
  compiled = set()
  for name, (planner, beta) in planners.items():
    if id(planner) in compiled:  # "+prior" variants share their planner (one compile)
      continue
    compiled.add(id(planner))
    evaluate = closed_loop.make_mpc_evaluator(env, planner, num_episodes=1,
                                              num_model_sets=2)
    eps = evaluate(stacked, jax.random.PRNGKey(0), beta)
    assert eps.actions.shape == (2, 5, DU), name
    assert bool(jnp.all(jnp.abs(eps.actions) <= 1.0)), name  # the action box
    assert bool(jnp.all(eps.valid)), name
    assert np.all(np.isfinite(np.asarray(eps.returns()))), name
    if name == "sgp":  # set s runs episode s: the same as one set's evaluator
      for s, ms in enumerate((models, other)):
        single = closed_loop.make_mpc_evaluator(env, planner, num_episodes=2)(
            ms, jax.random.PRNGKey(0), beta)
        np.testing.assert_allclose(single.actions[s], eps.actions[s], rtol=1e-5,
                                   atol=1e-6)
  assert methods.planner_for(planners, "sgp@2.5") == (planners["sgp"][0], 2.5)
  methods.check_methods(("sgp@1", "cem_score", "bc"))
  assert methods.models_needed(("beta0", "bc")) == ("dynamics", "reward", "bc")
  assert methods.models_needed(("sgp@1", "mppi_state_var")) == (
      "dynamics", "reward", "score", "ensemble")
  assert methods.models_needed(("cem_score", "ensemble_cost_var")) == (
      "dynamics", "reward", "score", "ensemble")
  assert methods.models_needed(("sgp+termination",)) == (
      "dynamics", "reward", "score", "termination")
  for bad in ("sgp@x", "sgd", "bc@1"):
    with pytest.raises(ValueError, match="method"):
      methods.check_methods((bad,))
  with pytest.raises(ValueError, match="leading axis"):
    evaluate(models, jax.random.PRNGKey(0), 0.0)
  # the episodes' true rewards are the env's: replaying the actions reproduces them
  assert_return_replays(env, eps, jax.random.PRNGKey(0), episode=1)


@pytest.mark.slow
def test_one_mpc_step_on_brax_halfcheetah(d4rl_trained):
  """The brax path: one MPC step of untrained models on positional halfcheetah."""
  config = tiny_d4rl_config()
  env = envs.make_env("halfcheetah", "positional", episode_length=2)
  rng = np.random.default_rng(0)
  n = 64
  data = Transitions(x=jnp.asarray(rng.normal(size=(n, env.dim_obs)), jnp.float32),
                     u=jnp.asarray(rng.uniform(-1, 1, (n, env.dim_action)), jnp.float32),
                     x_next=jnp.asarray(rng.normal(size=(n, env.dim_obs)), jnp.float32),
                     reward=jnp.asarray(rng.normal(size=(n,)), jnp.float32))
  m = training.build_models(config, data)
  keys = jax.random.split(jax.random.PRNGKey(0), 4)
  models = {k: m[k].init(key) for k, key in zip(("dynamics", "reward", "score", "ensemble"),
                                                keys)}
  planner, beta = methods.make_planners(config, m, "medium")["sgp"]
  eps = closed_loop.make_mpc_evaluator(env, planner, 1)(models, jax.random.PRNGKey(0), beta)
  assert eps.actions.shape == (1, 2, env.dim_action)
  assert np.all(np.isfinite(np.asarray(eps.returns())))
  states = closed_loop.replay(env, closed_loop.episode_keys(jax.random.PRNGKey(0), 1)[0][0],
                              eps.actions[0])
  assert len(states) == 3


def test_evaluate_methods_per_seed_summary(d4rl_trained):
  config, _, _, m, params, _ = d4rl_trained
  config = config.copy_and_resolve_references()
  config.methods = ("bc",)
  config.eval.episodes_per_seed = 2
  config.eval.num_steps = 4
  meta = {"ref_min_score": -10.0, "ref_max_score": 10.0, "episode_length": 4}
  other = dict(params, bc=jax.tree.map(lambda a: -a, params["bc"]))
  out, episodes = d4rl_eval.evaluate_methods(config, m, [params, other],
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
  keys_reset, _ = closed_loop.episode_keys(jax.random.PRNGKey(config.eval.seed), 4)
  env = LinearEnv(episode_length=4)
  x0s = np.stack([np.asarray(env.reset(k).obs) for k in keys_reset])
  assert np.ptp(x0s, axis=0).max() > 0  # reset states differ between episodes
  np.testing.assert_allclose(np.asarray(episodes["bc"].observations[:, 0]), x0s, atol=1e-6)


@pytest.mark.slow  # about 10 s of compiles on 2 cores; .ci/run runs it after the fast suite
def test_diagnose_episodes(d4rl_trained, tmp_path):
  """Per-step plan error and distance to data along the benchmark's own episodes."""
  config, data, _, m, params, _ = d4rl_trained
  config = config.copy_and_resolve_references()
  config.eval.episodes_per_seed = 2
  config.eval.num_steps = 5
  config.methods = ("sgp",)
  meta = {"ref_min_score": -10.0, "ref_max_score": 10.0, "episode_length": 5}
  env = LinearEnv(episode_length=5, bound=0.12)  # some episodes end early
  other = dict(params, dynamics=jax.tree.map(lambda a: 1.1 * a, params["dynamics"]))
  summary, series = diagnostics.diagnose_episodes(config, m, [params, other], env, data, meta,
                                                  "medium", "sgp", window=2)
  eps = summary["episodes"]
  assert [ep["seed"] for ep in eps] == [0, 0, 1, 1]
  assert series["plan_error"].shape == series["data_distance"].shape == (4, 5)
  assert any(ep["fell"] for ep in eps) and not all(ep["fell"] for ep in eps)
  # the same episodes as the benchmark's (same keys, model sets and planner)
  out, _ = d4rl_eval.evaluate_methods(config, m, [params, other], env, meta, "medium",
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
  path = plots.plot_episode_diagnosis(summary, series, str(tmp_path / "diag.png"))
  assert os.path.getsize(path) > 10_000


@pytest.mark.slow  # one more planner compile (about 15 s on 2 cores)
def test_diagnose_episodes_with_termination(d4rl_trained):
  """A "+termination" method's diagnosis: per episode, the termination model's
  probability at the last true state and the highest along the last steps' plans."""
  config, data, _, m, params, _ = d4rl_trained
  config = config.copy_and_resolve_references()
  config.eval.episodes_per_seed, config.eval.num_steps = 2, 5
  config.methods = ("sgp+termination",)
  meta = {"ref_min_score": -10.0, "ref_max_score": 10.0, "episode_length": 5}
  env = LinearEnv(episode_length=5, bound=0.12)  # some episodes end early
  summary, _ = diagnostics.diagnose_episodes(config, m, [params], env, data, meta, "medium",
                                             "sgp+termination", window=2)
  _, episodes = d4rl_eval.evaluate_methods(config, m, [params], env, meta, "medium",
                                           log=lambda *a: None)
  eps = episodes["sgp+termination"]
  for i, ep in enumerate(summary["episodes"]):
    last = eps.next_observations[i, ep["length"] - 1]
    np.testing.assert_allclose(
        ep["termination_p_end"],
        m["termination"].probability(params["termination"], last), rtol=1e-5)
    assert 0.0 <= ep["plan_termination_p_last"] <= 1.0


@pytest.mark.parametrize("arg", ["", "gpu", "walker2d,gpu", "hopper", "walker2d", "ant"])
def test_shipped_configs_are_complete(arg):
  """Every env of the table (and the gpu sizes) names a known env and methods, and has
  a beta per level."""
  c = default.get_config(arg)
  env, size = default.parse_config_arg(arg)
  assert c.env == env and (size == "gpu") == (c.dynamics.hidden == (1024,) * 4)
  if size == "gpu":
    assert c.levels == default.LEVELS and c.eval.episodes_per_seed == 10
  assert c.env in envs.ENV_NAMES
  methods.check_methods(c.methods)
  for level in ("random", "medium", "medium-replay", "medium-expert", "expert"):
    assert c.plan.betas[level] > 0 and 0 < c.plan.beta_mins[level] <= c.plan.betas[level]
  assert plots.FORWARD_VELOCITY_INDEX[c.env] < envs.make_env(c.env).dim_obs


def test_configs_table_holds_the_spec_betas():
  """halfcheetah as SPEC B.8 (medium 0.2 / 0.1, medium-expert 5 / 1, random 0.12 / 0.09;
  medium-replay takes medium's), beta = 1 (min 0.5) for the other envs."""
  c = default.get_config()
  assert c.plan.betas.to_dict() == {"random": 0.12, "medium": 0.2, "medium-replay": 0.2,
                                    "medium-expert": 5.0, "expert": 0.2}
  assert c.plan.beta_mins.to_dict() == {"random": 0.09, "medium": 0.1,
                                        "medium-replay": 0.1, "medium-expert": 1.0,
                                        "expert": 0.1}
  assert c.levels == ("medium",)
  for env in ("hopper", "walker2d", "ant"):
    c = default.get_config(env)
    assert c.levels == ("medium", "medium-expert")
    assert set(c.plan.betas.values()) == {1.0} and set(c.plan.beta_mins.values()) == {0.5}
  with pytest.raises(ValueError, match="humanoid"):
    default.get_config("humanoid")


def test_d4rl_benchmark_says_how_to_make_its_data(tmp_path):
  config = default.get_config("hopper")
  make = ("python -m experiments.make_dataset.main --workdir=runs/data_hopper "
          "--config.env=hopper` and pass --config.data_dir=runs/data_hopper/datasets")
  with pytest.raises(ValueError, match="config.data_dir is not set") as info:
    pipeline.run(config, str(tmp_path / "run"))
  assert make in str(info.value)
  config.data_dir = str(tmp_path)
  with pytest.raises(FileNotFoundError) as info:
    pipeline.run(config, str(tmp_path / "run"))
  assert str(tmp_path / "hopper-medium.npz") in str(info.value) and make in str(info.value)


@pytest.mark.slow  # about 15 s (two model fits, two planner compiles); .ci/run runs it
def test_sgp_prior_value_termination_with_beta_selection_and_paired_summary(
    d4rl_trained, tmp_path):
  """sgp+prior+value+termination with beta chosen on held-out episodes: the value
  trained on the data's returns, the termination model on its terminal flags, the
  selection table and the chosen beta in the summary, the configured beta kept as
  the fixed-beta row, paired differences against BC. The variant selection among
  the method at beta 0 and at its configured beta runs the beta sweep's held-out
  episodes (the same mean scores) and reports the pick's benchmark episodes."""
  config, data, _, m, params, _ = d4rl_trained
  config = config.copy_and_resolve_references()
  name = "sgp+prior+value+termination"
  config.methods = (name, "bc")
  config.termination.hidden, config.termination.epochs = (16,), 2
  config.eval.select_beta = True
  config.eval.episodes_per_seed = config.eval.heldout_episodes_per_seed = 2  # one compile
  config.eval.num_steps = 4
  config.plan.beta_grid = (0.0, 1.0, 4.0)
  config.eval.select_variant = (f"{name}@0", name)
  assert methods.models_needed(config.methods) == ("dynamics", "reward", "score", "bc",
                                                   "value", "termination")
  n = data.x.shape[0]
  returns = models_lib.monte_carlo_returns(
      {"rewards": data.reward, "terminals": np.zeros(n, bool),
       "timeouts": np.arange(n) % 16 == 15}, config.value.discount)
  terminals = np.asarray(data.x_next[:, 0]) > 0.4
  assert 0 < terminals.sum() < n
  with pytest.raises(ValueError, match="terminals"):
    training.train_models(config, data, str(tmp_path), names=("termination",))
  m_new, p_new, metrics = training.train_models(
      config, data, str(tmp_path), names=("value", "termination"), returns=returns,
      terminals=terminals)
  for new in ("value", "termination"):
    assert np.isfinite(metrics[new]["best_val_loss"]), new
    assert os.path.isfile(os.path.join(str(tmp_path), "models", new, "config.json"))
  m = dict(m, value=m_new["value"], termination=m_new["termination"])
  params = dict(params, value=p_new["value"], termination=p_new["termination"])
  meta = {"ref_min_score": -10.0, "ref_max_score": 10.0, "episode_length": 4}
  logged = []
  out, episodes = d4rl_eval.evaluate_methods(config, m, [params], LinearEnv(episode_length=4),
                                             meta, "medium", log=logged.append)
  # progress: one line per held-out beta run; the variant selection reuses the sweep's
  heldout_lines = [line for line in logged if "held-out, β" in line]
  assert len(heldout_lines) == len(config.plan.beta_grid), logged
  beta = config.plan.betas["medium"]
  fixed = f"{name}@{beta:g}"
  picked = methods.SELECTED_VARIANT
  assert set(out) == {name, fixed, "bc", picked}
  chosen = out[name]["beta_selection"]
  np.testing.assert_allclose(chosen["betas"], [0.0, beta, 4 * beta])
  assert chosen["beta"] == chosen["betas"][int(np.argmax(chosen["mean_scores"]))]
  assert out[name]["beta"] == chosen["beta"]
  assert chosen["heldout_seed"] == config.eval.heldout_seed != config.eval.seed
  assert chosen["num_episodes"] == 2 and len(out[name]["scores"]) == 2
  assert out[fixed]["beta"] == beta and out[fixed]["fixed_beta_ablation"]
  # the variant selection: the sweep's held-out episodes at beta 0 and at the configured
  # beta; the pick's benchmark episodes (the configured beta's: the fixed row's)
  table = out[picked]["variant_selection"]
  assert table["candidates"] == list(config.eval.select_variant)
  np.testing.assert_allclose(table["mean_scores"], np.asarray(chosen["mean_scores"])[:2],
                             rtol=1e-5, atol=1e-6)
  assert table["choice"] == table["candidates"][int(np.argmax(table["mean_scores"]))]
  assert out[picked]["variant"] == table["choice"]
  assert out[picked]["beta"] == (beta if table["choice"] == name else 0.0)
  if table["choice"] == name:
    assert out[picked]["scores"] == out[fixed]["scores"]
  # paired differences on the same episodes (the same reset states as BC's)
  np.testing.assert_allclose(episodes[fixed].observations[:, 0],
                             episodes["bc"].observations[:, 0], atol=1e-6)
  paired = d4rl_eval.paired_comparisons(out)
  assert set(paired) == {name, fixed, picked}
  row = paired[name]["baselines"]["bc"]
  d = np.asarray(out[name]["scores"]) - np.asarray(out["bc"]["scores"])
  np.testing.assert_allclose([row["mean"], row["stderr"]],
                             [d.mean(), d.std(ddof=1) / np.sqrt(2)], rtol=1e-6, atol=1e-9)
  assert row["at_least_matches"] == bool(d.mean() + 2 * d.std(ddof=1) / np.sqrt(2) >= 0)
  assert paired[name]["at_least_matches_every_baseline"] == row[
      "at_least_matches"]
  summary = {"protocol": {"standard_protocol": False, "num_steps": 4}, "total_seconds": 1.0,
             "levels": {"medium": {"methods": out, "paired": paired}}}
  printed = pipeline.format_summary(summary)
  assert "chosen on held-out episodes" in printed and f"{table['choice']} chosen" in printed
  config.eval.heldout_seed = config.eval.seed
  with pytest.raises(ValueError, match="heldout_seed"):
    d4rl_eval.check_eval_config(config)
  config.eval.heldout_seed = config.eval.seed + 1
  for bad in (("sgp", "bc"), ("sgp", "sgp"), ("sgp+priors",)):
    config.eval.select_variant = bad
    with pytest.raises(ValueError, match="select_variant|method"):
      d4rl_eval.check_eval_config(config)
