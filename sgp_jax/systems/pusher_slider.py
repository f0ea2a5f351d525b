"""A planar pusher-slider (SPEC B.9): a point or disc pusher and the YCB sugar box.

Model. The quasi-static pusher-slider with an ellipsoidal limit surface:
  - limit surface: Goyal, Ruina & Papadopoulos, "Planar sliding with dry friction,
    part 1: limit surface and moment function", Wear 143 (1991); its ellipsoidal
    approximation as in Lee & Cutkosky (1991) and Howe & Cutkosky, "Practical
    force-motion models for sliding manipulation", IJRR 15(6) (1996);
  - sticking and sliding through the motion cone: Lynch, Maekawa & Tanie,
    "Manipulation and active sensing by pushing using tactile feedback", IROS (1992),
    and Lynch & Mason, "Stable pushing: mechanics, controllability, and planning",
    IJRR 15(6) (1996);
  - the same equations in the form used by Hogan & Rodriguez, "Feedback control of the
    pusher-slider system: a story of hybrid and underactuated contact dynamics",
    WAFR (2016).

Frames. The box frame sits at the box centre; its x axis runs along the short side
(`box_width`, 0.0867 m), its y axis along the long side (`box_length`, 0.1703 m), and
theta is the angle of the box x axis in the world. All contact mechanics is written in
the box frame.

Limit surface. With f_max = mu_g W and m_max = mu_g (W / A) int |r| dA (uniform
pressure over the rectangle), the ellipsoid H(f, m) = |f|^2 / f_max^2 + m^2 / m_max^2
gives a body twist V = (v, omega) parallel to grad H, i.e. V = k (f, m / c^2) with the
length c = m_max / f_max = mean |r| over the rectangle (`limit_surface_c`); the weight W
and the table friction mu_g cancel out of the kinematics.

Contact at a point r on a face with inward normal n and tangent t. With
r_perp = (-r_y, r_x) the moment of a force f is m = r_perp . f, and the velocity of
the box's material point at r is v + omega r_perp = M g for the force direction
g = k f, where M = I + r_perp r_perp^T / c^2 (symmetric positive definite). For a
pusher velocity v_p relative to the box frame:
  - sticking: g = M^-1 v_p = v_p - r_perp (r_perp . v_p) / (c^2 + |r|^2)
    (Sherman-Morrison); valid when g lies in the friction cone |g . t| <= mu_p g . n,
    i.e. when v_p lies in the motion cone spanned by M (n +- mu_p t);
  - sliding: otherwise the force is on the friction-cone edge f = n + s mu_p t, with
    s the sign of g . t, and k = (n . v_p) / (n . M f) so the pusher keeps to the face;
    the box's contact point then moves along the motion-cone edge M f and the pusher
    slips along the face by t . (v_p - k M f).
Then v = g and omega = (r_perp . g) / c^2. Quasi-statics make this homogeneous of
degree one in v_p, so it applies to displacements as well as to velocities.

Discretisation. One `step` executes the clipped command u (|u_i| <= u_max) as
`num_substeps` equal straight-line pusher displacements. In each sub-step the pusher
(a disc of radius `pusher_radius`, 0 for a point) moves freely unless its centre would
enter the box inflated by the radius; then it moves freely up to the entry face (the
face crossed last, from the Liang-Barsky entry times) and the rest of the sub-step
displacement is applied through the contact model above. The box twist is integrated
exactly over the sub-step (the SE(2) exponential) and the pusher is placed on the face,
at its previous face coordinate (sticking) or moved by the slip (sliding). Being
position-controlled, the pusher therefore ends each contact sub-step at the box's
contact point; that differs from the straight-line command only at second order in
the sub-step length.

Simplifications. The inflated box has square corners (exact for a point pusher; a disc
touches a little early near a corner). The contact point is the pusher's face
coordinate clipped to the face. A pusher that starts inside the box is put back onto
the face it is nearest to once it moves towards that face. The model is a piecewise-smooth map
(free / sticking / sliding branches picked by `jnp.where` with safe denominators), so
it is differentiable almost everywhere; at a zero command the box does not respond to
u to first order (the free branch).

State (5,): (x, y, theta) of the box and the pusher centre (px, py), all in the world.
Keypoints (10,): the 4 box corners, counter-clockwise from the (+x, +y) corner of the
box frame, then the centre: (x0, y0, x1, y1, x2, y2, x3, y3, xc, yc). The 12-D planning
state is the keypoints followed by the pusher (`observe`).
"""
from __future__ import annotations

