"""Speed of every planner on the cart-pole swing-up (SPEC B.6), batched.

Untrained (randomly initialised) networks of the paper's sizes: dynamics residual
MLP [64, 64, 32] leaky_relu, xu score MLP [128]*4 relu (sigma 0.01), xux
noise-conditioned score [256]*4 with 10 levels (collocation), DDE MLP [128]*4 relu
(CEM / MPPI penalty), an ensemble of 6 dynamics models. Horizon T = 60.

For every (planner, batch) it prints one JSON line: the first call's time (with
compilation), compile_s = first call - fastest later call, the median later call
per iteration, and plans per second (batch / median call). "batch" is the number of planning
problems solved at once (vmapped x0s, keys, betas); for "policy" it is the
number of initial states per gradient step of one policy, for "mpc" the number
of closed loops (ms per iteration then counts every inner planner iteration).

  python benchmarks/planners_speed.py            # 20 iterations per solve
  python benchmarks/planners_speed.py --quick    # 5 iterations, fewer samples
  python benchmarks/planners_speed.py --planners=cem,mppi --batches=1,64
"""
from __future__ import annotations

import json
import platform
import time

from absl import app, flags

import jax
import jax.numpy as jnp
import numpy as np

from sgp_jax import closed_loop
from sgp_jax import models as models_lib
from sgp_jax import score as score_lib
from sgp_jax.normalization import Normalizer
from sgp_jax import planning as P
from sgp_jax.envs.base import SystemEnv
from sgp_jax.systems import cartpole

PLANNERS = ("single_shooting", "collocation", "transcription", "ensemble_shooting",
            "cem", "mppi", "policy", "mpc")
HORIZON = 60

_QUICK = flags.DEFINE_bool("quick", False, "5 iterations per solve, 16 samples, 2 MPC steps.")
_PLANNERS = flags.DEFINE_list("planners", list(PLANNERS), "Planners to time.")
_BATCHES = flags.DEFINE_list("batches", ["1", "64", "1024"], "Batch sizes to time.")
_ITERS = flags.DEFINE_integer("num_iters", None, "Iterations per solve (default 20; 5 quick).")
_SAMPLES = flags.DEFINE_integer("samples", None, "CEM/MPPI samples (default 64; 16 quick).")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Timed calls per case (the median is reported).")


def build(seed: int = 0):
  """The cart-pole models (random weights) and the problems the planners need."""
  cp = cartpole.CartPoleParams()
  x_norm = Normalizer.from_box(cp.x_low, cp.x_high)
  u_norm = Normalizer.from_scale(cp.u_max, 0.0, dim=1)
  dyn = models_lib.make_dynamics_model(x_norm, u_norm, (64, 64, 32), "leaky_relu")
  ens = models_lib.make_dynamics_ensemble(x_norm, u_norm, (64, 64, 32), 6, "leaky_relu")
  xu = models_lib.make_score_model("xu", x_norm, u_norm, [0.01], (128,) * 4, "relu")
  xux = models_lib.make_score_model("xux", x_norm, u_norm,
                                    score_lib.cosine_sigmas(0.25, 0.005, 10), (256,) * 4)
  low = np.concatenate([cp.x_low, [-cp.u_max]])
  high = np.concatenate([cp.x_high, [cp.u_max]])
  dde = models_lib.make_data_distance_model(low, high, (128,) * 4, "relu")
  keys = jax.random.split(jax.random.PRNGKey(seed), 5)
  models = {name: jax.jit(m.init)(k) for name, m, k in zip(
      ("dynamics", "ensemble", "score", "score_xux", "dde"), (dyn, ens, xu, xux, dde), keys)}

  problem = P.ControlProblem(
      dim_x=cartpole.DIM_X, dim_u=cartpole.DIM_U,
      dynamics=lambda m, x, u: dyn(m["dynamics"], x, u),
      terminal_cost=lambda m, x: cartpole.terminal_cost(x, cp),
      score=lambda m, z, level: xu.score(m["score"], z, level),
      num_levels=xu.num_levels, score_sigma=lambda m, level: xu.sigma(level))
  problems = {
      "xu": problem,
      "xux": problem._replace(score=lambda m, z, level: xux.score(m["score_xux"], z, level),
                              num_levels=xux.num_levels,
                              score_sigma=lambda m, level: xux.sigma(level)),
      "ensemble": problem._replace(dynamics=lambda m, x, u: ens.mean(m["ensemble"], x, u),
                                   score=None),
  }
  return models, problems, ens, dde, cp


