"""A damped pendulum with a keypoint state (SPEC B.10), in pure JAX.

Angle theta = 0 is upright (gravity term +m g l sin theta):
  theta_dd = (m g l sin(theta) - b theta_dot + u) / (m l^2),
integrated with semi-implicit Euler at dt. The keypoint state is
x = (l cos theta, l sin theta, theta_dot): the first two coordinates lie on the
circle of radius l, the manifold a transition score must keep plans on.
"""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from sgp_jax.types import Array, PRNGKey, Transitions

DIM_X, DIM_U = 3, 1


@dataclasses.dataclass(frozen=True)
class PendulumParams:
  mass: float = 1.0
  length: float = 0.5
  damping: float = 0.1
  g: float = 9.81
  dt: float = 0.05
  u_max: float = 5.0
  theta_max: float = 6.0
  theta_dot_max: float = 6.0


def step_angle(theta: Array, theta_dot: Array, u: Array,
               params: PendulumParams = PendulumParams()):
  """One semi-implicit Euler step of (theta, theta_dot) with torque u (same shapes)."""
  m, l = params.mass, params.length
  acc = (m * params.g * l * jnp.sin(theta) - params.damping * theta_dot + u) / (m * l ** 2)
  theta_dot = theta_dot + params.dt * acc
  return theta + params.dt * theta_dot, theta_dot


def to_keypoints(theta: Array, theta_dot: Array,
                 params: PendulumParams = PendulumParams()) -> Array:
  """(l cos theta, l sin theta, theta_dot), shape theta.shape + (3,)."""
  l = params.length
  return jnp.stack([l * jnp.cos(theta), l * jnp.sin(theta), theta_dot], -1)


def from_keypoints(x: Array):
  """(theta, theta_dot) of keypoint states x (..., 3)."""
  return jnp.arctan2(x[..., 1], x[..., 0]), x[..., 2]


def step(x: Array, u: Array, params: PendulumParams = PendulumParams()) -> Array:
  """The keypoint dynamics x' for x (..., 3), u (..., 1)."""
  if x.shape[-1] != DIM_X or u.shape[-1] != DIM_U:
    raise ValueError(f"the keypoint pendulum needs x (..., {DIM_X}) and u (..., {DIM_U}), "
                     f"got {x.shape} and {u.shape}.")
  theta, theta_dot = from_keypoints(x)
  theta, theta_dot = step_angle(theta, theta_dot, u[..., 0], params)
  return to_keypoints(theta, theta_dot, params)


def rollout(x0: Array, us: Array, params: PendulumParams = PendulumParams()) -> Array:
  """True keypoint states (T+1, 3) of torques us (T, 1)."""
  def body(x, u):
    x_next = step(x, u, params)
    return x_next, x_next
  _, xs = jax.lax.scan(body, x0, us)
  return jnp.concatenate([x0[None], xs], 0)


def radius(x: Array) -> Array:
  """||(x_0, x_1)||, the keypoint's distance from the pivot, shape x.shape[:-1]."""
  return jnp.linalg.norm(x[..., :2], axis=-1)


def make_dataset(key: PRNGKey, num: int,
                 params: PendulumParams = PendulumParams()) -> Transitions:
  """theta, theta_dot, u uniform in [-6, 6]^2 x [-u_max, u_max]; keypoint transitions."""
  if num < 1:
    raise ValueError(f"num must be >= 1, got {num}.")
  kt, kd, ku = jax.random.split(key, 3)
  theta = jax.random.uniform(kt, (num,), minval=-params.theta_max, maxval=params.theta_max)
  theta_dot = jax.random.uniform(kd, (num,), minval=-params.theta_dot_max,
                                 maxval=params.theta_dot_max)
  u = jax.random.uniform(ku, (num, 1), minval=-params.u_max, maxval=params.u_max)
  theta_next, theta_dot_next = step_angle(theta, theta_dot, u[:, 0], params)
  return Transitions(x=to_keypoints(theta, theta_dot, params), u=u,
                     x_next=to_keypoints(theta_next, theta_dot_next, params))


__all__ = ["DIM_X", "DIM_U", "PendulumParams", "step_angle", "to_keypoints",
           "from_keypoints", "step", "rollout", "radius", "make_dataset"]
