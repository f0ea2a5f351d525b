r"""Closed-loop env steps per second of SGP-MPC on the true brax env (JSON lines).

Untrained models of the benchmark's architecture (speed does not depend on the
weights), the benchmark's planner (T = 8, 50 Adam iterations, NCSN score), the
jitted episode loop of `sgp_jax.closed_loop` at each --episodes value. One line per
setting: compile seconds, run seconds (a second call, compiled), env steps/s
(= episodes * steps / run seconds).

  PYTHONPATH=. python benchmarks/mpc_env_speed.py --episodes=1,64 --steps=50
"""
import argparse
import json
import time

import jax
import numpy as np

from experiments.d4rl_benchmark import methods, training
from experiments.d4rl_benchmark.configs import default
from sgp_jax import closed_loop, envs
from sgp_jax.types import Transitions


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--episodes", default="1,64")
  parser.add_argument("--steps", type=int, default=50)
  parser.add_argument("--hidden", default="256,256,256")
  parser.add_argument("--env", default="halfcheetah")
  parser.add_argument("--backend", default="positional")
  args = parser.parse_args()
  config = default.get_config()
  hidden = tuple(int(h) for h in args.hidden.split(","))
  for section in ("dynamics", "reward", "score", "ensemble"):
    config[section].hidden = hidden
  env = envs.make_env(args.env, args.backend, episode_length=args.steps)
  rng = np.random.default_rng(0)
  n = 256
  data = Transitions(x=rng.normal(size=(n, env.dim_obs)).astype(np.float32),
                     u=rng.uniform(-1, 1, (n, env.dim_action)).astype(np.float32),
                     x_next=rng.normal(size=(n, env.dim_obs)).astype(np.float32),
                     reward=rng.normal(size=(n,)).astype(np.float32))
  m = training.build_models(config, data)
  keys = jax.random.split(jax.random.PRNGKey(0), 4)
  models = {k: m[k].init(key) for k, key in zip(("dynamics", "reward", "score", "ensemble"),
                                                keys)}
  planner, beta = methods.make_planners(config, m, "medium")["sgp"]
  for p in [int(e) for e in args.episodes.split(",")]:
    evaluate = closed_loop.make_mpc_evaluator(env, planner, p)
    start = time.time()
    jax.block_until_ready(evaluate(models, jax.random.PRNGKey(0), beta).rewards)
    compile_s = time.time() - start
    start = time.time()
    eps = jax.block_until_ready(evaluate(models, jax.random.PRNGKey(1), beta))
    run_s = time.time() - start
    taken = int(eps.lengths().sum())  # env steps actually run (episodes may end early)
    print(json.dumps({
        "benchmark": "sgp_mpc_env_steps", "env": args.env, "backend": args.backend,
        "episodes": p, "steps": args.steps, "horizon": config.plan.horizon,
        "num_iters": config.plan.num_iters, "hidden": list(hidden),
        "first_call_s": round(compile_s, 2), "run_s": round(run_s, 3),
        "env_steps_taken": taken, "env_steps_per_s": round(taken / run_s, 1),
        "planner_iters_per_s": round(taken * config.plan.num_iters / run_s, 1),
        "device": jax.devices()[0].device_kind, "jax": jax.__version__}), flush=True)


if __name__ == "__main__":
  main()
