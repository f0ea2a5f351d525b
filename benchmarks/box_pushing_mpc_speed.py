r"""Closed-loop steps per second of box-pushing SGP-MPC on the simulator (JSON lines).

Untrained models of the box-pushing default architecture (speed does not depend on
the weights), the default planner (T = 8, 100 Adam iterations, NCSN xu score), the
jitted closed loop of `sgp_jax.closed_loop.make_mpc` over the true pusher-slider, at each
--episodes value run in parallel. One line per setting: first-call seconds (compile +
run), run seconds (a second call, compiled), closed-loop steps/s (= episodes * steps /
run seconds) and planner iterations/s. Record the machine's load with the figure
(`uptime`).

  PYTHONPATH=. python benchmarks/box_pushing_mpc_speed.py --episodes=1,64 --steps=10
"""
import argparse
import json
import os
import time

import jax
import jax.numpy as jnp

from experiments.box_pushing import pipeline
from experiments.box_pushing.configs import default
from sgp_jax import closed_loop
from sgp_jax.systems import pusher_slider as ps


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--episodes", default="1,64",
                      help="comma-separated numbers of parallel episodes")
  parser.add_argument("--steps", type=int, default=10, help="closed-loop steps per episode")
  parser.add_argument("--method", default="sgp", choices=pipeline.METHODS,
                      help="the planning method")
  args = parser.parse_args()
  config = default.get_config()
  config.data.num_episodes = 100  # only for the normalisers' ranges
  config.mpc.num_steps = args.steps
  params = pipeline.sim_params(config)
  _, data = pipeline.make_data(config, params)
  m = pipeline.build_models(config, data)
  keys = jax.random.split(jax.random.PRNGKey(0), 3)
  models = {name: m[name].init(k) for name, k in zip(("dynamics", "score", "ensemble"), keys)}
  models["goal"] = ps.keypoints(jnp.zeros(3), params)
  planner, beta = pipeline.make_planner(args.method, config, pipeline.make_problem(
      m, config, params), m, params)
  loop = closed_loop.make_mpc(pipeline.true_env(params), planner, args.steps,
                              warm_start=config.mpc.warm_start)
  goal = pipeline.goal_poses(config)[1]
  for n in [int(e) for e in args.episodes.split(",")]:
    config.goals.num_starts = n
    x0s = ps.observe(pipeline.start_states(config, goal, jax.random.PRNGKey(1), params),
                     params)
    betas = jnp.full((n,), beta, jnp.float32)
    timings = []
    for seed in (0, 1):
      start = time.time()
      jax.block_until_ready(loop(models, x0s, jax.random.split(
          jax.random.PRNGKey(seed), n), betas).observations)
      timings.append(time.time() - start)
    steps = n * args.steps
    print(json.dumps({
        "benchmark": "box_pushing_mpc_steps", "method": args.method, "episodes": n,
        "steps": args.steps, "horizon": config.mpc.horizon,
        "num_iters": config.mpc.num_iters, "first_call_s": round(timings[0], 2),
        "run_s": round(timings[1], 3), "closed_loop_steps_per_s": round(steps / timings[1], 2),
        "planner_iters_per_s": round(steps * planner.config.num_iters / timings[1], 1),
        "load_avg_1min": os.getloadavg()[0], "device": jax.devices()[0].device_kind,
        "jax": jax.__version__}), flush=True)


if __name__ == "__main__":
  main()
