"""sgp-jax: Score-Guided Planning for offline model-based RL, in JAX.

The public API (pure functions over pytrees; jit- and vmap-friendly):

  data         Transitions, validate_transitions, Normalizer
  distance     smoothed_distance, empirical_score, log_density, softmin_energy
  score        make_score_model, ScoreModel, dsm_loss, cosine_sigmas, geometric_sigmas
  models       make_dynamics_model, make_reward_model, one_step_loss, multi_step_loss,
               reward_loss, models.save / models.load
  training     TrainConfig, train
  sampling     annealed_langevin
  baselines    make_dynamics_ensemble, train_ensemble, make_data_distance_model,
               fit_data_distance
  planning     sgp_jax.planning: ControlProblem, GradientPlannerConfig,
               make_single_shooting, make_collocation, make_direct_transcription,
               make_cem, make_mppi, MPC, PolicyOptimizer, penalties
  data         sgp_jax.data: OfflineDataset, load_dataset, normalized_score, readers
  systems      sgp_jax.systems: pure-JAX systems (cart-pole, toy systems)
  compiles     enable_compilation_cache (jax's persistent compilation cache)
"""
from sgp_jax import data, models, planning, systems
from sgp_jax.compilation_cache import enable_compilation_cache
from sgp_jax.data_distance import (DataDistanceModel, fit_data_distance,
                                   make_data_distance_model)
from sgp_jax.ensemble import DynamicsEnsemble, make_dynamics_ensemble, train_ensemble
from sgp_jax.distance import (empirical_score, log_density, mean_shift,
                              nearest_distance, smoothed_distance, softmin_energy)
from sgp_jax.dynamics import (DynamicsModel, make_dynamics_model, multi_step_loss,
                              one_step_loss)
from sgp_jax.normalization import Normalizer, concat_normalizers
from sgp_jax.reward import RewardModel, make_reward_model, reward_loss
from sgp_jax.sampling import annealed_langevin
from sgp_jax.score import (ScoreModel, cosine_sigmas, dsm_loss, geometric_sigmas,
                           make_score_model)
from sgp_jax.training import TrainConfig, TrainResult, train
from sgp_jax.types import Transitions, validate_transitions

__version__ = "0.1.0"
