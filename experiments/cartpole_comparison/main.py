r"""Cart-pole swing-up: SGP vs ensemble and zeroth-order baselines at equal budgets
(SPEC B.6, E.5, E.6).

Loads the dynamics model and xu score of a finished cart-pole run
(--config.source_workdir, written by experiments.cartpole_swingup.main) or
trains small ones, trains a K-member dynamics ensemble and a data-distance
estimator, plans the swing-up with every method for num_seeds seeds (one batched
solve per method) and rolls every plan out on the true cart-pole. Writes to
--workdir: summary.json, comparison.png, train_state/ (and models/ if trained).

Config fields (override with --config.FIELD=VALUE):
  seed                         data, initialisation, minibatches, plan seeds
  source_workdir               a cart-pole run whose models/ to load ('', the default,
                               trains small ones here)
  cartpole.num_candidates      cart-pole data for the ensemble, the DDE (and own models)
  cartpole.dynamics_epochs/score_epochs/score_max_points   own models, if trained
  ensemble.num_members/hidden/activation/epochs/batch_size/learning_rate/
  validation_fraction          the dynamics ensemble (one joint training loop)
  dde.max_points               data points the DDE's exact targets are computed from
  dde.num_points/hidden/activation/epochs/batch_size/learning_rate/validation_fraction
                               DDE regression points (uniform in the xu box) and its MLP
  budget                       trajectory evaluations per plan (equal for all methods)
  num_seeds                    plans per method (random initial actions)
  horizon, learning_rate, init_std   T and Adam settings of the gradient planners
  sgp_beta, ensemble_beta, dde_beta  penalty weights
  sampling.num_samples/num_elites/sample_std/min_std/smoothing/temperature
                               CEM and MPPI settings (std in newtons)
  methods                      which of shooting_beta0, sgp, ensemble_gradient,
                               cem_ensemble, cem_dde, mppi_dde to run

Example:
  python -m experiments.cartpole_comparison.main --workdir=runs/cp_cmp
  python -m experiments.cartpole_swingup.main --workdir=runs/cartpole_swingup
  python -m experiments.cartpole_comparison.main --workdir=runs/cp_cmp \
      --config.source_workdir=runs/cartpole_swingup
"""
from absl import app

from experiments import launcher
from experiments.cartpole_comparison import pipeline

_WORKDIR, _CONFIG = launcher.define_launcher_flags(__file__)

if __name__ == "__main__":
  app.run(launcher.launcher_main(pipeline.run, pipeline.format_summary, _WORKDIR, _CONFIG),
          flags_parser=launcher.parse_flags)
