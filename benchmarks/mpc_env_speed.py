r"""Closed-loop env steps per second of SGP-MPC on the true brax env (JSON lines).

Untrained models of the benchmark's architecture (speed does not depend on the
weights), the benchmark's planner (T = 8, 50 Adam iterations, NCSN score), the
jitted episode loop of `sgp_jax.closed_loop` at each --episodes value, for each of
--methods: "sgp", "sgp+prior" (each solve starts from BC rolled through the model:
T extra BC and dynamics evaluations per env step), "sgp+value" (the value V(x_T)
in every iteration's objective and gradient) and "sgp+termination" (the termination
model at every predicted state, in every iteration). One line per method and setting:
compile seconds, run seconds (a second call, compiled), env steps/s (= episodes *
steps / run seconds) and the run's seconds per env step against "sgp"'s
(extra_ms_per_env_step, when "sgp" ran first at the same size): the cost of the
prior, of the value and of the termination model per env step.

  PYTHONPATH=. python benchmarks/mpc_env_speed.py --episodes=1,15 --steps=50
      (the benchmark's CPU nets; 15 = its 3 seeds x 5 episodes in one vmapped call)
  PYTHONPATH=. python benchmarks/mpc_env_speed.py --episodes=1 --steps=5 --hidden=32,32
      (quick check)
"""
import argparse
import json
import os
import time

import jax
import numpy as np

from experiments.d4rl_benchmark import methods, training
from experiments.d4rl_benchmark.configs import default
from sgp_jax import closed_loop, envs
from sgp_jax.types import Transitions


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--episodes", default="1,15")
  parser.add_argument("--steps", type=int, default=50)
  parser.add_argument("--hidden", default="",
                      help="every net's hidden sizes, e.g. 256,256,256; default: the "
                           "benchmark config's CPU sizes")
  parser.add_argument("--env", default="halfcheetah")
  parser.add_argument("--backend", default="positional")
  parser.add_argument("--methods", default="sgp,sgp+prior,sgp+value,sgp+termination")
  args = parser.parse_args()
  config = default.get_config()
  if args.hidden:
    for section in ("dynamics", "reward", "score", "ensemble", "bc", "value", "termination"):
      config[section].hidden = tuple(int(h) for h in args.hidden.split(","))
  names = args.methods.split(",")
  methods.check_methods(names)
  env = envs.make_env(args.env, args.backend, episode_length=args.steps)
  rng = np.random.default_rng(0)
  n = 256
  data = Transitions(x=rng.normal(size=(n, env.dim_obs)).astype(np.float32),
                     u=rng.uniform(-1, 1, (n, env.dim_action)).astype(np.float32),
                     x_next=rng.normal(size=(n, env.dim_obs)).astype(np.float32),
                     reward=rng.normal(size=(n,)).astype(np.float32))
  m = training.build_models(config, data)
  keys = jax.random.split(jax.random.PRNGKey(0), len(methods.PLANNED_MODELS))
  models = {k: m[k].init(key) for k, key in zip(methods.PLANNED_MODELS, keys)}
  planners = methods.make_planners(config, m, "medium")
  prior = methods.plan_prior(config, m)
  for p in [int(e) for e in args.episodes.split(",")]:
    sgp_s_per_step = None
    for name in names:
      planner, beta = methods.planner_for(planners, name)
      evaluate = closed_loop.make_mpc_evaluator(
          env, planner, p, warm_start=methods.warm_start_for(config, name), prior=prior)
      start = time.time()
      jax.block_until_ready(evaluate(models, jax.random.PRNGKey(0), beta).rewards)
      compile_s = time.time() - start
      start = time.time()
      eps = jax.block_until_ready(evaluate(models, jax.random.PRNGKey(1), beta))
      run_s = time.time() - start
      taken = int(eps.lengths().sum())  # env steps actually run (episodes may end early)
      s_per_step = run_s / taken
      if name == "sgp":
        sgp_s_per_step = s_per_step
      extra = ({} if sgp_s_per_step is None or name == "sgp" else
               {"extra_ms_per_env_step": round(1e3 * (s_per_step - sgp_s_per_step), 3)})
      print(json.dumps({
          "benchmark": "sgp_mpc_env_steps", "method": name, "env": args.env,
          "backend": args.backend, "episodes": p, "steps": args.steps,
          "horizon": config.plan.horizon, "num_iters": config.plan.num_iters,
          "hidden": {k: list(config[k].hidden)
                     for k in ("dynamics", "score", "bc", "value", "termination")},
          "first_call_s": round(compile_s, 2),
          "run_s": round(run_s, 3), "env_steps_taken": taken,
          "env_steps_per_s": round(taken / run_s, 1),
          "ms_per_env_step": round(1e3 * s_per_step, 3), **extra,
          "planner_iters_per_s": round(taken * config.plan.num_iters / run_s, 1),
          "load_avg_1min": round(os.getloadavg()[0], 2),
          "device": jax.devices()[0].device_kind, "jax": jax.__version__}), flush=True)


if __name__ == "__main__":
  main()
