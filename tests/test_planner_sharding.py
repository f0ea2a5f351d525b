"""`GradientPlanner.solve_sharded` over 8 (virtual CPU) devices equals `solve_batch`
(a batch they do not divide too), and the closed-loop MPC evaluator shards its
episodes over them. tests/test_distributed.py does the same across processes.

The device count is fixed when jax initialises, so the check runs in a fresh
subprocess with XLA_FLAGS=--xla_force_host_platform_device_count=8 set before
jax is imported; this test process keeps its single device.
"""
import json
import os
import subprocess
import sys
import textwrap

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(TESTS_DIR)

SCRIPT = textwrap.dedent("""
    import json, sys
    import jax, jax.numpy as jnp, numpy as np
    sys.path.insert(0, {tests_dir!r})
    from conftest import LQEnv, lq_models, lq_problem
    from sgp_jax.planning.core import GradientPlannerConfig, batch_inputs
    from sgp_jax.planning.shooting import make_single_shooting

    out = {{"device_count": jax.device_count()}}
    planner = make_single_shooting(
        lq_problem(), GradientPlannerConfig(horizon=4, num_iters=50, learning_rate=0.1))
    models = lq_models()
    x0s = jax.random.normal(jax.random.PRNGKey(0), (8, 2))
    args = batch_inputs(x0s, 0, jnp.linspace(0.0, 2.0, 8))
    ref = planner.solve_batch(models, *args)
    sharded = planner.solve_sharded(models, *args)
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
    padded = planner.solve_sharded(models, *args6).actions
    out["padded_shape"] = list(padded.shape)
    out["padded_diff"] = float(jnp.max(jnp.abs(padded - planner.solve_batch(models, *args6).actions)))
    # The closed-loop MPC evaluator shards its episode axis too (one model set, and
    # S stacked sets with the per-set episode axis sharded).
    from sgp_jax import evaluation
    short = make_single_shooting(
        lq_problem(), GradientPlannerConfig(horizon=4, num_iters=10, learning_rate=0.1))
    eps16 = evaluation.make_mpc_evaluator(LQEnv(models), short, 16)(models, jax.random.PRNGKey(1), 0.5)
    eps2 = evaluation.make_mpc_evaluator(LQEnv(models), short, 8, num_model_sets=2)(
        evaluation.stack_models([models, models]), jax.random.PRNGKey(1), 0.5)
    out["eval_devices"] = len(eps16.actions.sharding.device_set)
    out["eval_stacked_devices"] = len(eps2.actions.sharding.device_set)
    out["eval_stacked_diff"] = float(jnp.max(jnp.abs(eps16.actions - eps2.actions)))
    print("RESULT " + json.dumps(out))
""")


def test_solve_sharded_matches_solve_batch_on_8_devices():
  env = dict(os.environ)
  env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") +
                      " --xla_force_host_platform_device_count=8").strip()
  env["JAX_PLATFORMS"] = "cpu"
  env["PYTHONPATH"] = REPO_DIR + os.pathsep + env.get("PYTHONPATH", "")
  proc = subprocess.run([sys.executable, "-c", SCRIPT.format(tests_dir=TESTS_DIR)],
                        env=env, cwd=REPO_DIR, capture_output=True, text=True, timeout=300)
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

