"""The planner contract (SPEC A.6): init / update / extract, and the solves written
once over it (solve, solve_batch, solve_sharded, solve_traced).

The LQ single-shooting planner (helpers.lq_problem) is the concrete planner; what it
finds is checked in test_shooting.py.
"""
import json
import os
import subprocess
import sys
import textwrap

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from helpers import LQ_A, lq_models, lq_problem
from sgp_jax import schedules
from sgp_jax.planning import (GradientPlannerConfig, PlannerConfig, SamplingPlannerConfig,
                              base, batch_inputs, make_gradient_planner,
                              make_single_shooting, run_iterations, shooting_objective,
                              solve, solve_batch, solve_traced)

SMALL = GradientPlannerConfig(horizon=4, num_iters=20, learning_rate=0.1)


@pytest.fixture(scope="module")
def lq_planner():
  return make_single_shooting(lq_problem(), SMALL)


def test_run_iterations_scans_update_over_the_schedule():
  """The shared loop: update sees beta_k and level_k in order; history is optional."""
  def update(models, state, beta, level):
    return state + beta * 10.0 ** level, {"beta": beta, "level": level}
  betas, levels = jnp.array([1.0, 2.0, 3.0]), jnp.array([0, 1, 2])
  state, history = run_iterations(update, None, 0.0, betas, levels)
  np.testing.assert_allclose(state, 1.0 + 20.0 + 300.0)
  np.testing.assert_array_equal(history["level"], [0, 1, 2])
  state, history = run_iterations(update, None, 0.0, betas, levels, record_history=False)
  assert history == {} and float(state) == 321.0


# ------------------------------------------------------------ compilation
def _counted_planner(config):
  """A single-shooting planner whose init_theta may be traced only once.

  init_theta runs exactly once per trace of a solve, so this counts compiles.
  """
  objective = shooting_objective(lq_problem())
  objective = objective._replace(init_theta=chex.assert_max_traces(objective.init_theta, n=1))
  return make_gradient_planner(objective, config, dim_x=2)


def test_one_compile_per_shape_solve():
  planner = _counted_planner(SMALL)
  before = base.solve_jit._cache_size()
  for i in range(4):  # new x0, key, beta (python and array) and model values each time
    solve(planner, lq_models(var=1.0 + i, a=LQ_A * (1 + 0.1 * i)),
          jnp.asarray([float(i), -1.0]), jax.random.PRNGKey(i),
          [0.5, 1.0, np.float32(2.0), jnp.asarray(3.0)][i])
  assert base.solve_jit._cache_size() == before + 1
  # The counter does catch a retrace: a models pytree of another structure.
  with pytest.raises(AssertionError, match="traced > 1 times"):
    solve(planner, {**lq_models(), "extra": jnp.zeros(3)}, jnp.asarray([1.0, 0.0]),
          jax.random.PRNGKey(0), 1.0)


def test_one_compile_per_shape_solve_batch():
  planner = _counted_planner(SMALL)
  before = base.solve_batch_jit._cache_size()
  for seed in range(3):
    x0s = jax.random.normal(jax.random.PRNGKey(seed), (5, 2))
    solve_batch(planner, lq_models(var=1.0 + seed), *batch_inputs(x0s, seed, 0.1 * seed))
  assert base.solve_batch_jit._cache_size() == before + 1


def test_jit_no_jit_and_a_loop_by_hand_agree():
  """The jitted solve, solve_traced without jit, and a hand-written loop over the pure
  functions init / update / extract give the same plan."""
  config = GradientPlannerConfig(horizon=3, num_iters=3, learning_rate=0.1, init_std=0.3,
                                 beta_schedule="cosine", beta_min=0.2)
  planner = make_single_shooting(lq_problem(), config)
  assert isinstance(planner, base.Planner) and hash(planner) == hash(planner)
  models, x0, key = lq_models(), jnp.asarray([0.7, -0.2]), jax.random.PRNGKey(5)
  jitted = solve(planner, models, x0, key, 2.0)
  with jax.disable_jit():
    eager = solve_traced(planner, models, x0, key, jnp.asarray(2.0, jnp.float32))
    state = start = planner.init(models, x0, key)
    losses = []
    for beta_k in schedules.beta_schedule(3, 2.0, 0.2, "cosine"):
      state, metrics = planner.update(models, state, beta_k, 0)
      losses.append(metrics["loss"])
    by_hand = planner.extract(models, state)
  chex.assert_trees_all_close(jitted, eager, rtol=1e-5, atol=1e-6)
  chex.assert_trees_all_close(by_hand.actions, jitted.actions, rtol=1e-5, atol=1e-6)
  chex.assert_trees_all_close(jnp.stack(losses), jitted.history["loss"], rtol=1e-5)
  assert int(state.iteration) == 3 and by_hand.history == {}
  # the first loss is the surrogate at the start with beta_0 = beta: cost + beta * penalty
  objective = shooting_objective(lq_problem())
  np.testing.assert_allclose(jitted.history["loss"][0],
                             objective.loss(models, start.theta, x0, 2.0, 0)[0], rtol=1e-5)
  # And they did something: the plan moved away from its random start.
  assert np.abs(np.asarray(jitted.actions) - np.asarray(start.theta)).max() > 1e-2


