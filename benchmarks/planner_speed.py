r"""SGP single-shooting speed on the cart-pole with the paper's sizes (SPEC B.6).

T = 60; dynamics residual MLP [64, 64, 32] leaky-ReLU; xu score MLP [128]*4 ReLU;
Adam. Prints one JSON line per batch size with the compile time and the steady-state
time per iteration (ms_per_iter_per_plan = wall time / (iterations x batch)).
Networks are randomly initialised: speed does not depend on the weights.

  python benchmarks/planner_speed.py                  # batches 1, 64, 1024
  python benchmarks/planner_speed.py --batches=1,64 --num_iters=200
  python benchmarks/planner_speed.py --batches=1 --single_thread   # XLA on one CPU thread
  python benchmarks/planner_speed.py --batches=1024 --batch_chunk=1024   # no chunking

On a CPU, a single small plan runs faster with XLA's intra-op threading off
(--single_thread): thread hand-offs cost more than the tiny matrix products save.
"""
import json
import os
import platform
import sys
import time

if "--single_thread" in sys.argv or "--single_thread=true" in sys.argv:
  # Must be set before jax initialises its CPU client.
  os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                             " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import jax
import jax.numpy as jnp
from absl import app, flags

from sgp_jax import models as models_lib
from sgp_jax import planning
from sgp_jax.normalization import Normalizer
from sgp_jax.planning import ControlProblem, GradientPlannerConfig, make_single_shooting
from sgp_jax.systems import cartpole

_BATCHES = flags.DEFINE_list("batches", ["1", "64", "1024"], "Plan batch sizes to time.")
_ITERS = flags.DEFINE_integer("num_iters", 500, "Planner iterations per timed solve.")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Timed solves per batch (the median is reported).")
_CHUNK = flags.DEFINE_integer("batch_chunk", None, "GradientPlannerConfig.batch_chunk: plans "
                               "vmapped at once inside solve_batch (default: 64 on CPU, "
                               "the whole batch on GPU/TPU).")
_SINGLE = flags.DEFINE_bool("single_thread", False, "Run XLA's CPU backend on one thread "
                            "(read before jax starts; faster for batch 1 on CPU).")


def make_planner(num_iters: int, batch_chunk=None):
  p = cartpole.CartPoleParams()
  x_norm = Normalizer.from_box(p.x_low, p.x_high)
  u_norm = Normalizer.from_scale(p.u_max, 0.0, dim=1)
  dyn = models_lib.make_dynamics_model(x_norm, u_norm, (64, 64, 32), "leaky_relu")
  sc = models_lib.make_score_model("xu", x_norm, u_norm, [0.01], (128,) * 4, "relu")
  models = {"dynamics": dyn.init(jax.random.PRNGKey(0)), "score": sc.init(jax.random.PRNGKey(1))}
  problem = ControlProblem(
      dim_x=4, dim_u=1, dynamics=lambda m, x, u: dyn(m["dynamics"], x, u),
      terminal_cost=lambda m, x: cartpole.terminal_cost(x),
      score=lambda m, z, level: sc.score(m["score"], z, level))
  planner = make_single_shooting(problem, GradientPlannerConfig(
      horizon=60, num_iters=num_iters, learning_rate=1e-2, record_history=False,
      batch_chunk=batch_chunk))
  return planner, models


def main(argv):
  del argv
  planner, models = make_planner(_ITERS.value, _CHUNK.value)
  for batch in [int(b) for b in _BATCHES.value]:
    load_before = os.getloadavg()[0]
    x0s = jnp.zeros((batch, 4))
    keys = jax.random.split(jax.random.PRNGKey(0), batch)
    betas = jnp.full((batch,), 0.1)
    start = time.perf_counter()
    jax.block_until_ready(planning.solve_batch(planner, models, x0s, keys, betas).actions)
    compile_s = time.perf_counter() - start
    times = []
    for _ in range(_REPEATS.value):
      start = time.perf_counter()
      jax.block_until_ready(planning.solve_batch(planner, models, x0s, keys, betas).actions)
      times.append(time.perf_counter() - start)
    wall = sorted(times)[len(times) // 2]
    print(json.dumps({
        "benchmark": "sgp_single_shooting_cartpole", "batch": batch, "horizon": 60,
        "num_iters": _ITERS.value, "first_call_s_incl_compile": round(compile_s, 3),
        "seconds_per_solve": round(wall, 4),
        "ms_per_iter": round(1e3 * wall / _ITERS.value, 4),
        "ms_per_iter_per_plan": round(1e3 * wall / (_ITERS.value * batch), 5),
        "plan_iters_per_s": round(_ITERS.value * batch / wall, 1),
        "single_thread": _SINGLE.value, "batch_chunk": _CHUNK.value,
        "load_avg_1min_before": load_before,
        "device": str(jax.devices()[0]), "cpu": platform.processor() or platform.machine(),
        "jax": jax.__version__}), flush=True)


if __name__ == "__main__":
  app.run(main)
