"""Environments behind our own small protocol, rollouts, behaviour policies."""
from sgp_jax.envs.behaviour import (BehaviourPolicies, checkpoint_sha256,
                                    load_behaviour, select_expert_step,
                                    select_medium_step,
                                    train_behaviour, uniform_policy)
from sgp_jax.envs.brax_env import (ENV_NAMES, BraxEnv, Env, EnvState, Rollout,
                                   collect_episodes, make_env, make_episode,
                                   make_rollout)
