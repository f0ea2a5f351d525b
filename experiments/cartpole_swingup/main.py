r"""Cart-pole swing-up with Score-Guided Planning (SPEC B.6), end to end.

Generates the offline data set, trains the dynamics model and the (x, u) score
(resuming if --workdir already holds a partial run), plans the swing-up with SGP
single shooting for every beta in --config.plan.betas in one batched solve, runs
each plan open loop on the true cart-pole and writes to --workdir:
  models/{dynamics,score}/   orbax checkpoints with config.json (sgp_jax.models.load)
  train_state/               resumable training checkpoints
  summary.json               per beta: actions, predicted and true states, errors
  phase_portraits.png        plan vs true rollout against the data box

Example:
  python -m experiments.cartpole_swingup.main --workdir=/tmp/cartpole
  python -m experiments.cartpole_swingup.main --workdir=/tmp/cp \
      --config.plan.betas='(0.0, 0.1)' --config.plan.num_iters=2000
"""
from absl import app, flags, logging
from ml_collections import config_flags

from experiments import progress
from experiments.cartpole_swingup import pipeline

_WORKDIR = flags.DEFINE_string(
    "workdir", None, "Directory for checkpoints, summary.json and plots; a run "
    "finding checkpoints there resumes training from them.", required=True)
_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "Path to an ml_collections config file; override any field "
    "with --config.<field>=value (see configs/default.py for every field and its "
    "meaning). Defaults to experiments/cartpole_swingup/configs/default.py.",
    lock_config=True)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  if not flags.FLAGS["verbosity"].present:
    logging.set_verbosity(logging.WARNING)  # orbax and jax log every save at INFO
  config = _CONFIG.value
  if config is None:
    from experiments.cartpole_swingup.configs import default
    config = default.get_config()
  bars = progress.TrainingProgress()
  summary = pipeline.run(config, _WORKDIR.value, progress=bars)
  bars.close()
  print(pipeline.format_summary(summary))


if __name__ == "__main__":
  app.run(main)