import dataclasses
import math
from typing import Optional

import chex
import jax
import jax.numpy as jnp
import numpy as np

from sgp_jax.types import Array, PRNGKey

DIM_STATE, DIM_OBS, DIM_U = 5, 12, 2
NUM_KEYPOINTS = 5


def uniform_pressure_c(half_x: float, half_y: float) -> float:
  """m_max / f_max of a rectangle of half-sides (half_x, half_y) under uniform pressure.

  The mean distance to the centre over the rectangle: with d = hypot(a, b),
  int_0^a int_0^b |r| dy dx = (2 a b d + a^3 ln((b + d) / a) + b^3 ln((a + d) / b)) / 6,
  divided by the quarter area a b.
  """
  a, b = float(half_x), float(half_y)
  if a <= 0.0 or b <= 0.0:
    raise ValueError(f"the half-sides must be positive, got {a} and {b}.")
  d = math.hypot(a, b)
  integral = (2.0 * a * b * d + a ** 3 * math.log((b + d) / a)
              + b ** 3 * math.log((a + d) / b)) / 6.0
  return integral / (a * b)


@dataclasses.dataclass(frozen=True)
class PusherSliderParams:
  """The box, the pusher, friction and the step discretisation.

  Attributes:
    box_width: side of the box along its x axis (m); the YCB sugar box by default.
    box_length: side of the box along its y axis (m).
    pusher_radius: radius of the pusher disc (m); 0 is a point pusher.
    mu_pusher: pusher-box friction coefficient mu_p.
    limit_surface_c: m_max / f_max (m); None takes the uniform-pressure value.
    u_max: bound on each component of the commanded displacement (m).
    num_substeps: straight-line sub-steps that execute one command.
  """
  box_width: float = 0.0867
  box_length: float = 0.1703
  pusher_radius: float = 0.0
  mu_pusher: float = 0.3
  limit_surface_c: Optional[float] = None
  u_max: float = 0.05
  num_substeps: int = 20

  def __post_init__(self):
    if self.box_width <= 0.0 or self.box_length <= 0.0:
      raise ValueError("box_width and box_length must be positive.")
    if self.pusher_radius < 0.0 or self.mu_pusher < 0.0 or self.u_max <= 0.0:
      raise ValueError("pusher_radius and mu_pusher must be >= 0 and u_max > 0.")
    if self.limit_surface_c is not None and self.limit_surface_c <= 0.0:
      raise ValueError("limit_surface_c must be positive (or None).")
    if int(self.num_substeps) != self.num_substeps or self.num_substeps < 1:
      raise ValueError(f"num_substeps must be an integer >= 1, got {self.num_substeps}.")

  @property
  def half_extents(self) -> tuple:
    return 0.5 * self.box_width, 0.5 * self.box_length

  @property
  def c(self) -> float:
    """The limit-surface length c = m_max / f_max (m)."""
    if self.limit_surface_c is not None:
      return float(self.limit_surface_c)
    return uniform_pressure_c(*self.half_extents)

  def body_points(self) -> np.ndarray:
    """The keypoints in the box frame, shape (5, 2), in the documented order."""
    hx, hy = self.half_extents
    return np.array([[hx, hy], [-hx, hy], [-hx, -hy], [hx, -hy], [0.0, 0.0]])


def _rotate(theta: Array, v: Array) -> Array:
  """R(theta) v for v (..., 2) and theta broadcastable to v.shape[:-1]."""
  c, s = jnp.cos(theta), jnp.sin(theta)
  return jnp.stack([c * v[..., 0] - s * v[..., 1], s * v[..., 0] + c * v[..., 1]], -1)


def _safe_norm(x: Array, axis: int = -1) -> Array:
  """||x|| with a zero (not NaN) gradient at x = 0."""
  sq = jnp.sum(x ** 2, axis=axis)
  pos = sq > 0.0
  return jnp.where(pos, jnp.sqrt(jnp.where(pos, sq, 1.0)), 0.0)


def _perp(v: Array) -> Array:
  return jnp.stack([-v[..., 1], v[..., 0]], -1)