# ------------------------------------------------------------ configs and bad inputs
def test_configs():
  """The sampling planners' config has the loop settings but no learning rate."""
  assert issubclass(GradientPlannerConfig, PlannerConfig)
  assert issubclass(SamplingPlannerConfig, PlannerConfig)
  assert not hasattr(SamplingPlannerConfig(), "learning_rate")
  assert GradientPlannerConfig().learning_rate == 1e-2
  with pytest.raises(ValueError, match="horizon"):
    GradientPlannerConfig(horizon=0)
  with pytest.raises(ValueError, match="num_iters"):
    GradientPlannerConfig(num_iters=0)
  with pytest.raises(ValueError, match="learning_rate"):
    GradientPlannerConfig(learning_rate=0.0)
  with pytest.raises(ValueError, match="beta_schedule"):
    GradientPlannerConfig(beta_schedule="linear")
  with pytest.raises(ValueError, match="action_low"):
    GradientPlannerConfig(action_low=1.0, action_high=0.0)
  with pytest.raises(TypeError, match="action_low must be a number"):
    GradientPlannerConfig(action_low=[-1.0, -2.0])
  with pytest.raises(ValueError, match="batch_chunk"):
    GradientPlannerConfig(batch_chunk=0)
  with pytest.raises(TypeError, match="GradientPlannerConfig"):
    make_single_shooting(lq_problem(), SamplingPlannerConfig())


def test_bad_inputs_raise_clear_errors(lq_planner):
  models, key = lq_models(), jax.random.PRNGKey(0)
  with pytest.raises(ValueError, match="NaN"):
    solve(lq_planner, models, jnp.asarray([np.nan, 0.0]), key, 1.0)
  with pytest.raises(ValueError, match="NaN"):
    solve(lq_planner, models, jnp.zeros(2), key, float("nan"))
  with pytest.raises(ValueError, match="NaN"):
    solve_batch(lq_planner, models, *batch_inputs(jnp.asarray([[0.0, 0.0], [np.inf, 1.0]]),
                                                  0, 1.0))
  with pytest.raises(ValueError, match=r"x0 must have shape \(2,\)"):
    solve(lq_planner, models, jnp.zeros(3), key, 1.0)
  with pytest.raises(ValueError, match="x0s must have shape"):
    solve_batch(lq_planner, models, jnp.zeros(2), key[None], jnp.ones(1))
  with pytest.raises(ValueError, match="batch size"):
    solve_batch(lq_planner, models, jnp.zeros((3, 2)), jax.random.split(key, 2), jnp.ones(3))
  with pytest.raises(ValueError, match="empty"):
    solve_batch(lq_planner, models, jnp.zeros((0, 2)), key[None][:0], jnp.ones(0))


