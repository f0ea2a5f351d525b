r"""Milliseconds per planner iteration of the pixel planners (JSON lines).

Untrained models of the pixel default architecture (speed does not depend on the
weights): the U-Net xu score and the U-Net dynamics ensemble at image size --size
(dim x = dim u = size^2), T = 15, the default budget. For each --method and --batch
(plans solved at once by `solve_batch`): first-call seconds (compile + run), run
seconds (a second call, compiled) and ms per iteration (= run seconds / iterations;
for CEM/MPPI an iteration evaluates sampling.num_samples sequences). Record the
machine's load with the figure (`uptime`).

  PYTHONPATH=. python benchmarks/pixel_planner_speed.py --batch=1,16 --method=sgp
"""
import argparse
import json
import os
import time

import jax
import jax.numpy as jnp

from experiments.pixels import pipeline
from experiments.pixels.configs import default
from sgp_jax import planning


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--size", type=int, default=32, help="image size N")
  parser.add_argument("--batch", default="1,16", help="comma-separated batch sizes")
  parser.add_argument("--method", default="sgp",
                      help=f"comma-separated methods of {pipeline.METHODS}")
  parser.add_argument("--iters", type=int, default=64,
                      help="planner iterations (gradient; / num_samples for sampling)")
  args = parser.parse_args()
  config = default.get_config()
  config.plan.num_iters = args.iters
  w = pipeline.world(config, args.size)
  m = pipeline.build_models(config, args.size)
  k_score, k_ens = jax.random.split(jax.random.PRNGKey(0))
  ens_params = m["ensemble"].init(k_ens)
  models = {"dynamics": m["ensemble"].member(ens_params, 0),
            "score": m["score"].init(k_score), "ensemble": ens_params}
  problem = pipeline.make_problem(config, w, m)
  x0 = pipeline.pix.render_state(w, jnp.asarray(config.task.start))
  for method in args.method.split(","):
    planner, beta = pipeline.make_planner(method, config, problem, m, w)
    for n in [int(b) for b in args.batch.split(",")]:
      config.plan.num_seeds = n
      init = pipeline.initial_plans(config, w)
      x0s, betas = jnp.tile(x0, (n, 1)), jnp.full((n,), beta, jnp.float32)
      timings = []
      for seed in (0, 1):
        start = time.time()
        jax.block_until_ready(planning.solve_batch(
            planner, models, x0s, jax.random.split(jax.random.PRNGKey(seed), n), betas,
            theta_init=init).actions)
        timings.append(time.time() - start)
      iters = planner.config.num_iters
      print(json.dumps({
          "benchmark": "pixel_planner_ms_per_iter", "method": method, "size": args.size,
          "dim_u": w.dim, "horizon": config.task.horizon, "batch": n, "iters": iters,
          "first_call_s": round(timings[0], 2), "run_s": round(timings[1], 3),
          "ms_per_iter": round(1000 * timings[1] / iters, 2),
          "ms_per_iter_per_plan": round(1000 * timings[1] / iters / n, 2),
          "load_avg_1min": os.getloadavg()[0], "device": jax.devices()[0].device_kind,
          "jax": jax.__version__}), flush=True)


if __name__ == "__main__":
  main()
