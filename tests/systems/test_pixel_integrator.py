"""The image single integrator: render, decode and the true image dynamics (SPEC B.7)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sgp_jax.systems import pixel_integrator as pix

# Largest |decode(render(p)) - p| over the data box [-1, 1]^2 at each image size, with
# the default 0.7-pixel blob (measured: 0.062, 0.0053 and 3e-5; the state image is
# cut off at the field of view, which biases blobs near its edge at N = 8).
STATE_TOLERANCE = {8: 0.07, 16: 0.006, 32: 1e-4}
ACTION_TOLERANCE = 1e-3  # over |u_i| <= u_max: the action image has a wide margin


@pytest.mark.parametrize("size", [8, 16, 32])
def test_render_decode_round_trip_and_true_step(size):
  world = pix.PixelWorld(size=size)
  kx, ku = jax.random.split(jax.random.PRNGKey(size))
  x = jax.random.uniform(kx, (2000, 2), minval=-1.0, maxval=1.0)
  u = jax.random.uniform(ku, (2000, 2), minval=-0.1, maxval=0.1)
  x_img, u_img = pix.render_state(world, x), pix.render_action(world, u)
  assert x_img.shape == (2000, size * size)
  np.testing.assert_allclose(x_img.max(-1), 1.0, atol=0.4)  # a peak-1 blob, sampled
  assert np.abs(pix.decode_state(world, x_img) - x).max() < STATE_TOLERANCE[size]
  assert np.abs(pix.decode_action(world, u_img) - u).max() < ACTION_TOLERANCE
  # The true step of a rendered (x, u) is the rendering of x + u.
  inner = np.abs(np.asarray(x)).max(-1) < 0.8
  stepped = pix.true_step(world, x_img[inner], u_img[inner])
  np.testing.assert_allclose(stepped, pix.render_state(world, (x + u)[inner]),
                             atol=0.05 if size == 8 else 2e-3)


def test_decode_is_differentiable_clips_actions_and_data_avoid_the_hole():
  world = pix.PixelWorld(size=16)
  # d centroid / d position = identity at an interior point.
  jac = jax.jacobian(lambda p: pix.decode_state(world, pix.render_state(world, p)))(
      jnp.array([0.3, -0.2]))
  np.testing.assert_allclose(jac, np.eye(2), atol=5e-3)  # measured 2.4e-3: sampling
  # An action beyond the bound moves by the bound only.
  np.testing.assert_allclose(pix.decode_action(world, pix.render_action(
      world, jnp.array([0.18, -0.03]))), [0.1, -0.03], atol=1e-3)
  images, pos = pix.make_dataset(jax.random.PRNGKey(0), 300, world)
  assert images.x.shape == (300, 256) and pos.x.shape == (300, 2)
  assert np.linalg.norm(pos.x, axis=-1).min() >= world.hole_radius
  np.testing.assert_allclose(images.x_next, pix.render_state(world, pos.x + pos.u),
                             atol=1e-6)
  with pytest.raises(ValueError, match="fields of view"):
    pix.PixelWorld(fov=0.9)
