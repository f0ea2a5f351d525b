r"""L-shaped corridor: SGP keeps an open-loop plan inside the data (SPEC B.5).

Generates corridor data for x' = x + 0.1 clip(u, -1, 1), trains a residual MLP
dynamics model and an (x, u) score, plans single shooting from (0, 1) to (1, 0)
for every beta and seed in one batched solve, and rolls the plans out on the
true integrator. Writes to --workdir: summary.json, corridor.png,
models/{dynamics,score}, train_state/.

Config fields (override with --config.FIELD=VALUE):
  seed                         data, initialisation, minibatches, plan seeds
  num_candidates               uniform candidates, half per strip (kept if x, x' inside)
  dynamics.hidden/activation/epochs/batch_size/learning_rate/validation_fraction
                               residual MLP dynamics on min/max-normalised (x, u)
  score.hidden/activation/epochs/batch_size/learning_rate/validation_fraction
                               (x, u) score MLP and its DSM training
  score.sigma                  DSM noise level (normalised units)
  plan.horizon/num_iters/learning_rate/init_std   single shooting (Adam on u)
  plan.betas, plan.num_seeds   one plan per (beta, seed)
  plan.path_weight/action_weight/terminal_weight   the cost's weights

Example:
  python -m experiments.corridor.main --workdir=runs/corridor
"""
from absl import app

from experiments import launcher
from experiments.corridor import pipeline

_WORKDIR, _CONFIG = launcher.define_launcher_flags(__file__)

if __name__ == "__main__":
  app.run(launcher.launcher_main(pipeline.run, pipeline.format_summary, _WORKDIR, _CONFIG),
          flags_parser=launcher.parse_flags)
