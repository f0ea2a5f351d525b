"""Default config: D4RL-style data sets for one brax env, sized for a 2-core CPU.

Run: python -m experiments.make_dataset.main --workdir=runs/ds --config.env=hopper
Use `--config.full=True` for D4RL sizes (1M transitions per level, 1M SAC steps).
SAC steps, evals, reward scaling and discount default per env (`sac_env_defaults`);
set any of them with --config.sac.<name>.
"""
import ml_collections
from ml_collections import config_dict


def get_config() -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.env = "halfcheetah"            # halfcheetah | hopper | walker2d | ant
  c.backend = "positional"         # brax backend; recorded in every data set
  c.episode_length = 1000          # time limit (D4RL: 1000)
  c.terminate_when_unhealthy = True  # brax default, the standard protocol
  c.seed = 0                       # SAC seed and root of every rollout key
  c.levels = ("random", "medium", "medium-replay", "expert", "medium-expert")
  c.num_transitions = 50_000       # at least this many per level (whole episodes);
                                   # medium-expert holds medium + expert
  c.ref_episodes = 100             # episodes for ref_min_score / ref_max_score
  c.num_parallel = 10              # episodes simulated at once (vmap width)
  c.medium_fraction = 1.0 / 3.0    # medium = checkpoint closest to this x expert
  c.formats = ("npz", "hdf5")      # files written per level
  c.full = False                   # True: D4RL sizes (full_* below)
  c.full_num_transitions = 1_000_000
  c.full_sac_timesteps = 1_000_000

  # Per-env SAC settings: a field of c.sac left None takes the env's value from this table.
  # walker2d: 200k steps at reward scaling 1 and discount 0.99 did not learn it here
  # (session 3). 1M steps at reward scaling 5 and discount 0.997 did (session 4): it
  # stands (967-step eval episodes) but barely walks.
  sac_200k = dict(num_timesteps=200_000, num_evals=21, reward_scaling=1.0, discounting=0.99)
  c.sac_env_defaults = {
      "halfcheetah": sac_200k, "hopper": sac_200k, "ant": sac_200k,
      "walker2d": dict(num_timesteps=1_000_000, num_evals=51, reward_scaling=5.0,
                       discounting=0.997)}

  # Keyword arguments of brax.training.agents.sac.train (+ hidden_layer_sizes).
  c.sac = ml_collections.ConfigDict()
  c.sac.num_timesteps = config_dict.placeholder(int)    # None: sac_env_defaults[env]
  c.sac.num_envs = 64
  c.sac.num_evals = config_dict.placeholder(int)        # checkpoints = num_evals - 1
                                                        # (medium candidates)
  c.sac.num_eval_envs = 16
  c.sac.batch_size = 256
  c.sac.grad_updates_per_step = 8
  c.sac.learning_rate = 6e-4
  c.sac.discounting = config_dict.placeholder(float)    # None: sac_env_defaults[env]
  c.sac.reward_scaling = config_dict.placeholder(float)  # None: sac_env_defaults[env]
  c.sac.normalize_observations = True
  c.sac.min_replay_size = 8192
  c.sac.hidden_layer_sizes = (256, 256)
  return c
