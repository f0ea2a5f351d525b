"""Fast tests of the offline-data layer: storage, validation, readers, scores.

No brax model is compiled here; tiny arrays and files written by the tests.
"""
import json

import h5py
import numpy as np
import pytest

from sgp_jax import data
from sgp_jax.envs import select_expert_step, select_medium_step
from sgp_jax.types import Transitions


def _tiny(n=7, dim_obs=3, dim_action=2, seed=0, metadata=None):
  """Two episodes: rows 0-3 (timeout at 3), rows 4-6 (terminal at 6)."""
  rng = np.random.default_rng(seed)
  terminals = np.zeros(n, bool)
  timeouts = np.zeros(n, bool)
  timeouts[3] = True
  terminals[n - 1] = True
  return data.dataset_from_arrays(
      {"observations": rng.normal(size=(n, dim_obs)),
       "actions": rng.uniform(-1, 1, size=(n, dim_action)),
       "rewards": np.arange(n, dtype=np.float64),
       "next_observations": rng.normal(size=(n, dim_obs)),
       "terminals": terminals, "timeouts": timeouts},
      metadata if metadata is not None else
      {"env": "toy", "level": "random", "ref_min_score": 1.0, "ref_max_score": 11.0,
       "policy_checkpoint_sha256": None, "nested": {"a": [1, 2]}})


def _assert_same(a, b):
  for f in data.FIELDS:
    np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
    assert np.asarray(getattr(a, f)).dtype == np.asarray(getattr(b, f)).dtype, f
  assert a.metadata == b.metadata


def test_casts_and_shapes():
  ds = _tiny()
  assert (ds.num, ds.dim_obs, ds.dim_action) == (7, 3, 2)
  assert ds.observations.dtype == np.float32 and ds.terminals.dtype == bool


def test_npz_round_trip(tmp_path):
  ds = _tiny()
  path = data.save_npz(ds, str(tmp_path / "sub" / "d.npz"))
  _assert_same(ds, data.load_npz(path))
  _assert_same(ds, data.load_dataset(path))


def test_hdf5_round_trip_is_d4rl_layout(tmp_path):
  ds = _tiny()
  path = data.save_hdf5(ds, str(tmp_path / "d.hdf5"))
  with h5py.File(path, "r") as f:
    assert set(data.FIELDS) <= set(f.keys())
    assert f.attrs["env"] == "toy"
  back = data.load_dataset(path)
  assert back.metadata.pop("source") == "d4rl_hdf5"
  _assert_same(ds, back)


def test_to_transitions_and_returns():
  ds = _tiny()
  tr = data.to_transitions(ds)
  assert isinstance(tr, Transitions)
  assert tr.x.shape == (7, 3) and tr.u.shape == (7, 2) and tr.reward.shape == (7,)
  np.testing.assert_allclose(tr.x_next, ds.next_observations)
  # Episodes: rows 0..3 (0+1+2+3) and 4..6 (4+5+6).
  np.testing.assert_allclose(data.episode_returns(ds), [6.0, 15.0])


def test_episode_returns_drops_trailing_partial_episode():
  arrays = _tiny().arrays()
  arrays["terminals"][-1] = False
  np.testing.assert_allclose(data.episode_returns(data.dataset_from_arrays(arrays)),
                             [6.0])


def test_concatenate():
  a, b = _tiny(seed=0), _tiny(seed=1)
  c = data.concatenate([a, b], {"level": "medium-expert"})
  assert c.num == 14 and c.metadata == {"level": "medium-expert"}
  np.testing.assert_allclose(data.episode_returns(c), [6.0, 15.0, 6.0, 15.0])


@pytest.mark.parametrize("edit, match", [
    (lambda a: a.pop("actions"), r"missing field\(s\) \['actions'\]"),
    (lambda a: a.update(rewards=a["rewards"][:-1]), "mismatched lengths"),
    (lambda a: a["observations"].__setitem__((2, 1), np.nan), r"observations has 1 non-finite.*\[2\]"),
    (lambda a: a["rewards"].__setitem__(0, np.inf), "rewards has 1 non-finite"),
    (lambda a: a.update(actions=a["actions"][:, 0]), r"actions must have 2 dimension"),
    (lambda a: a.update(terminals=a["terminals"].astype(np.float32) * 0.5), "terminals must have dtype bool"),
    (lambda a: a.update(observations=a["observations"].astype(np.int32)), "observations must be floating"),
    (lambda a: a.update(next_observations=a["next_observations"][:, :2]), "next_observations has dim 2"),
])
def test_validation_names_the_problem(edit, match):
  arrays = {k: v.copy() for k, v in _tiny().arrays().items()}
  arrays["observations"] = arrays["observations"].astype(np.float64)
  arrays["rewards"] = arrays["rewards"].astype(np.float64)
  edit(arrays)
  with pytest.raises(ValueError, match=match):
    data.dataset_from_arrays(arrays)


