r"""Light-dark: routing around a hole in the data with the transition score (SPEC B.4).

Generates the 2D single-integrator data with a hole of radius 0.4 at the origin,
trains a noise-conditioned (x, u, x') score, plans BVP collocation from
(0.8, 0.2) to (-0.8, 0.2) for every beta in plan.betas, and runs MPC (IVP
collocation inside, true dynamics) from (0.8, 0.2). Writes to --workdir:
summary.json, light_dark.png, models/score, train_state/.

Config fields (override with --config.FIELD=VALUE):
  seed                         data, initialisation, minibatches, plan seeds
  num_candidates               uniform (x, u) samples before the hole is cut out
  score.hidden/activation      the noise-conditioned MLP (equal hidden widths)
  score.u_scale                the u normaliser's scale (x is not normalised)
  score.sigma_max/sigma_min/num_levels   cosine noise levels (normalised units)
  score.epochs/batch_size/learning_rate/validation_fraction   DSM training
  plan.horizon/num_iters/learning_rate/init_std   BVP collocation (Adam)
  plan.betas                   one plan per beta (batched in one solve)
  mpc.num_steps                closed-loop steps on the true system
  mpc.horizon/num_iters/learning_rate/init_std   the IVP collocation per replan
  mpc.q_terminal, mpc.q_running   weights of ||x_T - goal||^2 and of
                               sum_t ||x_t - goal||^2 in the MPC plans
  mpc.beta, mpc.warm_start     score weight; shift the previous plan as the guess
  mpc.anneal                   walk the noise levels in every replan (SPEC A.7); False
                               uses only the smallest level

Example:
  python -m experiments.light_dark.main --workdir=runs/light_dark
"""
from absl import app

from experiments import launcher
from experiments.light_dark import pipeline

_WORKDIR, _CONFIG = launcher.define_launcher_flags(__file__)

if __name__ == "__main__":
  app.run(launcher.launcher_main(pipeline.run, pipeline.format_summary, _WORKDIR, _CONFIG),
          flags_parser=launcher.parse_flags)
