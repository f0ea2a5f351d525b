"""D4RL-style data set generation (sgp_jax.data.generate): per-env SAC settings, and
(slow: brax SAC and MuJoCo compiles) all five levels end to end."""
import json
import os
import sys

import numpy as np
import pytest

from experiments.make_dataset.configs import default
from sgp_jax import data, envs
from sgp_jax.data import generate


def test_import_does_not_load_brax():
  """`import sgp_jax.data.generate` stays light: brax loads only when a generation runs."""
  import subprocess
  code = ("import sys, sgp_jax, sgp_jax.data, sgp_jax.data.generate; "
          "print(sorted(m for m in sys.modules if m.split('.')[0] in ('brax', 'mujoco')))")
  out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=120)
  assert out.returncode == 0 and out.stdout.strip() == "[]", out.stdout + out.stderr


def test_sac_settings_default_per_env():
  """SAC fields left unset take the env's defaults; explicit values and bad envs are kept/named."""
  config = default.get_config()
  config.env = "walker2d"
  sac = generate.resolve_config(config).sac
  assert (sac.num_timesteps, sac.num_evals, sac.reward_scaling, sac.discounting) == (
      1_000_000, 51, 5.0, 0.997)
  config.env = "hopper"
  config.sac.reward_scaling = 2.0
  sac = generate.resolve_config(config).sac
  assert (sac.num_timesteps, sac.reward_scaling, sac.discounting) == (200_000, 2.0, 0.99)
  assert config.sac.num_timesteps is None  # the caller's config is left unresolved
  config.full = True
  full = generate.resolve_config(config)
  assert (full.num_transitions, full.sac.num_timesteps, full.sac.num_evals) == (
      1_000_000, 1_000_000, 21)
  config.env = "humanoid"
  with pytest.raises(ValueError, match="humanoid"):
    generate.resolve_config(config)


def test_unknown_level_is_refused_before_anything_is_written(tmp_path):
  config = default.get_config()
  config.levels = ("medium", "hard")
  with pytest.raises(ValueError, match=r"Unknown level\(s\) \['hard'\]"):
    generate.make_datasets(config, str(tmp_path / "run"), log=lambda m: None)
  assert not (tmp_path / "run").exists()


@pytest.mark.slow  # brax SAC and MuJoCo compiles
def test_make_datasets_end_to_end(tmp_path, monkeypatch):
  """A relative workdir, as the README's command gives, trains, reloads and reuses."""
  monkeypatch.chdir(tmp_path)
  config = default.get_config()
  config.env = "halfcheetah"
  config.episode_length = 40
  config.num_transitions = 200
  config.ref_episodes = 4
  config.num_parallel = 4
  config.sac.update(num_timesteps=3000, num_envs=8, num_evals=4, num_eval_envs=4,
                    batch_size=64, grad_updates_per_step=1, min_replay_size=256,
                    hidden_layer_sizes=(32, 32))
  workdir = "run"
  summary = generate.make_datasets(config, workdir, log=lambda m: None)

  assert set(summary["levels"]) == set(data.LEVELS)
  with open(os.path.join(workdir, "summary.json")) as f:
    assert json.load(f)["levels"].keys() == summary["levels"].keys()
  for level in data.LEVELS:
    npz = data.load_dataset(os.path.join(workdir, "datasets", f"halfcheetah-{level}.npz"))
    h5 = data.load_dataset(os.path.join(workdir, "datasets", f"halfcheetah-{level}.hdf5"))
    np.testing.assert_array_equal(npz.observations, h5.observations)
    meta = npz.metadata
    assert meta["level"] == level and meta["backend"] == "positional"
    assert meta["ref_max_score"] == summary["ref_max_score"]
    assert npz.num >= (400 if level == "medium-expert" else 200)
    assert npz.num % 40 == 0  # whole halfcheetah episodes only
  medium = data.load_npz(os.path.join(workdir, "datasets", "halfcheetah-medium.npz"))
  assert len(medium.metadata["policy_checkpoint_sha256"][0]) == 64
  replay = data.load_npz(os.path.join(workdir, "datasets", "halfcheetah-medium-replay.npz"))
  assert replay.metadata["includes_random_policy"]

  # A second call reuses the behaviour checkpoints instead of retraining.
  env = envs.make_env("halfcheetah", episode_length=40)
  messages = []
  again = envs.train_behaviour(env, generate.resolve_config(config).sac.to_dict(),
                               os.path.join(workdir, "policies", "halfcheetah"),
                               config.seed, log=messages.append)
  assert messages and messages[0].startswith("Reusing")
  assert again.medium_step == summary["behaviour"]["medium_step"]
  assert (envs.checkpoint_sha256(again.checkpoint_dirs[again.medium_step])
          == medium.metadata["policy_checkpoint_sha256"][0])