def test_missing_and_corrupt_files(tmp_path):
  with pytest.raises(FileNotFoundError, match="No dataset"):
    data.load_dataset(str(tmp_path / "nope.npz"))
  with pytest.raises(FileNotFoundError):
    data.load_npz(str(tmp_path / "nope.npz"))
  with pytest.raises(FileNotFoundError, match="main_data.hdf5"):
    data.read_minari(str(tmp_path))
  bad = tmp_path / "bad.npz"
  bad.write_bytes(b"definitely not a zip file")
  with pytest.raises(ValueError, match="not a readable .npz"):
    data.load_npz(str(bad))
  good = data.save_npz(_tiny(), str(tmp_path / "good.npz"))
  truncated = tmp_path / "truncated.npz"
  truncated.write_bytes(open(good, "rb").read()[:200])
  with pytest.raises(ValueError, match="not a readable .npz"):
    data.load_npz(str(truncated))
  bad_h5 = tmp_path / "bad.hdf5"
  bad_h5.write_bytes(b"garbage" * 10)
  with pytest.raises(ValueError, match="not a readable HDF5"):
    data.read_d4rl_hdf5(str(bad_h5))


def _write_real_d4rl(path, observations, terminals, timeouts):
  n = len(observations)
  with h5py.File(path, "w") as f:
    f["observations"] = observations
    f["actions"] = np.ones((n, 2), np.float32)
    f["rewards"] = np.arange(n, dtype=np.float32)
    f["terminals"] = terminals
    f["timeouts"] = timeouts
    f["infos/qpos"] = np.zeros((n, 4))
    f["metadata/algorithm"] = "SAC"
    f["metadata/policy/nonlinearity"] = "relu"
    f["metadata/policy/fc0/weight"] = np.zeros((3, 3))  # arrays are skipped


def test_d4rl_reader_builds_successors_like_qlearning_dataset(tmp_path):
  # Episode A: rows 0-2 ending in a timeout at 2; episode B: rows 3-5 with a
  # terminal at 4; episode C: rows 5-7, cut by the end of the file.
  obs = np.arange(8, dtype=np.float32)[:, None] * np.ones((1, 3), np.float32)
  terminals = np.zeros(8, bool)
  terminals[4] = True
  timeouts = np.zeros(8, bool)
  timeouts[2] = True
  path = str(tmp_path / "halfcheetah-medium-v2.hdf5")
  _write_real_d4rl(path, obs, terminals, timeouts)

  ds = data.read_d4rl_hdf5(path)
  # Kept rows: 0, 1 (2 is the timeout), 3 (4 is terminal, dropped), 5, 6 (7 is last).
  np.testing.assert_array_equal(ds.observations[:, 0], [0, 1, 3, 5, 6])
  np.testing.assert_array_equal(ds.next_observations[:, 0], [1, 2, 4, 6, 7])
  np.testing.assert_array_equal(ds.timeouts, [False, True, True, False, False])
  assert not ds.terminals.any()
  assert ds.metadata["d4rl_metadata"] == {"algorithm": "SAC",
                                          "policy/nonlinearity": "relu"}
  assert ds.metadata["d4rl_infos"] == ["qpos"]

  keep = data.read_d4rl_hdf5(path, drop_terminal_steps=False)
  # d4rl.qlearning_dataset: terminal row 4 is kept with observations[5] as x'.
  np.testing.assert_array_equal(keep.observations[:, 0], [0, 1, 3, 4, 5, 6])
  np.testing.assert_array_equal(keep.next_observations[:, 0], [1, 2, 4, 5, 6, 7])
  np.testing.assert_array_equal(keep.terminals, [False, False, False, True, False, False])


