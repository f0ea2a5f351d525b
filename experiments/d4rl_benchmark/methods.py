"""The benchmark's methods: the learned control problem and a planner per method.

Methods (all planners: T, iterations and warm start from config.plan; cost = -r_hat):
  sgp                 NCSS single shooting + score penalty, beta from config.plan.betas
  sgp+prior           sgp whose plans start from the BC policy rolled through the
                      learned dynamics (`planning.policy_prior`; warm start
                      config.plan.prior_warm_start: "prior" every step, or
                      "shift+prior" the shifted previous plan completed by BC)
  sgp+value           sgp with a learned terminal value: cost -sum_t r_hat - w V(x_T),
                      w = config.plan.value_weight (`models.value`, fitted on the
                      data's Monte-Carlo returns, config.value)
  sgp+prior+value     both
  sgp[+prior][+value]+termination
                      any of the above with a learned termination model: each step's
                      cost -r_hat counts with the model's probability that the
                      episode still runs (`models.termination`, fitted on the data's
                      terminal flags, config.termination; `planning.trajectory_cost`)
  beta0               the same planner as sgp with beta = 0
  ensemble_cost_var   shooting on mean_k J_k + beta Var_k J_k (the paper's, A.9.2)
  ensemble_state_var  shooting on J + beta sum_t tr Var_k f_k (MOPO-style)
  mppi, cem           zeroth-order, no penalty
  mppi_score, cem_score           zeroth-order + the score penalty as a value
                      (`planning.score_value_penalty`, Tweedie), SGP's beta and levels
  mppi_state_var, cem_state_var   zeroth-order + the MOPO-style penalty
  bc                  behaviour cloning (policy rollout, no planning)
  <method>@<beta>     any planning method above with its beta replaced, e.g.
                      "sgp@1.0" (a beta sweep reuses the method's compile)
With config.eval.select_beta, every method of `SELECTED_BETA_METHODS` named without
'@<beta>' runs at the beta chosen on held-out episodes (`sgp_jax.selection`), and its
configured beta stays as the row "<method>@<beta>" (the fixed-beta ablation).
With config.eval.select_variant (SGP variants, each optionally "@<beta>"), the
variant with the best held-out episodes runs the benchmark episodes as the row
`SELECTED_VARIANT`.
"""
from __future__ import annotations

from experiments import launcher
from sgp_jax import planning

# SGP and its variants: "sgp" with any of these options, in this order
SGP_OPTIONS = ("+prior", "+value", "+termination")
SGP_VARIANTS = tuple("sgp" + "".join(o for i, o in enumerate(SGP_OPTIONS) if mask >> i & 1)
                     for mask in range(2 ** len(SGP_OPTIONS)))
METHODS = SGP_VARIANTS + (
    "beta0", "ensemble_cost_var", "ensemble_state_var", "mppi", "mppi_score",
    "mppi_state_var", "cem", "cem_score", "cem_state_var", "bc")
# The methods with a beta (a penalty weight), chosen on held-out episodes with
# config.eval.select_beta; beta0, mppi, cem and bc have none.
SELECTED_BETA_METHODS = SGP_VARIANTS + (
    "ensemble_cost_var", "ensemble_state_var", "mppi_score", "mppi_state_var",
    "cem_score", "cem_state_var")
# The row of the SGP variant chosen on held-out episodes (config.eval.select_variant).
SELECTED_VARIANT = "sgp_selected"
# the planners' `models` pytree (BC: the plan prior; value: beyond the horizon;
# termination: where the episode ends)
PLANNED_MODELS = ("dynamics", "reward", "score", "ensemble", "value", "bc", "termination")
MODEL_NAMES = ("dynamics", "reward", "score", "ensemble", "bc", "value", "termination")


def evaluated_methods(config) -> tuple:
  """Every method the benchmark runs: config.methods, then the candidates of
  config.eval.select_variant (held-out episodes, and the chosen one's benchmark ones)."""
  return tuple(config.methods) + tuple(config.eval.select_variant)


def check_variant_candidates(candidates) -> None:
  """Raises ValueError unless every candidate is an SGP variant ("<variant>" or
  "<variant>@<beta>"), none repeated."""
  check_methods(candidates)
  bad = [n for n in candidates if launcher.split_method(n)[0] not in SGP_VARIANTS]
  if bad or len(set(candidates)) != len(candidates):
    raise ValueError(f"eval.select_variant chooses among distinct SGP variants "
                     f"{list(SGP_VARIANTS)} (optionally '@<beta>'); got "
                     f"{list(candidates)}.")


def models_needed(methods) -> tuple:
  """The learned models the methods use (the others need not be trained)."""
  bases = {name.partition("@")[0] for name in methods}
  needed = set()
  if bases - {"bc"}:
    needed |= {"dynamics", "reward"}
  if any(b.startswith("sgp") for b in bases) or bases & {"mppi_score", "cem_score"}:
    needed.add("score")
  if any(b.startswith("ensemble") or b.endswith("_var") for b in bases):
    needed.add("ensemble")
  if "bc" in bases or any("+prior" in b for b in bases):
    needed.add("bc")
  if any("+value" in b for b in bases):
    needed.add("value")
  if any("+termination" in b for b in bases):
    needed.add("termination")
  return tuple(n for n in MODEL_NAMES if n in needed)


def make_problem(m: dict, value_weight=None,
                 termination: bool = False) -> planning.ControlProblem:
  """The learned problem: dynamics f_hat, cost -r_hat, NCSN xu score; with a
  value_weight w, also the terminal cost -w V(x_T) of the value model m["value"];
  with `termination`, each cost weighted by the probability that the episode still
  runs under the termination model m["termination"].

  `models` (the planner's pytree) is {"dynamics", "reward", "score", "ensemble",
  "value", "bc", "termination"} (`PLANNED_MODELS`).
  """
  return planning.make_problem(
      dynamics=m["dynamics"], reward=m["reward"], score=m["score"],
      value=None if value_weight is None else m["value"],
      value_weight=1.0 if value_weight is None else value_weight,
      termination=m["termination"] if termination else None)


def plan_prior(config, m: dict):
  """The "+prior" methods' plan prior: BC (params models["bc"]) rolled through the
  learned dynamics over the planner's horizon."""
  bc, dynamics = m["bc"], m["dynamics"]
  return planning.policy_prior(lambda p, x: bc(p["bc"], x),
                               lambda p, x, u: dynamics(p["dynamics"], x, u),
                               config.plan.horizon)


def warm_start_for(config, name: str):
  """Where a method's solves start: config.plan.prior_warm_start for the "+prior"
  methods, config.plan.warm_start (True: shift, False: random) for the others."""
  base, _ = launcher.split_method(name)
  return config.plan.prior_warm_start if "+prior" in base else config.plan.warm_start


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
  # one SGP planner per (value, termination); "+prior" changes where solves start
  sgp_planners = {
      (value, end): planning.make_single_shooting(
          make_problem(m, c.value_weight if value else None, end), grad_cfg)
      for value in (False, True) for end in (False, True)}
  sgp = sgp_planners[False, False]
  return {
      **{name: (sgp_planners["+value" in name, "+termination" in name], c.betas[level])
         for name in SGP_VARIANTS},
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
