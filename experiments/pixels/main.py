r"""Planning from pixels: the image single integrator (SPEC B.7, E.6, E.7).

Renders the light-dark single integrator (no data in the disk of radius 0.4 at the
origin) as N x N image states and N x N image actions, trains an NCSNv2-style U-Net
xu score and an ensemble of residual U-Net dynamics models on the images, plans
x0 = (0.8, 0.2) -> goal (-0.8, -0.2) over T = 15 action images with SGP and its
baselines at an equal budget of trajectory evaluations, and checks each plan on the
TRUE integrator (decode the action images, roll out, re-render). Writes to
--workdir: summary.json, and per image size N<size>/: strips.png, paths.png,
costs.png, models/{score,ensemble}, train_state/; several sizes add sweep.png.

Configs: configs/default.py (N = 32 on a 2-core CPU); configs/default.py:sweep
(N = 8, 16, 32: the dimension sweep); configs/default.py:gpu (the SPEC's sizes).

Config fields (override with --config.FIELD=VALUE):
  seed                        data, initialisation, minibatches, initial plans
  world.sizes                 image sizes N to run (dim x = dim u = N^2), in order
  world.fov/u_fov             the state / action image covers [-fov, fov]^2 /
                              [-u_fov, u_fov]^2
  world.blob_px               the rendered blob's std in pixels
  world.u_max/hole_radius/x_max   action bound, the data hole at the origin, and
                              the data box [-x_max, x_max]^2
  data.num_samples            transitions (outside the hole)
  score.features/sigma_max/sigma_min/num_levels   U-Net widths per resolution;
                              geometric noise levels (normalised units: 2 I - 1)
  score.parameterization      "denoiser" (Tweedie: (D(z, l) - z) / sigma_l^2) or
                              "noise" (NCSNv2: the output divided by sigma_l)
  score.epochs/batch_size/learning_rate/validation_fraction   its training
  ensemble.num_members/features (+ the training fields)   the dynamics ensemble;
                              member 0 is the dynamics of sgp, beta0 and mppi
  task.start/goal/horizon     x0, the goal and T
  task.action_cost/goal_cost  R on ||c_u(u_t)||^2 and Qd on ||c(x_T) - goal||^2
  task.goal_radius            "reaches the goal": final true distance below this
  plan.num_iters              the budget of trajectory evaluations per method
                              (gradient iterations; sampling: / num_samples)
  plan.learning_rate          Adam on the action-image pixels (bounded to [0, 1])
  plan.num_seeds              plan seeds (random initial action sequences)
  plan.init_u                 initial actions uniform in [-init_u, init_u]^2, rendered
  betas.sgp/ensemble/cem_ensemble/mppi   each method's beta (the score penalty; the
                              ensemble's cost variance; the score value for MPPI)
  sampling.num_samples/num_elites/sample_std/min_std/temperature   CEM / MPPI
                              (std in pixel intensity)
  methods                     any of sgp, beta0, ensemble, cem_ensemble, mppi,
                              true_model; '<method>@<beta>' overrides a beta

Examples:
  python -m experiments.pixels.main --workdir=runs/pixels
  python -m experiments.pixels.main --workdir=runs/pixels_sweep \
      --config=experiments/pixels/configs/default.py:sweep
"""
from absl import app

from experiments import launcher
from experiments.pixels import pipeline

_WORKDIR, _CONFIG = launcher.define_launcher_flags(__file__)

if __name__ == "__main__":
  app.run(launcher.launcher_main(pipeline.run, pipeline.format_summary, _WORKDIR, _CONFIG),
          flags_parser=launcher.parse_flags)