def test_d4rl_reader_missing_dataset(tmp_path):
  path = str(tmp_path / "x.hdf5")
  with h5py.File(path, "w") as f:
    f["observations"] = np.zeros((3, 2))
  with pytest.raises(ValueError, match=r"missing dataset\(s\) \['actions'"):
    data.read_d4rl_hdf5(path)


def test_minari_reader(tmp_path):
  root = tmp_path / "mujoco" / "halfcheetah" / "medium-v0"
  (root / "data").mkdir(parents=True)
  lengths = {0: 3, 1: 2, 10: 4}  # ids sort numerically: 0, 1, 10
  with h5py.File(root / "data" / "main_data.hdf5", "w") as f:
    for eid, t in lengths.items():
      g = f.create_group(f"episode_{eid}")
      g["observations"] = eid * 100.0 + np.arange(t + 1, dtype=np.float64)[:, None] * np.ones((1, 2))
      g["actions"] = np.zeros((t, 1), np.float32)
      g["rewards"] = np.ones(t)
      g["terminations"] = np.eye(t, dtype=bool)[-1] if eid == 1 else np.zeros(t, bool)
      g["truncations"] = np.eye(t, dtype=bool)[-1] if eid == 0 else np.zeros(t, bool)
  with open(root / "data" / "metadata.json", "w") as fh:
    json.dump({"dataset_id": "mujoco/halfcheetah/medium-v0", "ref_min_score": -280.0,
               "ref_max_score": 12135.0}, fh)

  ds = data.load_dataset(str(root))
  assert ds.num == 9
  np.testing.assert_array_equal(ds.observations[:, 0], [0, 1, 2, 100, 101, 1000, 1001, 1002, 1003])
  np.testing.assert_array_equal(ds.next_observations[:, 0], [1, 2, 3, 101, 102, 1001, 1002, 1003, 1004])
  np.testing.assert_array_equal(ds.terminals, [0, 0, 0, 0, 1, 0, 0, 0, 0])
  # Episode 10 ends with neither flag: marked as a timeout so episodes split.
  np.testing.assert_array_equal(ds.timeouts, [0, 0, 1, 0, 0, 0, 0, 0, 1])
  np.testing.assert_allclose(data.episode_returns(ds), [3.0, 2.0, 4.0])
  assert ds.metadata["ref_max_score"] == 12135.0
  assert ds.metadata["env"] == "mujoco/halfcheetah/medium-v0"


def test_normalized_score_values():
  np.testing.assert_allclose(data.normalized_score(np.array([0.0, 5.0, 10.0, 15.0]), 0.0, 10.0),
                             [0.0, 50.0, 100.0, 150.0])
  np.testing.assert_allclose(data.normalized_score(-280.0, -280.0, 12135.0), 0.0)
  np.testing.assert_allclose(data.normalized_score(12135.0, -280.0, 12135.0), 100.0)
  # From dataset metadata (refs 1 and 11).
  np.testing.assert_allclose(data.dataset_normalized_score(6.0, _tiny()), 50.0)
  with pytest.raises(ValueError, match="ref_max_score > ref_min_score"):
    data.normalized_score(1.0, 2.0, 2.0)
  with pytest.raises(ValueError, match="lack"):
    data.dataset_normalized_score(1.0, {"env": "toy"})


def test_select_medium_step():
  curve = [(10, 100.0), (20, 900.0), (30, 1500.0), (40, 3000.0)]
  assert select_medium_step(curve) == 20          # 1/3 * 3000 = 1000
  assert select_medium_step(curve, fraction=0.5) == 30
  assert select_medium_step([(5, 1.0)]) == 5
  with pytest.raises(ValueError):
    select_medium_step([])
  # training that peaks and degrades (SAC on hopper): expert = the best checkpoint,
  # medium only from before it
  peaked = [(10, 300.0), (20, 700.0), (30, 900.0), (40, 450.0), (50, 310.0)]
  assert select_expert_step(peaked) == 30
  assert select_medium_step(peaked) == 10          # 1/3 * 900 = 300; step 50 is after
  assert select_expert_step([(1, 5.0), (2, 5.0)]) == 2  # ties: the later step
  assert select_medium_step([(7, 9.0), (8, 1.0)]) == 7  # best first: medium = expert
