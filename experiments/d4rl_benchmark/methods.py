"""The benchmark's methods: the learned control problem and a planner per method.

Methods (all planners: T, iterations and warm start from config.plan; cost = -r_hat):
  sgp                 NCSS single shooting + score penalty, beta from config.plan.betas
  beta0               the same planner with beta = 0
  ensemble_cost_var   shooting on mean_k J_k + beta Var_k J_k (the paper's, A.9.2)
  ensemble_state_var  shooting on J + beta sum_t tr Var_k f_k (MOPO-style)
  mppi, cem           zeroth-order, no penalty
  mppi_score, cem_score           zeroth-order + the score penalty as a value
                      (`planning.score_value_penalty`, Tweedie), SGP's beta and levels
  mppi_state_var, cem_state_var   zeroth-order + the MOPO-style penalty
  bc                  behaviour cloning (policy rollout, no planning)
  <method>@<beta>     any planning method above with its beta replaced, e.g.
                      "sgp@1.0" (a beta sweep reuses the method's compile)
"""
from __future__ import annotations

from experiments import launcher
from sgp_jax import planning

METHODS = ("sgp", "beta0", "ensemble_cost_var", "ensemble_state_var", "mppi",
           "mppi_score", "mppi_state_var", "cem", "cem_score", "cem_state_var", "bc")
PLANNED_MODELS = ("dynamics", "reward", "score", "ensemble")  # the planners' `models`


def models_needed(methods) -> tuple:
  """The learned models the methods use (the others need not be trained)."""
  bases = {name.partition("@")[0] for name in methods}
  needed = set()
  if bases - {"bc"}:
    needed |= {"dynamics", "reward"}
  if bases & {"sgp", "mppi_score", "cem_score"}:
    needed.add("score")
  if any(b.startswith("ensemble") or b.endswith("_var") for b in bases):
    needed.add("ensemble")
  if "bc" in bases:
    needed.add("bc")
  return tuple(n for n in ("dynamics", "reward", "score", "ensemble", "bc") if n in needed)


def make_problem(m: dict) -> planning.ControlProblem:
  """The learned problem: dynamics f_hat, cost -r_hat, NCSN xu score.

  `models` (the planner's pytree) is {"dynamics", "reward", "score", "ensemble"}.
  """
  dyn, rew, score = m["dynamics"], m["reward"], m["score"]
  return planning.ControlProblem(
      dim_x=dyn.dim_x, dim_u=dyn.dim_u,
      dynamics=lambda p, x, u: dyn(p["dynamics"], x, u),
      running_cost=lambda p, x, u, t: -rew(p["reward"], x, u),
      score=lambda p, z, level: score.score(p["score"], z, level),
      num_levels=score.num_levels)


def make_planners(config, m: dict, level: str) -> dict:
  """name -> (planner, beta) for every planning method (see the module docstring)."""
  c = config.plan
  problem = make_problem(m)
  base = dict(horizon=c.horizon, num_iters=c.num_iters, action_low=-1.0, action_high=1.0,
              record_history=False)
  grad_cfg = planning.GradientPlannerConfig(
      learning_rate=c.learning_rate, init_std=c.init_std, beta_schedule=c.beta_schedule,
      beta_min=c.beta_mins[level], **base)
  samp = dict(num_samples=c.num_samples, num_elites=c.num_elites, sample_std=c.sample_std,
              temperature=c.temperature, **base)
  samp_cfg = planning.SamplingPlannerConfig(**samp)
  # with the score value: walk the score's levels as SGP does (beta_schedule too)
  samp_score_cfg = planning.SamplingPlannerConfig(
      anneal=True, beta_schedule=c.beta_schedule, beta_min=c.beta_mins[level], **samp)
  score_value = planning.penalized_loss(
      problem, planning.score_value_penalty(m["score"], lambda p: p["score"]))
  ens = m["ensemble"]
  get_ens = lambda p: p["ensemble"]
  metric = 1.0 / ens.model.x_normalizer.scale ** 2  # variance in normalised units
  state_var = planning.penalized_loss(
      problem, planning.state_variance_penalty(ens, get_ens, metric))
  plain = planning.penalized_loss(problem)
  sgp = planning.make_single_shooting(problem, grad_cfg)
  return {
      "sgp": (sgp, c.betas[level]),
      "beta0": (sgp, 0.0),
      "ensemble_cost_var": (planning.make_loss_shooting(
          problem, planning.ensemble_variance_loss(problem, ens, get_ens), grad_cfg),
                            c.ensemble_beta),
      "ensemble_state_var": (planning.make_loss_shooting(problem, state_var, grad_cfg),
                             c.state_variance_beta),
      "mppi": (planning.make_mppi(problem, plain, samp_cfg), 0.0),
      "mppi_score": (planning.make_mppi(problem, score_value, samp_score_cfg),
                     c.betas[level]),
      "mppi_state_var": (planning.make_mppi(problem, state_var, samp_cfg),
                         c.state_variance_beta),
      "cem": (planning.make_cem(problem, plain, samp_cfg), 0.0),
      "cem_score": (planning.make_cem(problem, score_value, samp_score_cfg),
                    c.betas[level]),
      "cem_state_var": (planning.make_cem(problem, state_var, samp_cfg),
                        c.state_variance_beta),
  }


def check_methods(methods) -> None:
  """Raises ValueError naming any entry of `methods` that is not a method (before training)."""
  launcher.check_method_names(methods, METHODS, fixed=("bc",))


def planner_for(planners: dict, name: str):
  """(planner, beta) of a method name, "<method>" or "<method>@<beta>"."""
  base, beta = launcher.split_method(name)
  if base not in planners:
    raise ValueError(f"unknown method {name!r}; the planning methods are "
                     f"{sorted(planners)} (optionally '@<beta>'), plus 'bc'.")
  planner, default = planners[base]
  return planner, default if beta is None else beta
