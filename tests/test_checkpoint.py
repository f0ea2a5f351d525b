"""Checkpoint integrity (`sgp_jax.checkpoint`): corrupt training checkpoints are
reported as one CheckpointError naming the newest, with or without a manifest.
(One corrupt checkpoint beside an intact one is resumed from the intact one:
tests/test_faults.py. Corrupt model checkpoints: tests/models/test_io.py.)"""
import glob
import os

import pytest

from helpers import copy_dir, flip_bytes, garbage_json, train_toy, truncate_file
from sgp_jax import checkpoint


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
  """A complete 4-epoch run with checkpoints at epochs 2 and 4: its workdir."""
  workdir = tmp_path_factory.mktemp("straight")
  train_toy(workdir)
  return workdir


@pytest.mark.parametrize("corrupt", ["flip_data", "truncate_data", "metadata",
                                     "truncate_data_without_manifest"])
def test_corrupt_training_checkpoints_raise(finished_run, tmp_path, corrupt):
  """Every checkpoint corrupt: an error naming the newest."""
  workdir = copy_dir(finished_run, tmp_path / "run")
  for step_dir in (workdir / "2", workdir / "4"):
    if corrupt == "metadata":
      targets = [step_dir / "state" / "_METADATA"]
      action = garbage_json
    else:
      targets = glob.glob(str(step_dir / "state" / "d" / "*"))
      action = flip_bytes if corrupt == "flip_data" else truncate_file
    assert targets and all(os.path.isfile(t) for t in targets), os.listdir(step_dir / "state")
    for target in targets:
      action(target)
    if corrupt.endswith("without_manifest"):  # as written before manifests: orbax's error
      os.remove(step_dir / checkpoint.FILES_MANIFEST)
  with pytest.raises(checkpoint.CheckpointError, match="every training checkpoint .* is "
                                                       "corrupt") as info:
    train_toy(workdir)
  assert os.path.join(str(workdir), "4") in str(info.value)  # names the checkpoint path


def test_manifest_names_the_altered_file(tmp_path):
  """check_manifest: False without a manifest, True when intact, else the file's name."""
  folder = tmp_path / "files"
  folder.mkdir()
  (folder / "a.bin").write_bytes(b"0123456789")
  assert checkpoint.check_manifest(str(folder)) is False
  checkpoint.write_manifest(str(folder))
  assert checkpoint.check_manifest(str(folder)) is True
  truncate_file(folder / "a.bin")
  with pytest.raises(checkpoint.CheckpointError, match="a.bin has 5 bytes, 10 were written"):
    checkpoint.check_manifest(str(folder))
  (folder / "a.bin").write_bytes(b"0123456780")
  with pytest.raises(checkpoint.CheckpointError, match="content of a.bin differs"):
    checkpoint.check_manifest(str(folder))
