"""Score models (`sgp_jax.models.score`): normalised blocks, the xux alpha mapping of
x' (SPEC A.4.3), raw-unit scores (SPEC A.4.1) and the checks of make_score_model."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sgp_jax import models, networks
from sgp_jax.normalization import Normalizer

X_NORM = Normalizer.from_scale([2.0, 0.5], [1.0, -1.0])
U_NORM = Normalizer.from_scale(4.0, 0.25, dim=1)


def _identity_params(model):
  """Parameters making a one-layer score network the identity: s_bar(z_bar) = z_bar."""
  params = jax.tree_util.tree_map(jnp.zeros_like, model.init(jax.random.PRNGKey(0)))
  params["params"]["Dense_0"]["kernel"] = jnp.eye(model.dim)
  return params


def test_xux_alpha_normalises_x_next_with_k_x_over_alpha():
  """k_x' = k_x / alpha, offset b_x: so x' - b_x in raw units is alpha times larger in
  normalised units, and the raw score of the x' block, s_bar / k_x', is alpha^2 times
  the alpha = 1 one for s_bar = z_bar (while the x and u blocks are unchanged)."""
  alpha = 3.0
  xux = models.make_score_model("xux", X_NORM, U_NORM, [0.1], hidden=(), alpha=alpha)
  plain = models.make_score_model("xux", X_NORM, U_NORM, [0.1], hidden=())
  assert (xux.dim_x, xux.dim_u, xux.dim) == (2, 1, 5)
  np.testing.assert_allclose(xux.normalizer.scale, [2.0, 0.5, 4.0, 2.0 / 3, 0.5 / 3])
  np.testing.assert_allclose(xux.normalizer.offset, [1.0, -1.0, 0.25, 1.0, -1.0])
  z = jnp.array([[3.0, 0.0, 1.25, 2.0, -0.5]])
  z_bar = (z - xux.normalizer.offset) / xux.normalizer.scale
  np.testing.assert_allclose(z_bar[0, 3:], alpha * (z[0, 3:] - X_NORM.offset) / X_NORM.scale,
                             rtol=1e-6)
  s = xux.score(_identity_params(xux), z)
  s_plain = plain.score(_identity_params(plain), z)
  np.testing.assert_allclose(s, z_bar / xux.normalizer.scale, rtol=1e-6)
  np.testing.assert_allclose(s[0, :3], s_plain[0, :3], rtol=1e-6)
  np.testing.assert_allclose(s[0, 3:], alpha ** 2 * s_plain[0, 3:], rtol=1e-6)
  x, u, x_next = xux.split(z)
  assert (x.shape, u.shape, x_next.shape) == ((1, 2), (1, 1), (1, 2))
  np.testing.assert_array_equal(models.score_data(xux, x, u, x_next), z)
  with pytest.raises(ValueError, match="needs x_next"):
    models.score_data(xux, x, u)


def test_noise_levels_choose_the_network():
  one = models.make_score_model("xu", X_NORM, U_NORM, [0.2], (8, 8))
  three = models.make_score_model("xu", X_NORM, U_NORM, [0.4, 0.2, 0.1], (8, 8))
  assert not one.conditioned and one.num_levels == 1
  assert three.conditioned and three.num_levels == 3 and float(three.sigma(2)) == np.float32(0.1)
  assert isinstance(three.net, networks.NoiseConditionedMLP) and isinstance(one.net, networks.MLP)
  params = three.init(jax.random.PRNGKey(0))
  z = jnp.ones((4, 3))
  assert three.score(params, z, 1).shape == (4, 3)
  points = models.point_score_model(Normalizer.from_scale(2.0, 0.0, dim=2), [0.1], (8,))
  assert (points.kind, points.dim_x, points.dim_u, points.dim) == ("xu", 2, 0, 2)


@pytest.mark.parametrize("sigmas, pattern", [
    ([], "sigmas is empty"),
    ([0.3, 0.0], r"finite and > 0; got \[0.0\] at level\(s\) \[1\]"),
    ([0.3, np.nan], "finite and > 0"),
])
def test_bad_noise_levels_are_named(sigmas, pattern):
  with pytest.raises(ValueError, match=pattern):
    models.make_score_model("xu", X_NORM, U_NORM, sigmas, (8,))


def test_bad_kind_and_alpha():
  with pytest.raises(ValueError, match="kind must be 'xu' or 'xux'"):
    models.make_score_model("ux", X_NORM, U_NORM, [0.1], (8,))
  with pytest.raises(ValueError, match="alpha must be > 0"):
    models.make_score_model("xux", X_NORM, U_NORM, [0.1], (8,), alpha=0.0)
