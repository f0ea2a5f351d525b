r"""Pendulum with keypoint state: the transition score keeps plans on the circle
(SPEC B.10).

Generates pendulum transitions in keypoint coordinates (l cos th, l sin th, th_dot),
trains a noise-conditioned (x, u, x') score, and plans BVP collocation from
hanging to upright for every beta in plan.betas. Writes to --workdir:
summary.json, pendulum.png, models/score, train_state/.

Config fields (override with --config.FIELD=VALUE):
  seed                         data, initialisation, minibatches, plan seeds
  num_samples                  (theta, theta_dot, u) uniform in [-6,6]^2 x [-5,5]
  score.hidden/activation      the noise-conditioned MLP (equal hidden widths)
  score.sigma_max/sigma_min/num_levels   cosine noise levels (normalised units)
  score.alpha                  x' is normalised with scale k_x / alpha (SPEC A.4.3)
  score.epochs/batch_size/learning_rate/validation_fraction   DSM training
  plan.horizon/num_iters/learning_rate/init_std   BVP collocation (Adam)
  plan.betas                   one plan per beta (batched in one solve)

Example:
  python -m experiments.pendulum_keypoints.main --workdir=runs/pendulum
"""
from absl import app

from experiments import launcher
from experiments.pendulum_keypoints import pipeline

_WORKDIR, _CONFIG = launcher.define_launcher_flags(__file__)

if __name__ == "__main__":
  app.run(launcher.launcher_main(pipeline.run, pipeline.format_summary, _WORKDIR, _CONFIG),
          flags_parser=launcher.parse_flags)