# ------------------------------------------------------------ sharding
SHARDED_SCRIPT = textwrap.dedent("""
    import json, sys
    import jax, jax.numpy as jnp, numpy as np
    sys.path.insert(0, {tests_dir!r})
    from conftest import LQEnv
    from helpers import lq_models, lq_problem
    from sgp_jax import closed_loop
    from sgp_jax.planning import (GradientPlannerConfig, batch_inputs, make_single_shooting,
                                  solve_batch, solve_sharded)

    out = {{"device_count": jax.device_count()}}
    planner = make_single_shooting(
        lq_problem(), GradientPlannerConfig(horizon=4, num_iters=50, learning_rate=0.1))
    models = lq_models()
    x0s = jax.random.normal(jax.random.PRNGKey(0), (8, 2))
    args = batch_inputs(x0s, 0, jnp.linspace(0.0, 2.0, 8))
    ref = solve_batch(planner, models, *args)
    sharded = solve_sharded(planner, models, *args)
    out["max_rel_diff"] = max(  # |a - b| / (1 + |b|): costs are O(10)
        float(jnp.max(jnp.abs(a - b) / (1.0 + jnp.abs(b)))) for a, b in
        zip(jax.tree_util.tree_leaves(ref), jax.tree_util.tree_leaves(sharded)))
    out["same_structure"] = (jax.tree_util.tree_structure(ref)
                             == jax.tree_util.tree_structure(sharded))
    sh = sharded.actions.sharding
    out["devices"] = len(sh.device_set)
    out["fully_replicated"] = bool(sh.is_fully_replicated)
    out["shard_shapes"] = sorted({{tuple(s.data.shape) for s in sharded.actions.addressable_shards}})
    out["ref_devices"] = len(ref.actions.sharding.device_set)
    # A batch the device count does not divide is padded, and the padding dropped.
    args6 = batch_inputs(x0s[:6], 0, 1.0)
    padded = solve_sharded(planner, models, *args6).actions
    out["padded_shape"] = list(padded.shape)
    out["padded_diff"] = float(jnp.max(jnp.abs(padded - solve_batch(planner, models, *args6).actions)))
    # The closed-loop MPC evaluator shards its episode axis too (one model set, and
    # S stacked sets with the per-set episode axis sharded).
    short = make_single_shooting(
        lq_problem(), GradientPlannerConfig(horizon=4, num_iters=10, learning_rate=0.1))
    eps16 = closed_loop.make_mpc_evaluator(LQEnv(models), short, 16)(models, jax.random.PRNGKey(1), 0.5)
    eps2 = closed_loop.make_mpc_evaluator(LQEnv(models), short, 8, num_model_sets=2)(
        closed_loop.stack_models([models, models]), jax.random.PRNGKey(1), 0.5)
    out["eval_devices"] = len(eps16.actions.sharding.device_set)
    out["eval_stacked_devices"] = len(eps2.actions.sharding.device_set)
    out["eval_stacked_diff"] = float(jnp.max(jnp.abs(eps16.actions - eps2.actions)))
    print("RESULT " + json.dumps(out))
""")


def test_solve_sharded_matches_solve_batch_on_8_devices():
  """solve_sharded over 8 virtual CPU devices equals solve_batch (a batch they do not
  divide too), and the closed-loop MPC evaluator shards its episodes over them
  (tests/test_distributed.py does the same across processes). The device count is
  fixed when jax initialises, so this runs in a fresh subprocess."""
  tests_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  repo_dir = os.path.dirname(tests_dir)
  env = dict(os.environ)
  env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") +
                      " --xla_force_host_platform_device_count=8").strip()
  env["JAX_PLATFORMS"] = "cpu"
  env["PYTHONPATH"] = repo_dir + os.pathsep + env.get("PYTHONPATH", "")
  proc = subprocess.run([sys.executable, "-c", SHARDED_SCRIPT.format(tests_dir=tests_dir)],
                        env=env, cwd=repo_dir, capture_output=True, text=True, timeout=300)
  assert proc.returncode == 0, proc.stderr[-4000:]
  lines = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
  assert lines, proc.stdout[-2000:] + proc.stderr[-2000:]
  out = json.loads(lines[-1][len("RESULT "):])
  assert out["device_count"] == 8
  assert out["same_structure"]
  assert out["max_rel_diff"] < 1e-5, out
  # The output really is split over the 8 devices, one batch row on each.
  assert out["devices"] == 8 and not out["fully_replicated"], out
  assert out["shard_shapes"] == [[1, 4, 1]], out
  assert out["ref_devices"] == 1, out  # the unsharded path stays on one device
  assert out["padded_shape"] == [6, 4, 1] and out["padded_diff"] < 1e-5, out
  # MPC evaluator: episodes spread over the 8 devices; stacked sets = the same episodes
  assert out["eval_devices"] == 8 and out["eval_stacked_devices"] == 8, out
  assert out["eval_stacked_diff"] < 1e-5, out