def keypoints(pose: Array, params: PusherSliderParams = PusherSliderParams()) -> Array:
  """The 4 corners and the centre of boxes at poses (..., 3), shape (..., 10)."""
  chex.assert_axis_dimension(pose, -1, 3)
  body = jnp.asarray(params.body_points(), pose.dtype)
  world = pose[..., None, :2] + _rotate(pose[..., None, 2], body)
  return world.reshape(pose.shape[:-1] + (2 * NUM_KEYPOINTS,))


def fit_pose(kp: Array, params: PusherSliderParams = PusherSliderParams()) -> Array:
  """The least-squares rigid pose (..., 3) of keypoint vectors kp (..., 10).

  2-D Procrustes (Kabsch without scaling): the body points p_i have centroid 0, so the
  translation is the keypoint centroid k_bar and theta = atan2(sum p_i x (k_i - k_bar),
  sum p_i . (k_i - k_bar)). A degenerate vector (all keypoints at one place) gets
  theta = 0 with a zero gradient.
  """
  chex.assert_axis_dimension(kp, -1, 2 * NUM_KEYPOINTS)
  k = kp.reshape(kp.shape[:-1] + (NUM_KEYPOINTS, 2))
  body = jnp.asarray(params.body_points(), kp.dtype)
  centre = jnp.mean(k, axis=-2)
  kc = k - centre[..., None, :]
  s_cos = jnp.sum(body[:, 0] * kc[..., 0] + body[:, 1] * kc[..., 1], axis=-1)
  s_sin = jnp.sum(body[:, 0] * kc[..., 1] - body[:, 1] * kc[..., 0], axis=-1)
  ok = s_cos ** 2 + s_sin ** 2 > 0.0
  theta = jnp.where(ok, jnp.arctan2(jnp.where(ok, s_sin, 0.0), jnp.where(ok, s_cos, 1.0)),
                    0.0)
  return jnp.concatenate([centre, theta[..., None]], -1)


def rigidity_error(kp: Array, params: PusherSliderParams = PusherSliderParams()) -> Array:
  """Euclidean distance (...,) of kp (..., 10) to the keypoints of its fitted pose."""
  return _safe_norm(kp - keypoints(fit_pose(kp, params), params))


def observe(state: Array, params: PusherSliderParams = PusherSliderParams()) -> Array:
  """The 12-D planning state (..., 12): box keypoints (10) then pusher xy (2)."""
  chex.assert_axis_dimension(state, -1, DIM_STATE)
  return jnp.concatenate([keypoints(state[..., :3], params), state[..., 3:]], -1)


def state_from_observation(obs: Array,
                           params: PusherSliderParams = PusherSliderParams()) -> Array:
  """The pose state (..., 5) of 12-D observations (..., 12), the pose fitted rigidly."""
  chex.assert_axis_dimension(obs, -1, DIM_OBS)
  return jnp.concatenate([fit_pose(obs[..., :10], params), obs[..., 10:]], -1)


def pusher_gap(state: Array, params: PusherSliderParams = PusherSliderParams()) -> Array:
  """Signed distance (...,) from the pusher's rim to the box; negative when overlapping."""
  chex.assert_axis_dimension(state, -1, DIM_STATE)
  q = _rotate(-state[..., 2], state[..., 3:] - state[..., :2])
  excess = jnp.abs(q) - jnp.asarray(params.half_extents, state.dtype)
  outside = _safe_norm(jnp.maximum(excess, 0.0))
  inside = jnp.minimum(jnp.max(excess, axis=-1), 0.0)
  return outside + inside - params.pusher_radius


# Faces in the box frame: outward normal, tangent (normal turned by +90 degrees), and
# which half-extent lies along the normal (0: x, 1: y).
_FACE_NORMALS = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
_FACE_TANGENTS = np.array([[0.0, 1.0], [-1.0, 0.0], [0.0, -1.0], [1.0, 0.0]])
_FACE_AXIS = np.array([0, 1, 0, 1])


