r"""Cart-pole swing-up with Score-Guided Planning (SPEC B.6), end to end.

Generates the offline data set, trains the dynamics model and the (x, u) score
(resuming if --workdir already holds a partial run), plans the swing-up with SGP
single shooting for every beta in --config.plan.betas in one batched solve, runs
each plan open loop on the true cart-pole and writes to --workdir:
  models/{dynamics,score}/   orbax checkpoints with config.json (sgp_jax.models.load)
  train_state/               resumable training checkpoints
  summary.json               per beta: actions, predicted and true states, errors
  phase_portraits.png        plan vs true rollout against the data box

Config fields (override with --config.FIELD=VALUE):
  seed                      data, initialisation, minibatch and plan seeds
  num_candidates            uniform (x, u) samples; those whose x' leaves the box are dropped
  dynamics.hidden/activation/epochs/batch_size/learning_rate/validation_fraction
                            residual MLP dynamics model and its training
  score.hidden/activation/epochs/batch_size/learning_rate/validation_fraction
                            (x, u) score MLP and its DSM training
  score.sigma               DSM noise level, in normalised units
  score.max_points          DSM trains on the first max_points transitions
  plan.horizon              T, number of actions (dt = 0.05 s)
  plan.num_iters            Adam iterations per plan
  plan.learning_rate        Adam step size on the actions (newtons)
  plan.init_std             std of the random initial actions
  plan.betas                score-penalty weights, one plan per beta and seed
  plan.num_seeds            plan seeds (random initial actions) per beta

Example:
  python -m experiments.cartpole_swingup.main --workdir=runs/cartpole
  python -m experiments.cartpole_swingup.main --workdir=runs/cp \
      --config.plan.betas='(0.0, 0.1)' --config.plan.num_iters=2000
"""
from absl import app

from experiments import launcher
from experiments.cartpole_swingup import pipeline

_WORKDIR, _CONFIG = launcher.define_launcher_flags(__file__)

if __name__ == "__main__":
  app.run(launcher.launcher_main(pipeline.run, pipeline.format_summary, _WORKDIR, _CONFIG),
          flags_parser=launcher.parse_flags)
