"""The benchmark's data: `{data_dir}/{env}-{level}.npz` made by experiments.make_dataset."""
from __future__ import annotations

import os

from sgp_jax import data as data_lib


def level_path(config, level: str) -> str:
  """`{data_dir}/{env}-{level}.npz`, checked to exist.

  Raises:
    ValueError: config.data_dir is unset.
    FileNotFoundError: no such file.
    Both say which command makes the data and which flag to pass.
  """
  make = (f"make them with `python -m experiments.make_dataset.main "
          f"--workdir=runs/data_{config.env} --config.env={config.env}` and pass "
          f"--config.data_dir=runs/data_{config.env}/datasets")
  if not config.data_dir:
    raise ValueError(f"config.data_dir is not set: it is the folder of the {config.env} "
                     f"data sets ({config.env}-<level>.npz); {make}.")
  path = os.path.join(config.data_dir, f"{config.env}-{level}.npz")
  if not os.path.isfile(path):
    raise FileNotFoundError(f"no data set {path} (--config.data_dir="
                            f"{config.data_dir}); {make}.")
  return path


def load_level(config, level: str):
  """(OfflineDataset, Transitions) of `level_path(config, level)`."""
  ds = data_lib.validate_dataset(data_lib.load_dataset(level_path(config, level)))
  return ds, data_lib.to_transitions(ds)
