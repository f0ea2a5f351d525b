"""Environments behind our own small protocol (`base`), brax locomotion envs, behaviour
policies. Importing this package does not import brax (only building a `BraxEnv` does)."""
from sgp_jax.envs.base import Env, EnvState, PolicyApply, SystemEnv
from sgp_jax.envs.behaviour import (BehaviourPolicies, checkpoint_sha256,
                                    load_behaviour, select_expert_step,
                                    select_medium_step,
                                    train_behaviour, uniform_policy)
from sgp_jax.envs.brax_env import ENV_NAMES, BraxEnv, make_env
