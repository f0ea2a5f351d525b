"""Planners of SGP and its baselines, all on one contract (see `base`).

A planner is a NamedTuple of pure functions (`base.Planner`: init / update /
extract, plus its config), and the solves are functions over it:
`solve(planner, models, x0, key, beta)`, `solve_batch`, `solve_sharded`, and
`solve_traced` (no checks, no jit) inside your own jit / scan / vmap.

  problem.py         ControlProblem, make_problem, rollout, survival, trajectory_cost,
                     check_problem
  base.py            Planner, PlanState, PlanResult, configs, the solves, gradient planners
  objectives.py      score surrogate, penalties, trajectory losses
  shooting.py        make_single_shooting (SGP, A.5a), make_loss_shooting (A.5d, A.9)
  collocation.py     make_collocation: xux score, no model (A.5b)
  transcription.py   make_direct_transcription: model as a soft constraint (A.5c)
  cem.py, mppi.py    zeroth-order planners on `sampling_planner.py`
  policy.py          PolicyOptimizer: feedback policies on the same loop (A.8)
  prior.py           policy_prior: a policy rolled through the model, a plan's prior
MPC around any initial-value planner (A.7): `sgp_jax.closed_loop.make_mpc` and
`make_mpc_evaluator`.
"""
from sgp_jax.planning.problem import (ControlProblem, check_problem, make_problem, rollout,
                                      survival, trajectory_cost)
from sgp_jax.planning.base import (GradientPlannerConfig, Objective, PlannerConfig, Planner,
                                   PlanResult, PlanState, batch_inputs, check_batch,
                                   check_inputs, check_x0, clip_actions,
                                   make_gradient_planner, run_iterations, solve,
                                   solve_batch, solve_sharded, solve_traced)
from sgp_jax.planning.objectives import (Penalty, TrajectoryLoss, dde_penalty,
                                         distance_penalty, ensemble_variance_loss,
                                         injected_score_penalty, penalized_loss,
                                         score_penalty, score_penalty_of,
                                         score_value_penalty, state_variance_penalty,
                                         trajectory_points)
from sgp_jax.planning.shooting import (loss_objective, make_loss_shooting,
                                       make_single_shooting, shooting_objective)
from sgp_jax.planning.collocation import Trajectory, make_collocation
from sgp_jax.planning.transcription import make_direct_transcription
from sgp_jax.planning.sampling_planner import SamplingPlannerConfig, make_sampling_planner
from sgp_jax.planning.cem import cem_refit, make_cem
from sgp_jax.planning.mppi import make_mppi, mppi_refit
from sgp_jax.planning.prior import policy_prior
from sgp_jax.planning.policy import (Policy, PolicyConfig, PolicyOptimizer, PolicyResult,
                                     affine_policy, mlp_policy, open_loop_policy)

__all__ = [
    "ControlProblem", "check_problem", "make_problem", "rollout", "survival",
    "trajectory_cost",
    "GradientPlannerConfig", "Objective", "PlannerConfig", "Planner", "PlanResult",
    "PlanState", "batch_inputs", "check_batch", "check_inputs", "check_x0",
    "clip_actions", "make_gradient_planner", "run_iterations", "solve", "solve_batch",
    "solve_sharded", "solve_traced",
    "Penalty", "TrajectoryLoss", "dde_penalty", "distance_penalty",
    "ensemble_variance_loss", "injected_score_penalty", "penalized_loss",
    "score_penalty", "score_penalty_of", "score_value_penalty", "state_variance_penalty",
    "trajectory_points",
    "loss_objective", "make_loss_shooting", "make_single_shooting", "shooting_objective",
    "Trajectory", "make_collocation", "make_direct_transcription",
    "SamplingPlannerConfig", "make_sampling_planner", "cem_refit", "make_cem",
    "make_mppi", "mppi_refit",
    "Policy", "PolicyConfig", "PolicyOptimizer", "PolicyResult", "affine_policy",
    "mlp_policy", "open_loop_policy", "policy_prior",
]
