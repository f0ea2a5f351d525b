"""Two processes on localhost, 2 CPU devices each (`sgp_jax.distributed`): a batched
solve and a batched closed-loop evaluation over the 4 global devices equal the
single-process result, and every process gets the whole result.

Each process is a fresh interpreter running `cases()` below after
`distributed.initialize`; this test process computes the reference on its own
single device with the same function.
"""
import json
import os
import socket
import subprocess
import sys

import jax
import numpy as np
import pytest

from conftest import LQEnv, lq_models, lq_problem

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(TESTS_DIR)

WORKER = """
import json, sys
sys.path.insert(0, {tests_dir!r})
from sgp_jax import distributed
distributed.initialize("localhost:{port}", 2, int(sys.argv[1]))
import jax
from test_distributed import cases
out = {{"process": jax.process_index(), "devices": jax.device_count(),
       "local_devices": jax.local_device_count(), "primary": distributed.is_primary(),
       "cases": cases()}}
print("RESULT " + json.dumps(out))
"""


def cases() -> dict:
  """Plans for 6 initial states (not a multiple of 4: the padded path) and MPC
  episodes, one model set x 8 episodes and 2 stacked sets x 4, as nested lists."""
  import jax.numpy as jnp
  from sgp_jax import closed_loop
  from sgp_jax.planning import (GradientPlannerConfig, batch_inputs, make_single_shooting,
                                solve_sharded)
  models = lq_models()
  planner = make_single_shooting(lq_problem(), GradientPlannerConfig(
      horizon=4, num_iters=20, learning_rate=0.1, record_history=False))
  x0s = jax.random.normal(jax.random.PRNGKey(0), (6, 2))
  plans = solve_sharded(planner, models, *batch_inputs(x0s, 0, jnp.linspace(0.0, 2.0, 6)))
  env = LQEnv(models)
  episodes = closed_loop.make_mpc_evaluator(env, planner, 8)(models, jax.random.PRNGKey(1), 0.5)
  stacked = closed_loop.make_mpc_evaluator(env, planner, 4, num_model_sets=2)(
      closed_loop.stack_models([models, models]), jax.random.PRNGKey(1), 0.5)
  as_list = lambda a: np.asarray(a).tolist()
  return {"plan_actions": as_list(plans.actions), "plan_cost": as_list(plans.cost),
          "eval_actions": as_list(episodes.actions), "eval_returns": as_list(episodes.returns()),
          "stacked_actions": as_list(stacked.actions)}


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("localhost", 0))
    return s.getsockname()[1]


@pytest.mark.slow  # two fresh processes compile on 2 cores: about 18 s (.ci/run runs it)
def test_two_processes_equal_one():
  env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=REPO_DIR + os.pathsep +
             os.environ.get("PYTHONPATH", ""))
  env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") +
                      " --xla_force_host_platform_device_count=2").strip()
  script = WORKER.format(tests_dir=TESTS_DIR, port=_free_port())
  procs = [subprocess.Popen([sys.executable, "-c", script, str(i)], env=env, cwd=REPO_DIR,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
           for i in range(2)]
  outs = []
  try:
    for proc in procs:
      stdout, stderr = proc.communicate(timeout=300)
      assert proc.returncode == 0, stderr[-4000:]
      lines = [l for l in stdout.splitlines() if l.startswith("RESULT ")]
      assert lines, stdout[-2000:] + stderr[-2000:]
      outs.append(json.loads(lines[-1][len("RESULT "):]))
  finally:
    for proc in procs:
      proc.kill()
  assert [o["process"] for o in outs] == [0, 1]
  assert [o["primary"] for o in outs] == [True, False]
  assert all(o["devices"] == 4 and o["local_devices"] == 2 for o in outs), outs

  assert jax.device_count() == 1  # the reference: this process, one device
  want = cases()
  for out in outs:
    for name, value in want.items():
      got = np.asarray(out["cases"][name])
      assert got.shape == np.shape(value), name
      np.testing.assert_allclose(got, value, rtol=1e-5, atol=1e-5, err_msg=name)


TINY_CARTPOLE = ["--config.num_candidates=3000", "--config.dynamics.epochs=2",
                 "--config.score.epochs=2", "--config.plan.num_iters=20",
                 "--config.score.max_points=2000", "--compilation_cache_dir="]


@pytest.mark.slow
def test_launcher_on_two_processes_equals_one(tmp_path):
  """The main job with --distributed on 2 processes x 2 devices, sharing one workdir
  (collective orbax checkpoints, plans over 4 devices): process 0 writes the summary,
  whose plans equal a one-process run's."""
  env = dict(os.environ, JAX_PLATFORMS="cpu")
  command = [sys.executable, "-m", "experiments.cartpole_swingup.main", *TINY_CARTPOLE]
  one = subprocess.run(command + [f"--workdir={tmp_path / 'one'}"], env=env, cwd=REPO_DIR,
                       capture_output=True, text=True, timeout=600)
  assert one.returncode == 0, one.stderr[-3000:]
  env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") +
                      " --xla_force_host_platform_device_count=2").strip()
  flags = [f"--workdir={tmp_path / 'two'}", "--distributed", "--num_processes=2",
           f"--coordinator_address=localhost:{_free_port()}"]
  procs = [subprocess.Popen(command + flags + [f"--process_id={i}"], env=env, cwd=REPO_DIR,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
           for i in range(2)]
  try:
    outs = [proc.communicate(timeout=600) for proc in procs]
  finally:
    for proc in procs:
      proc.kill()
  for proc, (stdout, stderr) in zip(procs, outs):
    assert proc.returncode == 0, stderr[-3000:]
  assert "total" in outs[0][0] and "total" not in outs[1][0]  # only process 0 reports
  with open(tmp_path / "one" / "summary.json") as f:
    want = json.load(f)["per_beta"]
  with open(tmp_path / "two" / "summary.json") as f:
    got = json.load(f)["per_beta"]
  assert len(got) == len(want)
  for g, w in zip(got, want):
    assert g["beta"] == w["beta"] and len(g["seeds"]) == len(w["seeds"])
    for g_seed, w_seed in zip(g["seeds"], w["seeds"]):
      np.testing.assert_allclose(np.asarray(g_seed["actions"], float),
                                 np.asarray(w_seed["actions"], float), rtol=1e-4, atol=1e-3)
