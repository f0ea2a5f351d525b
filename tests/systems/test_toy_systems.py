"""The pure-JAX toy systems of the issue-3 experiments and their data sets."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sgp_jax.systems import circle, corridor, light_dark, linear, pendulum, toy1d


def test_single_integrator_step_rollout_and_clamp():
  x0, us = jnp.array([0.5, -0.5]), jnp.array([[1.0, 2.0], [-3.0, 0.5]])
  xs = linear.rollout(x0, us, dt=0.1, u_max=1.0)
  np.testing.assert_allclose(xs, [[0.5, -0.5], [0.6, -0.4], [0.5, -0.35]], atol=1e-6)
  np.testing.assert_allclose(linear.step(x0, us[0]), [1.5, 1.5])
  with pytest.raises(ValueError, match="one dim"):
    linear.step(x0, jnp.zeros(3))
  with pytest.raises(ValueError, match="low < high"):
    linear.uniform(jax.random.PRNGKey(0), 3, [1.0], [0.0])


def test_light_dark_data_has_a_hole_and_true_transitions():
  p = light_dark.LightDarkParams()
  data = light_dark.make_dataset(jax.random.PRNGKey(0), 4000)
  r = np.linalg.norm(np.asarray(data.x), axis=-1)
  assert r.min() >= p.hole_radius and 0.8 * 4000 < data.num < 4000
  assert np.abs(np.asarray(data.u)).max() <= p.u_max
  np.testing.assert_allclose(data.x_next, data.x + data.u, atol=1e-6)
  assert bool(light_dark.in_hole(jnp.zeros(2))) and not bool(light_dark.in_hole(
      jnp.array([0.5, 0.0])))


def test_corridor_membership_distance_and_data():
  inside = jnp.array([[0.0, 1.0], [1.5, 0.05], [-0.05, -0.05]])
  outside = jnp.array([[0.5, 0.5], [-0.2, 0.5], [0.5, -0.3]])
  assert bool(jnp.all(corridor.in_corridor(inside)))
  assert not bool(jnp.any(corridor.in_corridor(outside)))
  np.testing.assert_allclose(corridor.distance_outside(inside), 0.0)
  np.testing.assert_allclose(corridor.distance_outside(outside), [0.4, 0.1, 0.2], atol=1e-6)
  data = corridor.make_dataset(jax.random.PRNGKey(1), 4000)
  assert bool(jnp.all(corridor.in_corridor(data.x)))
  assert bool(jnp.all(corridor.in_corridor(data.x_next)))
  np.testing.assert_allclose(data.x_next, corridor.step(data.x, data.u), atol=1e-6)


def test_pendulum_keypoints_stay_on_the_circle_and_equilibria_hold():
  p = pendulum.PendulumParams()
  data = pendulum.make_dataset(jax.random.PRNGKey(2), 500)
  np.testing.assert_allclose(pendulum.radius(data.x), p.length, rtol=1e-5)
  np.testing.assert_allclose(pendulum.radius(data.x_next), p.length, rtol=1e-5)
  np.testing.assert_allclose(data.x_next, pendulum.step(data.x, data.u), atol=1e-5)
  for x in ([p.length, 0.0, 0.0], [-p.length, 0.0, 0.0]):   # upright and hanging
    xs = pendulum.rollout(jnp.array(x), jnp.zeros((20, 1)))
    np.testing.assert_allclose(xs[-1], x, atol=1e-4)
  # gravity pulls away from upright: a small tilt grows
  theta, _ = pendulum.step_angle(jnp.array(0.1), jnp.array(0.0), jnp.array(0.0))
  assert float(theta) > 0.1
  np.testing.assert_allclose(pendulum.from_keypoints(pendulum.to_keypoints(
      jnp.array(2.0), jnp.array(1.5))), (2.0, 1.5), rtol=1e-6)
  with pytest.raises(ValueError, match="keypoint pendulum"):
    pendulum.step(jnp.zeros(2), jnp.zeros(1))


def test_circle_and_toy1d():
  z = circle.sample(jax.random.PRNGKey(3), 100, radius=3.0)
  assert z.shape == (100, 2)
  np.testing.assert_allclose(circle.radial_error(z, 3.0), 0.0, atol=1e-5)
  np.testing.assert_allclose(toy1d.target(jnp.array([0.0, np.pi / 2])), [0.0, np.pi ** 2 / 4],
                             rtol=1e-6)
  x = toy1d.sample_points(jax.random.PRNGKey(4), 3)
  assert x.shape == (3, 1) and float(jnp.max(jnp.abs(x))) <= 1.0
  assert toy1d.grid(num=7).shape == (7, 1)
  with pytest.raises(ValueError):
    circle.sample(jax.random.PRNGKey(0), 0)
