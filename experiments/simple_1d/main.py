r"""1D illustrations of SGP's uncertainty metric (SPEC B.1, B.2), end to end.

Part 1 (B.2): three points, sigma = 0.2: p_sigma; -log p_sigma vs the softmin
energy vs a learned distance estimator (DDE); the autodiff gradient of the
softmin vs the negated DSM-learned score. Part 2 (B.1): three samples of
f(x) = x^2 sin x: an ensemble of 3 MLPs, a GP (RBF, length scale 0.1) and the
smoothed distance (sigma = 0.1) against the true squared error. Writes to
--workdir: summary.json, likelihood.png, admissibility.png, models/score,
train_state/.

Config fields (override with --config.FIELD=VALUE):
  grid_points                  evaluation grid size on [-2, 2]
  mass_fraction                score errors are measured where p_sigma > this * max p_sigma
  likelihood.seed/num_points/sigma   B.2 data (uniform on [-1, 1]) and smoothing
  likelihood.tile              the points are repeated this often to fill minibatches
  score.hidden/activation/epochs/batch_size/learning_rate/validation_fraction
                               the DSM score MLP and its training
  dde.hidden/activation/epochs/batch_size/learning_rate/validation_fraction
                               the learned distance MLP (L1 regression) and its training
  dde.domain/num_points        DDE training points uniform in [-domain, domain]
  admissibility.seed/num_points/sigma  B.1 data and the distance's smoothing
  admissibility.gp_length_scale/gp_noise  the GP's RBF length scale and jitter
  admissibility.tile           repetitions of the points per ensemble minibatch
  admissibility.large_error/small_metric  "confidently wrong": true sq. error
                               > large_error * max while the metric (scaled to
                               [0, 1] on the grid) < small_metric
  descent.num_starts           E.3: starts evenly spaced on [-2, 2]
  descent.sigma_max/sigma_min/num_levels/steps_per_level   annealed mean shift on d_sigma
  descent.gd_steps/gd_lr       gradient descent on the ensemble variance
  ensemble.num_members/hidden/activation/epochs/batch_size/learning_rate/
  validation_fraction          the MLP ensemble and its (joint) training

Example:
  python -m experiments.simple_1d.main --workdir=runs/simple_1d
"""
from absl import app

from experiments import launcher
from experiments.simple_1d import pipeline

_WORKDIR, _CONFIG = launcher.define_launcher_flags(__file__)

if __name__ == "__main__":
  app.run(launcher.launcher_main(pipeline.run, pipeline.format_summary, _WORKDIR, _CONFIG),
          flags_parser=launcher.parse_flags)