def make_planner(name: str, problems, ens, dde, cp, iters: int, samples: int):
  gcfg = P.GradientPlannerConfig(horizon=HORIZON, num_iters=iters, learning_rate=1e-2,
                                 record_history=False)
  scfg = P.SamplingPlannerConfig(horizon=HORIZON, num_iters=iters, num_samples=samples,
                                 num_elites=max(2, samples // 8), sample_std=5.0,
                                 temperature=1.0, record_history=False)
  xu = problems["xu"]
  dde_loss = P.penalized_loss(xu, P.dde_penalty(dde, lambda m: m["dde"]))
  if name == "single_shooting":
    return P.make_single_shooting(xu, gcfg)
  if name == "collocation":
    return P.make_collocation(problems["xux"], gcfg, x_goal=cp.goal)
  if name == "transcription":
    return P.make_direct_transcription(xu, gcfg, alpha=1e4,
                                       state_scale=np.asarray(cp.x_high) - cp.x_low)
  if name == "ensemble_shooting":
    return P.make_loss_shooting(problems["ensemble"], P.ensemble_variance_loss(
        problems["ensemble"], ens, lambda m: m["ensemble"]), gcfg)
  if name == "cem":
    return P.make_cem(xu, dde_loss, scfg)
  if name == "mppi":
    return P.make_mppi(xu, dde_loss, scfg)
  raise ValueError(name)


def timed(fn) -> float:
  start = time.perf_counter()
  jax.block_until_ready(fn())
  return time.perf_counter() - start


def bench(name: str, batch: int, models, problems, ens, dde, cp, iters: int,
          samples: int, mpc_steps: int, repeats: int) -> dict:
  x0s = jnp.zeros((batch, cartpole.DIM_X))
  keys = jax.random.split(jax.random.PRNGKey(1), batch)
  betas = jnp.full((batch,), 0.1)
  extra = {}
  if name == "policy":
    opt = P.PolicyOptimizer(problems["xu"], P.mlp_policy(4, 1, (64, 64)), P.PolicyConfig(
        horizon=HORIZON, num_iters=iters, learning_rate=1e-3, batch_size=batch,
        x0_low=(-0.1,) * 4, x0_high=(0.1,) * 4, noise_std=1.0, record_history=False))
    call = lambda: opt.solve(models, jax.random.PRNGKey(0), 0.1).params
    total_iters, plans = iters, 1
  elif name == "mpc":
    inner = make_planner("single_shooting", problems, ens, dde, cp, iters, samples)
    env = SystemEnv(lambda x, u: cartpole.step(x, u, cp), cartpole.DIM_X, cartpole.DIM_U)
    mpc = closed_loop.make_mpc(env, inner, num_steps=mpc_steps)
    call = lambda: mpc(models, x0s, keys, betas).observations
    total_iters, plans = iters * mpc_steps, batch * mpc_steps
    extra = {"mpc_steps": mpc_steps, "inner": "single_shooting"}
  else:
    planner = make_planner(name, problems, ens, dde, cp, iters, samples)
    call = lambda: P.solve_batch(planner, models, x0s, keys, betas).actions
    total_iters, plans = iters, batch
    if name in ("cem", "mppi"):
      extra = {"num_samples": samples}
  first = timed(call)
  times = sorted(timed(call) for _ in range(repeats))
  run = times[repeats // 2]
  return {"benchmark": "planners_cartpole", "planner": name, "batch": batch,
          "horizon": HORIZON, "num_iters": iters, **extra,
          "first_call_s_incl_compile": round(first, 3),
          "compile_s": round(max(first - times[0], 0.0), 3),
          "seconds_per_call": round(run, 4),
          "ms_per_iter": round(1e3 * run / total_iters, 3),
          "plans_per_s": round(plans / run, 3),
          "device": str(jax.devices()[0]), "cpu": platform.processor() or platform.machine(),
          "jax": jax.__version__}


def main(argv):
  del argv
  iters = _ITERS.value or (5 if _QUICK.value else 20)
  samples = _SAMPLES.value or (16 if _QUICK.value else 64)
  mpc_steps = 2 if _QUICK.value else 5
  unknown = set(_PLANNERS.value) - set(PLANNERS)
  if unknown:
    raise app.UsageError(f"unknown planner(s) {sorted(unknown)}; choose from {PLANNERS}")
  models, problems, ens, dde, cp = build()
  for name in _PLANNERS.value:
    for batch in (int(b) for b in _BATCHES.value):
      print(json.dumps(bench(name, batch, models, problems, ens, dde, cp, iters, samples,
                             mpc_steps, max(1, _REPEATS.value))), flush=True)


if __name__ == "__main__":
  app.run(main)
