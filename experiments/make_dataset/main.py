r"""Generates the five D4RL-style levels for one brax env (`sgp_jax.data.generate`).

  python -m experiments.make_dataset.main --workdir=runs/ds \
      --config=experiments/make_dataset/configs/default.py --config.env=hopper

Writes into the workdir:
  policies/<env>/        the SAC behaviour run (orbax checkpoints + config.json);
                         reused when its settings match
  datasets/<env>-<level>.npz / .hdf5
  summary.json           reference returns, per-level returns, normalised
                         scores, sizes, timings, versions and the config

Config fields (override with --config.FIELD=VALUE; defaults in configs/default.py):
  env, backend             halfcheetah | hopper | walker2d | ant; brax backend
  episode_length, terminate_when_unhealthy   time limit; the standard protocol
  seed                     SAC seed and root of every rollout key
  levels                   subset of random, medium, medium-replay, expert,
                           medium-expert
  num_transitions          per level, whole episodes (medium-expert: twice)
  ref_episodes             episodes behind ref_min_score / ref_max_score
  num_parallel             episodes simulated at once
  medium_fraction          medium = the checkpoint closest to this x expert
  formats                  npz and/or hdf5
  full                     True: D4RL sizes, num_transitions = full_num_transitions
                           and sac.num_timesteps = full_sac_timesteps
  sac.*                    keyword arguments of brax.training.agents.sac.train for
                           the behaviour run:
    num_timesteps          env steps of SAC training
    num_evals              evaluations = checkpoints + 1 (the medium candidates)
    num_envs, num_eval_envs   parallel envs for training / evaluation
    batch_size, learning_rate, grad_updates_per_step, min_replay_size
                           SAC's minibatch, Adam step size, updates per env step,
                           replay size before the first update
    discounting, reward_scaling, normalize_observations   SAC's discount, reward
                           scale and observation normaliser
    hidden_layer_sizes     the policy and Q networks' hidden widths
  sac_env_defaults         per env: num_timesteps, num_evals, reward_scaling and
                           discounting for the sac fields left None (walker2d: 1M
                           steps, scaling 5, discount 0.997; halfcheetah, hopper,
                           ant: 200k steps, scaling 1, discount 0.99)
"""
from absl import app

from experiments import launcher
from experiments.make_dataset import pipeline

_WORKDIR, _CONFIG = launcher.define_launcher_flags(
    __file__, workdir_help="Directory for the behaviour checkpoints (policies/, reused "
    "when their settings match), the data sets (datasets/) and summary.json.")

if __name__ == "__main__":
  app.run(launcher.launcher_main(pipeline.run, pipeline.format_summary, _WORKDIR, _CONFIG),
          flags_parser=launcher.parse_flags)
