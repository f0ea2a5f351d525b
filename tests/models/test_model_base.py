"""The one model base (`sgp_jax.models.base`): configs rebuild every kind, the input
check names the model and the shapes, init follows the named input blocks."""
import json

import chex
import jax
import jax.numpy as jnp
import pytest

from helpers import example_models
from sgp_jax import models
from sgp_jax.checkpoint import CheckpointError


def test_every_kind_is_rebuilt_from_its_config_alone():
  for name, model in example_models().items():
    config = json.loads(json.dumps(model.to_config()))  # JSON-able
    assert config["model"] == type(model).model_type and config["format_version"] == 1
    rebuilt = models.NormalizedModel.from_config(config)
    assert type(rebuilt) is type(model), name
    assert rebuilt.to_config() == config, name
    chex.assert_trees_all_equal(rebuilt, model)  # normalisers, constants, static net
    # A subclass accepts its own configs only.
    assert type(model).from_config(config).to_config() == config
  dyn, score = example_models()["dynamics"], example_models()["score"]
  with pytest.raises(CheckpointError, match="describes a score model, not a dynamics"):
    models.DynamicsModel.from_config(score.to_config())
  with pytest.raises(CheckpointError, match="unknown model type 'policy'"):
    models.NormalizedModel.from_config({**dyn.to_config(), "model": "policy"})
  config = dyn.to_config()
  del config["u_normalizer"]
  with pytest.raises(CheckpointError, match="missing the field 'u_normalizer'"):
    models.NormalizedModel.from_config(config)
  with pytest.raises(CheckpointError, match="unknown network"):
    models.NormalizedModel.from_config({**dyn.to_config(), "net": {"type": "Transformer"}})


def test_the_ensemble_config_nests_its_member():
  """The ensemble's member model is stored under "member" (the format of saved runs)."""
  ens = example_models()["ensemble"]
  config = ens.to_config()
  assert set(config) == {"model", "format_version", "member", "num_members"}
  assert config["member"] == ens.model.to_config() and config["num_members"] == 3


def test_scalar_regression_configs_keep_each_kind_s_field_names():
  """The data-distance and value models share one base; their configs keep the field
  names of saved runs (the value's normaliser, scale and offset under its own names)."""
  m = example_models()
  common = {"model", "format_version", "net"}
  assert set(m["dde"].to_config()) == common | {"normalizer", "target_scale",
                                                "target_offset"}
  value = m["value"]
  assert set(value.to_config()) == common | {"x_normalizer", "value_scale", "value_offset"}
  assert (value.dim_x, value.input_dims) == (2, {"x": 2})
  chex.assert_trees_all_equal((value.x_normalizer, value.value_scale, value.value_offset),
                              (value.normalizer, value.target_scale, value.target_offset))
  with pytest.raises(ValueError, match="value_scale must be > 0"):
    models.make_value_model(value.x_normalizer, [float("nan")], (4,))


def test_input_check_names_the_model_and_the_shapes():
  m = example_models()
  cases = [
      (lambda: m["dynamics"](None, jnp.zeros((5, 3)), jnp.zeros((5, 1))),
       r"dynamics model expects x \(\.\.\., 2\) and u \(\.\.\., 1\), got \(5, 3\) and "
       r"\(5, 1\)"),
      (lambda: m["reward"](None, jnp.zeros((2,)), jnp.zeros((2,))),
       r"reward model expects x \(\.\.\., 2\) and u \(\.\.\., 1\), got \(2,\) and \(2,\)"),
      (lambda: m["bc"](None, jnp.zeros((4, 1))), r"BC policy expects x \(\.\.\., 2\)"),
      (lambda: m["dde"](None, jnp.zeros(())), r"data-distance model expects z of dim 2, "
                                              r"got \(\)"),
      (lambda: m["score"].score(None, jnp.zeros((3, 4))),
       r"score model expects z of dim 5 \(xux: dim_x=2, dim_u=1\), got \(3, 4\)"),
      (lambda: m["ensemble"].predict_all(m["ensemble"].init(jax.random.PRNGKey(0)),
                                         jnp.zeros((2,)), jnp.zeros((2,))),
       r"dynamics model expects x"),
  ]
  for call, pattern in cases:
    with pytest.raises(ValueError, match=pattern) as info:
      call()
    assert "[Chex]" in str(info.value.__cause__)  # chex's own report is chained
  with pytest.raises(TypeError, match=r"takes 2 input\(s\) \(x, u\), got 1"):
    m["dynamics"].check_input(jnp.zeros((2,)))


def test_init_follows_the_input_blocks():
  """The first layer sees the concatenated input blocks."""
  m = example_models()
  key = jax.random.PRNGKey(0)
  assert m["dynamics"].input_dims == {"x": 2, "u": 1}
  assert m["bc"].input_dims == {"x": 2}
  assert m["score"].input_dims == {"z": 5}
  first_kernel = lambda model: model.init(key)["params"]["Dense_0"]["kernel"].shape
  assert first_kernel(m["dynamics"]) == (3, 16) and first_kernel(m["reward"]) == (3, 8)
  assert first_kernel(m["bc"]) == (2, 8) and first_kernel(m["dde"]) == (2, 8)
  assert first_kernel(m["score"]) == (5, 16)
  stacked = m["ensemble"].init(key)
  assert stacked["params"]["Dense_0"]["kernel"].shape == (3, 3, 8)
