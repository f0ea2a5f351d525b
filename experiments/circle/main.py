r"""Noise-conditioned score of points on a circle + annealed Langevin (SPEC B.3).

Trains a noise-conditioned DSM score on points of a circle, runs noise-free
annealed Langevin from Gaussian starts and checks the particles land on the
circle. Writes to --workdir: summary.json, circle.png, models/score, train_state/.

Config fields (override with --config.FIELD=VALUE):
  seed                         data, initialisation, minibatches, starts
  num_points, radius           the data: points uniform in angle on the circle
  score.hidden/activation      the noise-conditioned MLP (equal hidden widths)
  score.sigma_max/sigma_min/num_levels   cosine noise levels (normalised units, k = 2r)
  score.epochs/batch_size/learning_rate/validation_fraction   DSM training
  langevin.num_particles/init_std   particles start at init_std * N(0, I)
  langevin.step_size/num_steps/noise   z <- z + eps/2 s(z, l_k) (+ sqrt(eps) xi if noise)
  eval_points                  samples per level for the score-error check

Example:
  python -m experiments.circle.main --workdir=runs/circle
"""
from absl import app

from experiments import launcher
from experiments.circle import pipeline

_WORKDIR, _CONFIG = launcher.define_launcher_flags(__file__)

if __name__ == "__main__":
  app.run(launcher.launcher_main(pipeline.run, pipeline.format_summary, _WORKDIR, _CONFIG),
          flags_parser=launcher.parse_flags)