def contact_displacement(r: Array, n: Array, t: Array, d: Array, mu: float, c: float):
  """The box's body displacement when the pusher at r moves by d relative to the box.

  Args:
    r: contact point in the box frame (2,).
    n: inward face normal (2,); t: face tangent (2,).
    d: pusher displacement in the box frame (2,); pushing when n . d > 0.
    mu: pusher-box friction coefficient; c: limit-surface length m_max / f_max.

  Returns:
    (v (2,), omega (), slip (), sticking ()): the box-frame translation and rotation of
    the box, the pusher's slip along t relative to the face (0 when sticking), and
    whether the contact sticks.
  """
  chex.assert_shape([r, n, t, d], [(2,)] * 4)
  c2 = c ** 2
  r_perp = _perp(r)
  v_n = jnp.maximum(jnp.dot(n, d), 0.0)
  g_stick = d - r_perp * jnp.dot(r_perp, d) / (c2 + jnp.dot(r, r))
  g_n, g_t = jnp.dot(g_stick, n), jnp.dot(g_stick, t)
  sticking = jnp.abs(g_t) <= mu * g_n
  edge = n + mu * jnp.where(g_t >= 0.0, 1.0, -1.0) * t
  m_edge = edge + r_perp * jnp.dot(r_perp, edge) / c2
  scale = v_n / jnp.maximum(jnp.dot(n, m_edge), 1e-6)
  g = jnp.where(sticking, g_stick, scale * edge)
  omega = jnp.dot(r_perp, g) / c2
  slip = jnp.where(sticking, 0.0, jnp.dot(t, d - scale * m_edge))
  return g, omega, slip, sticking


def _substep(pose: Array, pusher: Array, du: Array, params: PusherSliderParams):
  """One straight-line pusher displacement du (2,) in the world; returns (pose, pusher)."""
  dtype = pose.dtype
  normals = jnp.asarray(_FACE_NORMALS, dtype)
  tangents = jnp.asarray(_FACE_TANGENTS, dtype)
  half = jnp.asarray(params.half_extents, dtype)
  half_n = half[_FACE_AXIS]
  half_t = half[1 - _FACE_AXIS]
  offset = half_n + params.pusher_radius

  theta = pose[2]
  q = _rotate(-theta, pusher - pose[:2])
  d = _rotate(-theta, du)
  excess = normals @ q - offset
  approach = -(normals @ d)
  inside_end = jnp.all(normals @ (q + d) - offset < 0.0)
  safe_approach = jnp.where(approach > 0.0, approach, 1.0)
  # Entry times of the faces the pusher is outside of; the others rank below, nearest
  # first, so a pusher resting on (or slightly inside) a face picks that face.
  entry = jnp.where(excess > 0.0, excess / safe_approach, excess - 1.0)
  face = jnp.argmax(entry)
  n_out, t = normals[face], tangents[face]
  contact = inside_end & (approach[face] > 0.0)

  tau = jnp.clip(jnp.maximum(excess[face], 0.0) / safe_approach[face], 0.0, 1.0)
  q_hit = q + tau * d
  q_hit = q_hit - (jnp.dot(n_out, q_hit) - offset[face]) * n_out
  r = half_n[face] * n_out + jnp.clip(jnp.dot(t, q_hit), -half_t[face], half_t[face]) * t
  v, omega, slip, _ = contact_displacement(r, -n_out, t, (1.0 - tau) * d,
                                           params.mu_pusher, params.c)
  # The SE(2) exponential of the body twist (v, omega) over the sub-step:
  # displacement sinc(omega / 2) R(theta + omega / 2) v.
  shift = jnp.sinc(omega / (2.0 * jnp.pi)) * _rotate(theta + 0.5 * omega, v)
  pose_c = jnp.concatenate([pose[:2] + shift, (theta + omega)[None]])
  pusher_c = pose_c[:2] + _rotate(pose_c[2], q_hit + slip * t)

  pose = jnp.where(contact, pose_c, pose)
  pusher = jnp.where(contact, pusher_c, pusher + du)
  return pose, pusher


def clip_action(u: Array, params: PusherSliderParams = PusherSliderParams()) -> Array:
  """The executed command: each component clipped to [-u_max, u_max]."""
  return jnp.clip(u, -params.u_max, params.u_max)


def step(state: Array, u: Array, params: PusherSliderParams = PusherSliderParams()) -> Array:
  """The state (5,) after executing the commanded pusher displacement u (2,).

  Single state and action; use jax.vmap for batches.
  """
  chex.assert_shape([state, u], [(DIM_STATE,), (DIM_U,)])
  state = jnp.asarray(state)
  if not jnp.issubdtype(state.dtype, jnp.floating):
    state = state.astype(jnp.float32)
  du = clip_action(u, params).astype(state.dtype) / params.num_substeps

  def body(_, carry):
    return _substep(carry[0], carry[1], du, params)

  pose, pusher = jax.lax.fori_loop(0, int(params.num_substeps), body,
                                   (state[:3], state[3:]))
  return jnp.concatenate([pose, pusher])


