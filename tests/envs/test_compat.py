"""`sgp_jax.envs.compat`: jax.device_put_replicated for brax's trainers on jax >= 0.10.

The fast test compares the replacement with jax's own function where this jax still
has it (0.9), else checks its semantics. The slow one trains brax's SAC for a few
thousand steps with the replacement and, where jax's own exists, checks that the
run is identical to one with jax's own.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sgp_jax.envs import compat

NATIVE = getattr(jax, "device_put_replicated", None)
if NATIVE is compat.device_put_replicated:  # installed by an earlier brax run
  NATIVE = None


def test_device_put_replicated_semantics():
  tree = {"w": jnp.arange(6.0).reshape(2, 3), "step": jnp.int32(7)}
  devices = jax.local_devices()
  got = compat.device_put_replicated(tree, devices)
  assert got["w"].shape == (len(devices), 2, 3) and got["step"].shape == (len(devices),)
  assert got["step"].dtype == jnp.int32
  for leaf, source in ((got["w"], tree["w"]), (got["step"], tree["step"])):
    shards = sorted(leaf.addressable_shards, key=lambda s: s.index[0].start or 0)
    assert [s.device for s in shards] == devices
    for shard in shards:
      np.testing.assert_array_equal(shard.data[0], source)
  if NATIVE is not None:
    want = NATIVE(tree, devices)
    for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
      np.testing.assert_array_equal(g, w)
      assert g.shape == w.shape and g.dtype == w.dtype
  with pytest.raises(ValueError, match="at least one device"):
    compat.device_put_replicated(tree, [])
  missing = not hasattr(jax, "device_put_replicated")
  assert compat.ensure_device_put_replicated() is missing
  assert hasattr(jax, "device_put_replicated")


def _short_sac(seed=0):
  from brax import envs as brax_envs
  from brax.training.agents.sac import train as sac_train
  env = brax_envs.get_environment("inverted_pendulum", backend="positional")
  make_policy, params, metrics = sac_train.train(
      environment=env, num_timesteps=3_000, episode_length=100, num_envs=8,
      num_evals=2, batch_size=64, min_replay_size=256, max_replay_size=10_000,
      grad_updates_per_step=1, learning_rate=1e-3, seed=seed, deterministic_eval=True)
  return params, metrics


@pytest.mark.slow
def test_brax_sac_trains_with_the_replacement(monkeypatch):
  monkeypatch.setattr(jax, "device_put_replicated", compat.device_put_replicated,
                      raising=False)
  params, metrics = _short_sac()
  assert np.isfinite(metrics["eval/episode_reward"])
  assert all(np.isfinite(np.asarray(x)).all() for x in jax.tree.leaves(params))
  if NATIVE is not None:
    monkeypatch.setattr(jax, "device_put_replicated", NATIVE)
    native_params, native_metrics = _short_sac()
    assert metrics["eval/episode_reward"] == native_metrics["eval/episode_reward"]
    for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(native_params)):
      np.testing.assert_array_equal(a, b)
