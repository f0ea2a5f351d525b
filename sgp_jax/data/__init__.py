"""Offline data sets: D4RL-style storage, readers, normalised scores.

Generating D4RL-style data sets from a brax env (behaviour policies, the five levels,
reference returns) is `sgp_jax.data.generate.make_datasets`; import that module
explicitly (it needs the brax extra when it runs).
"""
from sgp_jax.data.dataset import (FIELDS, LEVELS, OfflineDataset, check_lengths,
                                  concatenate, dataset_from_arrays, episode_ends,
                                  episode_returns, load_npz, save_hdf5, save_npz,
                                  to_transitions, validate_dataset)
from sgp_jax.data.readers import (load_dataset, qlearning_successors,
                                  read_d4rl_hdf5, read_minari)
from sgp_jax.data.scores import dataset_normalized_score, normalized_score

load_hdf5 = read_d4rl_hdf5
