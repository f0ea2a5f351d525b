"""Planners of SGP and its baselines, all on one contract (see `core`).

Gradient planners (`GradientPlanner`: init / update / solve / solve_batch /
solve_sharded, one `lax.scan` per solve):
  make_single_shooting        SGP single shooting, xu score (A.5a)
  make_collocation            direct collocation, xux score, no model (A.5b)
  make_direct_transcription   learned model as a soft constraint, xu score (A.5c)
  make_loss_shooting          shooting on any TrajectoryLoss: DDE / exact distance /
                              ensemble-variance / state-variance baselines (A.5d, A.9)
Zeroth-order planners on the same contract: make_cem, make_mppi.
Around any IVP planner: MPC (A.7). Feedback policies: PolicyOptimizer (A.8).
"""
from sgp_jax.planning.core import (GradientPlanner, GradientPlannerConfig, Objective,
                                   PlanResult, PlanState, batch_inputs, clip_actions,
                                   score_penalty)
from sgp_jax.planning.shooting import (ControlProblem, make_single_shooting, rollout,
                                       shooting_objective, trajectory_cost)
from sgp_jax.planning.collocation import Trajectory, make_collocation
from sgp_jax.planning.transcription import make_direct_transcription
from sgp_jax.planning.validation import ValidatedPlanner, check_problem
from sgp_jax.planning.penalties import (Penalty, TrajectoryLoss, dde_penalty,
                                        distance_penalty, ensemble_variance_loss,
                                        make_loss_shooting, penalized_loss,
                                        score_penalty_of, score_value_penalty,
                                        state_variance_penalty, trajectory_points)
from sgp_jax.planning.sampling_planners import (SamplingPlanner, SamplingPlannerConfig,
                                                make_cem, make_mppi)
from sgp_jax.planning.mpc import MPC, MPCResult, shift_plan
from sgp_jax.planning.policy import (Policy, PolicyConfig, PolicyOptimizer, PolicyResult,
                                     affine_policy, mlp_policy, open_loop_policy)

__all__ = [
    "GradientPlanner", "GradientPlannerConfig", "Objective", "PlanResult", "PlanState",
    "batch_inputs", "clip_actions", "score_penalty",
    "ControlProblem", "make_single_shooting", "rollout", "shooting_objective",
    "trajectory_cost",
    "Trajectory", "make_collocation", "make_direct_transcription",
    "Penalty", "TrajectoryLoss", "ValidatedPlanner", "check_problem", "dde_penalty",
    "distance_penalty", "ensemble_variance_loss", "make_loss_shooting",
    "penalized_loss", "score_penalty_of", "score_value_penalty", "state_variance_penalty", "trajectory_points",
    "SamplingPlanner", "SamplingPlannerConfig", "make_cem", "make_mppi",
    "MPC", "MPCResult", "shift_plan",
    "Policy", "PolicyConfig", "PolicyOptimizer", "PolicyResult", "affine_policy",
    "mlp_policy", "open_loop_policy",
]
