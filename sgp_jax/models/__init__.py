"""Learned models on one base (`base.NormalizedModel`), saved and loaded in one call.

  base           NormalizedModel (network, normalisers, sizes, init, input check,
                 to_config / from_config), StateActionModel (x and u normalisers),
                 ScalarRegressionModel (one normalised input, standardised scalar
                 target: the data-distance and value models)
  dynamics       DynamicsModel, make_dynamics_model, one_step_loss, multi_step_loss
  reward         RewardModel, make_reward_model, reward_loss
  bc             BCPolicy, make_bc_policy, bc_loss, train_bc
  data_distance  DataDistanceModel (the DDE), make_data_distance_model,
                 fit_data_distance, dde_loss
  ensemble       DynamicsEnsemble, make_dynamics_ensemble, train_ensemble
  score          ScoreModel, make_score_model, point_score_model, score_data (trained
                 by `sgp_jax.score.dsm_loss`)
  value          ValueModel, make_value_model, value_loss, monte_carlo_returns
                 (a value V(x) beyond the planning horizon, from the data's returns)
  termination    TerminationModel, make_termination_model, termination_loss,
                 balanced_positive_weight (p(the episode ends on reaching x), from
                 the data's terminal flags)
  image          the same models on a U-Net over images
  io             save, load (every kind), train_model (train or resume, then save)
"""
from sgp_jax.models import (base, bc, data_distance, dynamics, ensemble, image, io, reward,
                            score, termination, value)
from sgp_jax.models.base import (NormalizedModel, ScalarRegressionModel,
                                 StateActionModel)
from sgp_jax.models.bc import BCPolicy, bc_loss, make_bc_policy, train_bc
from sgp_jax.models.data_distance import (DataDistanceModel, dde_loss, fit_data_distance,
                                          make_data_distance_model, sample_box)
from sgp_jax.models.dynamics import (DynamicsModel, make_dynamics_model, multi_step_loss,
                                     one_step_loss)
from sgp_jax.models.ensemble import (DynamicsEnsemble, ensemble_loss, ensemble_of,
                                     make_dynamics_ensemble, train_ensemble)
from sgp_jax.models.image import (make_image_dynamics_ensemble, make_image_dynamics_model,
                                  make_image_score_model, pixel_normalizer)
from sgp_jax.models.io import load, load_if_intact, save, train_model
from sgp_jax.models.reward import RewardModel, make_reward_model, reward_loss
from sgp_jax.models.score import ScoreModel, make_score_model, point_score_model, score_data
from sgp_jax.models.termination import (TerminationModel, balanced_positive_weight,
                                        make_termination_model, termination_loss)
from sgp_jax.models.value import (ValueModel, make_value_model, monte_carlo_returns,
                                 value_loss)