def step_observation(obs: Array, u: Array,
                     params: PusherSliderParams = PusherSliderParams()) -> Array:
  """The 12-D dynamics: fit the pose to obs (12,), step with u (2,), observe."""
  chex.assert_shape([obs, u], [(DIM_OBS,), (DIM_U,)])
  return observe(step(state_from_observation(obs, params), u, params), params)


def rollout(state0: Array, us: Array,
            params: PusherSliderParams = PusherSliderParams()) -> Array:
  """States x_0..x_T, shape (T+1, 5), of commands us (T, 2)."""
  chex.assert_shape(state0, (DIM_STATE,))
  chex.assert_rank(us, 2)

  def body(x, u):
    x_next = step(x, u, params)
    return x_next, x_next

  _, xs = jax.lax.scan(body, state0, us)
  return jnp.concatenate([state0[None], xs], 0)


_rollout_batch = jax.jit(jax.vmap(rollout, in_axes=(0, 0, None)), static_argnums=2)


def pusher_at_face(pose: Array, face: Array, offset: Array, gap: Array,
                   params: PusherSliderParams = PusherSliderParams()) -> Array:
  """The pusher centre (..., 2) `gap` (m) outside face `face` of boxes at poses (..., 3).

  face: 0 the +x face, 1 +y, 2 -x, 3 -y (box frame); offset: the face coordinate along
  the face tangent (m). The rim of a disc pusher is `gap` from the face.
  """
  normals = jnp.asarray(_FACE_NORMALS, pose.dtype)[face]
  tangents = jnp.asarray(_FACE_TANGENTS, pose.dtype)[face]
  half_n = jnp.asarray(params.half_extents, pose.dtype)[jnp.asarray(_FACE_AXIS)[face]]
  body = ((half_n + params.pusher_radius + gap)[..., None] * normals
          + jnp.asarray(offset, pose.dtype)[..., None] * tangents)
  return pose[..., :2] + _rotate(pose[..., 2], body)


@dataclasses.dataclass(frozen=True)
class TeleopConfig:
  """Teleoperation-like random pushes (`make_teleop_dataset`).

  Each episode puts the box at a random pose in [pose_low, pose_high] (x, y, theta)
  and the pusher `U[0, max_gap]` outside a random face, at a random face coordinate
  within `face_fraction` of the half face. The operator then pushes for
  `episode_length` steps towards the face, the push direction turned from the inward
  normal by a per-episode angle in [-max_push_angle, max_push_angle] (along or across
  the face), at a per-episode speed in [min_speed, max_speed] per step, with Gaussian
  command noise of std `action_noise` per step; with probability `random_fraction` a
  step is instead a uniform random command in [-u_max, u_max]^2.
  """
  pose_low: tuple = (-0.3, -0.25, -0.6)
  pose_high: tuple = (0.3, 0.1, 0.6)
  max_gap: float = 0.04
  face_fraction: float = 0.9
  max_push_angle: float = 0.7
  min_speed: float = 0.01
  max_speed: float = 0.05
  action_noise: float = 0.01
  random_fraction: float = 0.2

  def __post_init__(self):
    if len(self.pose_low) != 3 or len(self.pose_high) != 3 or any(
        lo > hi for lo, hi in zip(self.pose_low, self.pose_high)):
      raise ValueError(f"pose_low {self.pose_low} and pose_high {self.pose_high} must be "
                       "(x, y, theta) triples with low <= high.")
    if not (0.0 <= self.min_speed <= self.max_speed and self.max_gap >= 0.0
            and 0.0 <= self.face_fraction <= 1.0 and 0.0 <= self.random_fraction <= 1.0
            and self.action_noise >= 0.0):
      raise ValueError("need 0 <= min_speed <= max_speed, max_gap >= 0, action_noise >= 0 "
                       "and face_fraction, random_fraction in [0, 1].")


