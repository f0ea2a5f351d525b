r"""Box pushing with keypoints on the simulated pusher-slider (SPEC B.9, E.10).

Generates teleoperation-like push data on the quasi-static pusher-slider (the YCB
sugar box, a disc pusher), trains a dynamics model, an NCSN xu score, a keypoint-only
score and a dynamics ensemble on the 12-D keypoint state, then runs SGP-MPC and its
baselines in closed loop on the TRUE simulator towards three goals, and pulls noisy
keypoints back to a rigid box with the keypoint score. Writes to --workdir:
summary.json, trajectories.png, metrics.png, stabilisation.png, episode.gif,
models/{dynamics,score,keypoint_score,ensemble}, train_state/.

Config fields (override with --config.FIELD=VALUE):
  seed                         data, initialisation, minibatches, starts, plan seeds
  sim.pusher_radius/mu_pusher/num_substeps   the simulator (m; pusher-box friction;
                               straight-line sub-steps per command)
  data.num_episodes/episode_length   teleop episodes x steps (>= 100k transitions)
  data.pose_low/pose_high      box (x, y, theta) range of the episodes' first poses
  data.max_gap/max_push_angle/min_speed/max_speed/action_noise/random_fraction
                               the pusher starts U[0, max_gap] outside a random face
                               and pushes at a per-episode angle (rad) to the face
                               normal and speed (m per step), with Gaussian command
                               noise; random_fraction of the steps are uniform commands
  dynamics.hidden/activation/epochs/batch_size/learning_rate/validation_fraction
                               residual MLP (x, a) -> x' (a = u / u_max)
  score.hidden/activation/sigma_max/sigma_min/num_levels (+ training fields)
                               NCSN xu score, cosine levels (normalised units)
  keypoint_score.*             the keypoint-only score (the same fields)
  ensemble.num_members/hidden/activation (+ training fields)   the ensemble baseline
  goals.x                      goal box x positions (upright at y = 0)
  goals.num_starts             random starts per goal
  goals.start_seed             which draw of starts (0 reports; betas are chosen on 1)
  goals.min_before/max_before/max_across/max_angle_deg   the box starts this far (m)
                               before the goal along -y, across it, and turned (deg)
  goals.min_gap/max_gap/max_pusher_offset   the pusher starts this far behind the -y
                               face, this far off its centre (m)
  goals.success_position/success_angle_deg   success thresholds on the TRUE final box
  mpc.num_steps/horizon/num_iters/learning_rate/init_std/warm_start/action_cost
                               closed-loop steps; plan length T; iterations (= the
                               budget of trajectory evaluations per replan); Adam on a;
                               initial std of a; shift the previous plan; the weight w
                               of w ||u||^2 per step; bound_plan: clip plans to the
                               command box (False: only the executed command is clipped)
  betas.sgp/ensemble/cem_score/mppi_score   each method's beta (the score penalty; the
                               ensemble's cost variance; the score value for CEM/MPPI)
  sampling.num_samples/num_elites/sample_std/min_std/smoothing/temperature
                               CEM / MPPI (mpc.num_iters / num_samples iterations)
  stabilisation.noise/num_points/num_steps/step_size   keypoint noise std (m), points,
                               annealed ascent steps and step size (raw units)
  methods                      any of sgp, beta0, ensemble, cem_score, mppi_score,
                               true_model (the simulator as the model); '<method>@<beta>'
                               overrides a method's beta

Example:
  python -m experiments.box_pushing.main --workdir=runs/box_pushing
"""
from absl import app

from experiments import launcher
from experiments.box_pushing import pipeline

_WORKDIR, _CONFIG = launcher.define_launcher_flags(__file__)

if __name__ == "__main__":
  app.run(launcher.launcher_main(pipeline.run, pipeline.format_summary, _WORKDIR, _CONFIG),
          flags_parser=launcher.parse_flags)
