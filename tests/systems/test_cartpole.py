"""The true cart-pole plant (sgp_jax.systems.cartpole): energy, forcing, the data box."""
import jax
import jax.numpy as jnp
import numpy as np

from sgp_jax.systems import cartpole


def test_cartpole_dynamics_conserve_energy_without_force():
  # With u = 0 and no friction the midpoint rule nearly conserves energy.
  p = cartpole.CartPoleParams()
  def energy(x):
    _, th, pd, thd = x
    # cart + pole (point mass at the tip), theta = 0 hanging down.
    vx = pd + p.length * thd * jnp.cos(th)
    vy = p.length * thd * jnp.sin(th)
    kinetic = 0.5 * p.m1 * pd ** 2 + 0.5 * p.m2 * (vx ** 2 + vy ** 2)
    return kinetic - p.m2 * p.g * p.length * jnp.cos(th)
  x0 = jnp.array([0.0, 2.0, 0.0, 0.0])
  xs = cartpole.rollout(x0, jnp.zeros((40, 1)))
  e = jax.vmap(energy)(xs)
  assert float(jnp.max(jnp.abs(e - e[0]))) < 0.05 * float(jnp.abs(e[0]))
  # and a force accelerates the cart in its direction
  x1 = cartpole.step(jnp.zeros(4), jnp.array([10.0]))
  assert float(x1[2]) > 0


def test_dataset_stays_in_box():
  data = cartpole.make_dataset(jax.random.PRNGKey(0), 2000)
  assert 0 < data.num < 2000
  assert bool(jnp.all(cartpole.in_box(data.x))) and bool(jnp.all(cartpole.in_box(data.x_next)))
  np.testing.assert_allclose(cartpole.step(data.x[:5], data.u[:5]), data.x_next[:5], rtol=1e-6)