def teleop_episodes(key: PRNGKey, num_episodes: int, episode_length: int,
                    params: PusherSliderParams = PusherSliderParams(),
                    teleop: TeleopConfig = TeleopConfig()):
  """Random teleoperation-like push episodes (see `TeleopConfig`).

  Returns (states (E, L+1, 5), commands (E, L, 2)): the pose states and the clipped
  commands that produced them.
  """
  if num_episodes < 1 or episode_length < 1:
    raise ValueError(f"need num_episodes >= 1 and episode_length >= 1, got "
                     f"{num_episodes} and {episode_length}.")
  t = teleop
  keys = jax.random.split(key, 8)
  e, n = int(num_episodes), int(episode_length)
  pose = jax.random.uniform(keys[0], (e, 3), minval=jnp.asarray(t.pose_low),
                            maxval=jnp.asarray(t.pose_high))
  face = jax.random.randint(keys[1], (e,), 0, 4)
  half_t = jnp.asarray(params.half_extents)[1 - jnp.asarray(_FACE_AXIS)[face]]
  offset = t.face_fraction * half_t * jax.random.uniform(keys[2], (e,), minval=-1.0,
                                                         maxval=1.0)
  gap = jax.random.uniform(keys[3], (e,), maxval=t.max_gap)
  pusher = pusher_at_face(pose, face, offset, gap, params)
  turn = jax.random.uniform(keys[4], (e,), minval=-t.max_push_angle,
                            maxval=t.max_push_angle)
  speed = jax.random.uniform(keys[5], (e,), minval=t.min_speed, maxval=t.max_speed)
  inward = -_rotate(pose[:, 2], jnp.asarray(_FACE_NORMALS)[face])
  push = speed[:, None] * _rotate(turn, inward)
  noise = t.action_noise * jax.random.normal(keys[6], (e, n, 2))
  k_rand, k_pick = jax.random.split(keys[7])
  uniform = jax.random.uniform(k_rand, (e, n, 2), minval=-params.u_max,
                               maxval=params.u_max)
  pick = jax.random.bernoulli(k_pick, t.random_fraction, (e, n, 1))
  commands = clip_action(jnp.where(pick, uniform, push[:, None] + noise), params)
  states = _rollout_batch(jnp.concatenate([pose, pusher], -1), commands, params)
  return states, commands


def make_teleop_dataset(key: PRNGKey, num_episodes: int, episode_length: int,
                        params: PusherSliderParams = PusherSliderParams(),
                        teleop: TeleopConfig = TeleopConfig()):
  """`teleop_episodes` as a validated offline data set of 12-D observations.

  Returns a `sgp_jax.data.OfflineDataset` with num_episodes * episode_length rows in
  episode order: observations / next_observations (N, 12) (keypoints, pusher), actions
  (N, 2) the executed commands, `timeouts` at each episode's last step. The task gives
  no reward: `rewards` are zeros and metadata["rewards"] says so.
  """
  from sgp_jax.data.dataset import dataset_from_arrays  # numpy-only module
  states, commands = teleop_episodes(key, num_episodes, episode_length, params, teleop)
  obs = np.asarray(observe(states, params))
  n = num_episodes * episode_length
  timeouts = np.zeros((num_episodes, episode_length), bool)
  timeouts[:, -1] = True
  return dataset_from_arrays(
      {"observations": obs[:, :-1].reshape(n, DIM_OBS),
       "next_observations": obs[:, 1:].reshape(n, DIM_OBS),
       "actions": np.asarray(commands).reshape(n, DIM_U),
       "rewards": np.zeros(n, np.float32), "terminals": np.zeros(n, bool),
       "timeouts": timeouts.reshape(n)},
      metadata={"env": "pusher_slider", "generator": "teleop", "rewards": "not given",
                "num_episodes": int(num_episodes), "episode_length": int(episode_length),
                "params": dataclasses.asdict(params), "teleop": dataclasses.asdict(teleop)},
      name="pusher-slider teleop data")


__all__ = ["DIM_STATE", "DIM_OBS", "DIM_U", "NUM_KEYPOINTS", "PusherSliderParams",
           "uniform_pressure_c", "keypoints", "fit_pose", "rigidity_error", "observe",
           "state_from_observation", "pusher_gap", "contact_displacement", "clip_action",
           "step", "step_observation", "rollout", "pusher_at_face", "TeleopConfig",
           "teleop_episodes", "make_teleop_dataset"]
