"""The cart-pole of SPEC B.6 in pure JAX, and its offline data set.

State (p, theta, p_dot, theta_dot): theta = 0 hangs down, theta = pi is upright.
Continuous dynamics with D = m1 + m2 sin^2(theta) (standard equations, the whole
numerator over D; SPEC D):

  p_dd     = (u + m2 sin(theta) (l theta_dot^2 + g cos(theta))) / D
  theta_dd = (-u cos(theta) - m2 l theta_dot^2 cos(theta) sin(theta)
              - (m1 + m2) g sin(theta)) / (D l)

discretised with the explicit midpoint rule.
"""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from sgp_jax.types import Array, PRNGKey, Transitions


@dataclasses.dataclass(frozen=True)
class CartPoleParams:
  m1: float = 10.0
  m2: float = 1.0
  length: float = 0.5
  g: float = 9.81
  dt: float = 0.05
  x_low: tuple = (-5.0, -np.pi, -8.0, -12.0)
  x_high: tuple = (5.0, 1.5 * np.pi, 8.0, 12.0)
  u_max: float = 80.0

  @property
  def goal(self) -> np.ndarray:
    return np.array([0.0, np.pi, 0.0, 0.0], np.float32)


DIM_X, DIM_U = 4, 1


def continuous_dynamics(x: Array, u: Array, params: CartPoleParams = CartPoleParams()) -> Array:
  """dx/dt for x (..., 4) and u (..., 1)."""
  m1, m2, l, g = params.m1, params.m2, params.length, params.g
  theta, p_dot, theta_dot = x[..., 1], x[..., 2], x[..., 3]
  force = u[..., 0]
  s, c = jnp.sin(theta), jnp.cos(theta)
  denom = m1 + m2 * s ** 2
  p_dd = (force + m2 * s * (l * theta_dot ** 2 + g * c)) / denom
  theta_dd = (-force * c - m2 * l * theta_dot ** 2 * c * s - (m1 + m2) * g * s) / (denom * l)
  return jnp.stack([p_dot, theta_dot, p_dd, theta_dd], axis=-1)


def step(x: Array, u: Array, params: CartPoleParams = CartPoleParams()) -> Array:
  """One explicit-midpoint step of length dt."""
  k1 = continuous_dynamics(x, u, params)
  x_mid = x + 0.5 * params.dt * k1
  return x + params.dt * continuous_dynamics(x_mid, u, params)


def rollout(x0: Array, us: Array, params: CartPoleParams = CartPoleParams()) -> Array:
  """True states x_0..x_T, shape (T+1, 4), of actions us (T, 1)."""
  def body(x, u):
    x_next = step(x, u, params)
    return x_next, x_next
  _, xs = jax.lax.scan(body, x0, us)
  return jnp.concatenate([x0[None], xs], 0)


def in_box(x: Array, params: CartPoleParams = CartPoleParams()) -> Array:
  lo, hi = jnp.asarray(params.x_low), jnp.asarray(params.x_high)
  return jnp.all((x >= lo) & (x <= hi), axis=-1)


def box_violation(x: Array, params: CartPoleParams = CartPoleParams()) -> Array:
  """Largest distance outside the data box per state (0 inside), shape x.shape[:-1]."""
  lo, hi = jnp.asarray(params.x_low), jnp.asarray(params.x_high)
  out = jnp.maximum(lo - x, 0.0) + jnp.maximum(x - hi, 0.0)
  return jnp.max(out, axis=-1)


def make_dataset(key: PRNGKey, num_candidates: int,
                 params: CartPoleParams = CartPoleParams()) -> Transitions:
  """Uniform (x, u) in the box; keeps transitions whose x' stays inside (SPEC B.6)."""
  kx, ku = jax.random.split(key)
  lo, hi = jnp.asarray(params.x_low), jnp.asarray(params.x_high)
  x = jax.random.uniform(kx, (num_candidates, DIM_X), minval=lo, maxval=hi)
  u = jax.random.uniform(ku, (num_candidates, DIM_U), minval=-params.u_max,
                         maxval=params.u_max)
  x_next = step(x, u, params)
  keep = np.asarray(in_box(x_next, params))
  return Transitions(x=x[keep], u=u[keep], x_next=x_next[keep])


def terminal_cost(x: Array, params: CartPoleParams = CartPoleParams()) -> Array:
  """(x - x*)^T diag(1, 1, 0.1, 0.1) (x - x*), x* = (0, pi, 0, 0)."""
  err = x - jnp.asarray(params.goal)
  return jnp.sum(jnp.asarray([1.0, 1.0, 0.1, 0.1]) * err ** 2, axis=-1)
