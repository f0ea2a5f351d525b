"""sgp-jax: Score-Guided Planning for offline model-based RL, in JAX.

The public API (pure functions over pytrees; jit- and vmap-friendly):

  data         Transitions, validate_transitions, Normalizer
  distance     smoothed_distance, empirical_score, log_density, softmin_energy
  score        dsm_loss (denoising score matching)
  models       sgp_jax.models, one base for every learned model (NormalizedModel:
               to_config / from_config): make_dynamics_model, make_reward_model,
               make_score_model, point_score_model, ScoreModel, make_bc_policy,
               one_step_loss, multi_step_loss, reward_loss; models.save / models.load
               for every kind; train_model (train or resume, then save)
  training     TrainConfig, train
  sampling     annealed_langevin
  schedules    cosine_sigmas, geometric_sigmas, level_schedule, beta_schedule
  baselines    make_dynamics_ensemble, train_ensemble, make_data_distance_model,
               fit_data_distance
  planning     sgp_jax.planning: ControlProblem, make_problem, Planner (init / update /
               extract), solve, solve_batch, solve_sharded, solve_traced,
               GradientPlannerConfig, SamplingPlannerConfig, make_single_shooting,
               make_loss_shooting, make_collocation, make_direct_transcription,
               make_cem, make_mppi, PolicyOptimizer, objectives, policy_prior (a
               policy rolled through the model as the plan's prior)
  values       make_value_model, value_loss, monte_carlo_returns (sgp_jax.models.value):
               a learned value beyond the horizon, make_problem(value=, value_weight=)
  termination  make_termination_model, termination_loss (sgp_jax.models.termination):
               p(the episode ends at x) from the data's terminal flags; with
               make_problem(termination=) each step's cost counts while the episode runs
  selection    sgp_jax.selection.select (any candidates, e.g. planner variants) and
               select_beta: chosen on held-out episodes
  closed loop  sgp_jax.closed_loop: one receding-horizon loop over the env protocol:
               make_mpc (MPC from given states, e.g. a pure-JAX system as a SystemEnv),
               make_mpc_evaluator, make_policy_evaluator (paired episodes), Episodes,
               normalized_scores, paired_difference; envs: Env, EnvState, SystemEnv
               (brax: sgp_jax.envs)
  data         sgp_jax.data: OfflineDataset, load_dataset, normalized_score, readers
  systems      sgp_jax.systems: pure-JAX systems (cart-pole, toy systems)
  compiles     enable_compilation_cache (jax's persistent compilation cache)
"""
from sgp_jax import closed_loop, data, models, planning, schedules, selection, systems
from sgp_jax.closed_loop import (Episodes, make_mpc, make_mpc_evaluator,
                                 make_policy_evaluator)
from sgp_jax.compilation_cache import enable_compilation_cache
from sgp_jax.distance import (empirical_score, log_density, mean_shift,
                              nearest_distance, smoothed_distance, softmin_energy)
from sgp_jax.envs.base import Env, EnvState, SystemEnv
from sgp_jax.models import (BCPolicy, DataDistanceModel, DynamicsEnsemble, DynamicsModel,
                            NormalizedModel, RewardModel, ScoreModel, fit_data_distance,
                            make_bc_policy, make_data_distance_model,
                            make_dynamics_ensemble, make_dynamics_model, make_reward_model,
                            make_score_model, make_termination_model, make_value_model,
                            monte_carlo_returns, multi_step_loss, one_step_loss,
                            point_score_model, reward_loss, termination_loss,
                            train_ensemble, train_model, value_loss)
from sgp_jax.normalization import Normalizer, concat_normalizers
from sgp_jax.sampling import annealed_langevin
from sgp_jax.schedules import (beta_schedule, cosine_sigmas, geometric_sigmas,
                               level_schedule)
from sgp_jax.score import dsm_loss
from sgp_jax.training import TrainConfig, TrainResult, train
from sgp_jax.types import Transitions, validate_transitions

__version__ = "0.1.0"
