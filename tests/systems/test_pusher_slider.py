"""The quasi-static pusher-slider against hand-derived cases.

Notation: a = box half-width (box x), s = contact offset along the face, c the
limit-surface length, D = c^2 + a^2 + s^2. For a push d along the inward normal at the
point (-a, s) of the -x face, the sticking solution g = M^-1 d gives the box-frame
motion (v_x, v_y, omega) = d / D (c^2 + a^2, -a s, -s), and it sticks while
a |s| <= mu (c^2 + a^2). At the face centre (s = 0), a push d (cos phi, sin phi) sticks
while tan phi <= tan beta = mu (c^2 + a^2) / c^2; beyond, the force is n + mu t and the
pusher slips along the face by d (sin phi - cos phi tan beta).
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sgp_jax.systems import pusher_slider as ps

P = ps.PusherSliderParams()
HX, HY = P.half_extents
C = P.c
STEP = jax.jit(ps.step, static_argnames="params")


def _body(state):
  """The pusher in the box frame, shape (2,)."""
  state = np.asarray(state, np.float64)
  c, s = np.cos(state[2]), np.sin(state[2])
  dx, dy = state[3:] - state[:2]
  return np.array([c * dx + s * dy, -s * dx + c * dy])


def _on_face_minus_x(pose, offset, gap=0.0):
  """A state with the pusher at body (-a - gap, offset) of a box at pose."""
  x, y, th = pose
  c, s = np.cos(th), np.sin(th)
  bx, by = -HX - gap, offset
  return jnp.array([x, y, th, x + c * bx - s * by, y + s * bx + c * by], jnp.float32)


def test_uniform_pressure_c():
  # Mean distance to the centre of a square of side 2: (sqrt 2 + ln(1 + sqrt 2)) / 3.
  np.testing.assert_allclose(ps.uniform_pressure_c(1.0, 1.0),
                             (np.sqrt(2.0) + np.log(1.0 + np.sqrt(2.0))) / 3.0, rtol=1e-12)
  n = 1000
  x = (np.arange(n) + 0.5) / n * 2 * HX - HX
  y = (np.arange(n) + 0.5) / n * 2 * HY - HY
  np.testing.assert_allclose(C, np.hypot(*np.meshgrid(x, y)).mean(), rtol=1e-5)
  assert ps.PusherSliderParams(limit_surface_c=0.03).c == 0.03
  with pytest.raises(ValueError, match="num_substeps"):
    ps.PusherSliderParams(num_substeps=0)


def test_contact_displacement_matches_hand_formulas():
  a, s, d, mu = HX, 0.02, 1e-3, 0.3
  n, t = jnp.array([1.0, 0.0]), jnp.array([0.0, -1.0])
  # Normal push off-centre: sticks (a s = 8.7e-4 <= mu (c^2 + a^2) = 1.3e-3).
  v, om, slip, stick = ps.contact_displacement(jnp.array([-a, s]), n, t,
                                               jnp.array([d, 0.0]), mu, C)
  big_d = C ** 2 + a ** 2 + s ** 2
  np.testing.assert_allclose(v, d / big_d * np.array([C ** 2 + a ** 2, -a * s]), rtol=1e-5)
  np.testing.assert_allclose(om, -s * d / big_d, rtol=1e-5)
  assert bool(stick) and float(slip) == 0.0
  # The same push with mu = 0.1 slides: force n - mu t' with t' = (0, 1) the +y tangent.
  v, om, slip, stick = ps.contact_displacement(jnp.array([-a, s]), n, t,
                                               jnp.array([d, 0.0]), 0.1, C)
  edge = np.array([1.0, -0.1])
  r_perp = np.array([-s, -a])
  m_edge = edge + r_perp * (r_perp @ edge) / C ** 2
  k = d / m_edge[0]
  assert not bool(stick)
  np.testing.assert_allclose(v, k * edge, rtol=1e-5)
  np.testing.assert_allclose(om, k * (r_perp @ edge) / C ** 2, rtol=1e-5)
  np.testing.assert_allclose(slip, -(0.0 - k * m_edge[1]), rtol=1e-5)  # t = (0, -1)


def test_centre_push_translates_without_rotation():
  pose = (0.1, -0.2, 0.4)
  direction = np.array([np.cos(0.4), np.sin(0.4)])
  x0 = _on_face_minus_x(pose, 0.0, gap=0.01)
  x1 = np.asarray(STEP(x0, jnp.asarray(0.03 * direction, jnp.float32)))
  # 0.01 of free travel, then 0.02 of pushing along the face normal.
  np.testing.assert_allclose(x1[:2], np.array(pose[:2]) + 0.02 * direction, atol=1e-6)
  np.testing.assert_allclose(x1[2], pose[2], atol=1e-6)
  np.testing.assert_allclose(_body(x1), [-HX, 0.0], atol=1e-6)
  np.testing.assert_allclose(ps.pusher_gap(jnp.asarray(x1)), 0.0, atol=1e-6)
  # The long side: push the -y face of an unrotated box upwards.
  x0 = jnp.array([0.0, 0.0, 0.0, 0.0, -HY], jnp.float32)
  x1 = np.asarray(STEP(x0, jnp.array([0.0, 0.04])))
  np.testing.assert_allclose(x1, [0.0, 0.04, 0.0, 0.0, -HY + 0.04], atol=1e-6)


def test_off_centre_push_rotates_away_from_the_contact():
  d, s = 1e-3, 0.02
  big_d = C ** 2 + HX ** 2 + s ** 2
  for offset in (s, -s):
    x1 = np.asarray(STEP(_on_face_minus_x((0.0, 0.0, 0.0), offset), jnp.array([d, 0.0])))
    # Above the centre (offset > 0) a +x push turns the box clockwise.
    np.testing.assert_allclose(x1[2], -offset * d / big_d, rtol=2e-2)
    np.testing.assert_allclose(x1[1], -HX * offset * d / big_d, rtol=2e-2)
  x1 = np.asarray(STEP(_on_face_minus_x((0.0, 0.0, 0.0), 0.04), jnp.array([0.05, 0.0])))
  assert x1[2] < -0.05 and x1[0] > 0.02
  # The same push seen from a moved and turned frame gives the same relative motion.
  u = np.array([0.02, 0.01])
  rot = np.array([[np.cos(0.5), -np.sin(0.5)], [np.sin(0.5), np.cos(0.5)]])
  y1 = np.asarray(STEP(_on_face_minus_x((0.1, 0.2, 0.5), 0.04),
                       jnp.asarray(rot @ u, jnp.float32)))
  x1 = np.asarray(STEP(_on_face_minus_x((0.0, 0.0, 0.0), 0.04), jnp.asarray(u)))
  np.testing.assert_allclose(y1[2] - 0.5, x1[2], atol=1e-5)
  np.testing.assert_allclose(y1[:2] - [0.1, 0.2], rot @ x1[:2], atol=1e-6)
  np.testing.assert_allclose(_body(y1), _body(x1), atol=1e-6)


def test_free_pusher_moves_by_exactly_u_and_the_box_stays():
  x0 = jnp.array([0.3, 0.1, 0.7, -0.2, 0.4])
  u = jnp.array([0.03, -0.02])
  x1 = np.asarray(STEP(x0, u))
  np.testing.assert_array_equal(x1[:3], np.asarray(x0[:3]))
  # Up to the float32 rounding of 20 sub-step additions.
  np.testing.assert_allclose(x1[3:], np.asarray(x0[3:] + u), atol=1e-6)
  # Clipped to u_max = 0.05 per component.
  x1 = np.asarray(STEP(x0, jnp.array([0.2, -0.3])))
  np.testing.assert_allclose(x1[3:], np.asarray(x0[3:]) + [0.05, -0.05], atol=1e-6)
  # Stopping 0.005 short of the face: no contact.
  x0 = _on_face_minus_x((0.0, 0.0, 0.0), 0.0, gap=0.02)
  x1 = np.asarray(STEP(x0, jnp.array([0.015, 0.0])))
  np.testing.assert_array_equal(x1[:3], 0.0)
  np.testing.assert_allclose(x1[3:], [-HX - 0.005, 0.0], atol=1e-6)


def test_sticks_inside_the_friction_cone_and_slides_outside():
  tan_beta = P.mu_pusher * (C ** 2 + HX ** 2) / C ** 2  # about 0.52
  x0 = _on_face_minus_x((0.0, 0.0, 0.0), 0.0)
  # Inside (phi = 0.2 rad, tan 0.20): the face coordinate of the pusher stays 0.
  phi = 0.2
  u = 0.04 * np.array([np.cos(phi), np.sin(phi)])
  x1 = np.asarray(STEP(x0, jnp.asarray(u, jnp.float32)))
  np.testing.assert_allclose(_body(x1), [-HX, 0.0], atol=1e-6)
  np.testing.assert_allclose(x1[3:], np.asarray(x0[3:]) + u, atol=1e-4)
  assert x1[2] < -0.01
  # Outside (phi = 0.8 rad, tan 1.03): it slips by d (sin phi - cos phi tan beta).
  phi, d = 0.8, 1e-3
  x1 = np.asarray(STEP(x0, jnp.asarray(d * np.array([np.cos(phi), np.sin(phi)]),
                                       jnp.float32)))
  slip = d * (np.sin(phi) - np.cos(phi) * tan_beta)
  np.testing.assert_allclose(_body(x1), [-HX, slip], rtol=2e-2, atol=1e-7)
  np.testing.assert_allclose(x1[2], -HX * P.mu_pusher * d * np.cos(phi) / C ** 2,
                             rtol=2e-2)
  x1 = np.asarray(STEP(x0, jnp.array([0.03, 0.03])))
  assert _body(x1)[1] > 0.005


def test_keypoints_fit_and_rigidity_error():
  kp0 = np.asarray(ps.keypoints(jnp.zeros(3)))
  np.testing.assert_allclose(kp0, [HX, HY, -HX, HY, -HX, -HY, HX, -HY, 0.0, 0.0],
                             rtol=1e-6)
  poses = jnp.array([[0.3, -0.2, 0.7], [0.0, 0.0, 0.0], [-0.5, 0.1, 3.1], [0.2, 0.2, -3.1]])
  kp = ps.keypoints(poses)
  np.testing.assert_allclose(ps.fit_pose(kp), poses, atol=1e-6)
  np.testing.assert_allclose(ps.rigidity_error(kp), 0.0, atol=1e-6)
  # Moving only the centre by delta: the fit shifts by delta / 5 and keeps theta, so the
  # residual is (delta / 5 at 4 corners, 4 delta / 5 at the centre): 2 delta / sqrt 5.
  delta = 0.01
  np.testing.assert_allclose(ps.rigidity_error(kp.at[:, 8].add(delta)),
                             2 * delta / np.sqrt(5.0), rtol=1e-4)
  np.testing.assert_allclose(ps.rigidity_error(kp.at[:, 9].add(-delta)),
                             2 * delta / np.sqrt(5.0), rtol=1e-4)
  # Scaling about the centre by 1.1 keeps the pose: 0.1 * ||corners|| = 0.2 hypot(a, b).
  np.testing.assert_allclose(ps.rigidity_error(1.1 * kp0), 0.2 * np.hypot(HX, HY),
                             rtol=1e-5)
  state = jnp.array([0.3, -0.2, 0.7, 0.25, -0.3])
  obs = ps.observe(state)
  np.testing.assert_allclose(obs, np.concatenate([kp[0], [0.25, -0.3]]), atol=1e-7)
  np.testing.assert_allclose(ps.state_from_observation(obs), state, atol=1e-6)


def test_step_vmaps_and_has_finite_gradients():
  states = jnp.stack([_on_face_minus_x((0.0, 0.0, 0.0), 0.0),  # centre contact
                      _on_face_minus_x((0.1, 0.2, 0.5), 0.03),  # off-centre contact
                      jnp.array([0.0, 0.0, 0.0, 0.3, 0.3])])   # far away
  us = jnp.array([[0.02, 0.0], [0.02, 0.03], [0.02, 0.0]])
  batched = jax.jit(jax.vmap(ps.step))(states, us)
  for i in range(3):
    np.testing.assert_allclose(batched[i], STEP(states[i], us[i]), rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(batched[0, :3], [0.02, 0.0, 0.0], atol=1e-6)

  jac = jax.jit(jax.vmap(jax.jacfwd(ps.step, argnums=(0, 1))))
  d_state, d_u = jac(states, us)
  assert bool(jnp.all(jnp.isfinite(d_state))) and bool(jnp.all(jnp.isfinite(d_u)))
  # Centre contact: the box and the pusher follow u_x one to one.
  np.testing.assert_allclose(d_u[0, [0, 3], 0], [1.0, 1.0], atol=1e-5)
  # Off-centre: the box turns clockwise more as u_x grows.
  assert d_u[1, 2, 0] < 0.0
  # Far away: the box ignores u and the pusher moves by it.
  np.testing.assert_allclose(d_u[2], np.concatenate([np.zeros((3, 2)), np.eye(2)]),
                             atol=1e-7)
  # Reverse mode at u = 0 on the face, through the keypoint maps: finite.
  g = jax.grad(lambda x, u: jnp.sum(ps.step_observation(ps.observe(x), u) ** 2),
               argnums=(0, 1))(states[0], jnp.zeros(2))
  assert all(bool(jnp.all(jnp.isfinite(gi))) for gi in g)
  g = jax.grad(lambda kp: ps.rigidity_error(kp))(ps.keypoints(jnp.zeros(3)))
  assert bool(jnp.all(jnp.isfinite(g)))


def test_pusher_at_face_sits_at_the_gap():
  pose = jnp.array([[0.1, -0.2, 0.4], [0.0, 0.3, -1.0], [0.0, 0.0, 0.0], [0.2, 0.1, 2.0]])
  params = ps.PusherSliderParams(pusher_radius=0.01)
  gap = jnp.array([0.0, 0.01, 0.02, 0.005])
  pusher = ps.pusher_at_face(pose, jnp.arange(4), jnp.array([0.01, -0.02, 0.0, 0.03]), gap,
                             params)
  gaps = ps.pusher_gap(jnp.concatenate([pose, pusher], -1), params)
  np.testing.assert_allclose(gaps, gap, atol=1e-6)


def test_teleop_dataset_is_the_simulator_and_pushes_the_box():
  params = ps.PusherSliderParams(pusher_radius=0.01)
  ds = ps.make_teleop_dataset(jax.random.PRNGKey(3), 40, 5, params)
  obs, act, nxt = ds.observations, ds.actions, ds.next_observations
  assert obs.shape == nxt.shape == (200, 12) and act.shape == (200, 2)
  np.testing.assert_array_equal(np.nonzero(ds.timeouts)[0], np.arange(4, 200, 5))
  assert np.abs(act).max() <= params.u_max
  # Every row is one simulator step of its command, and episodes chain.
  stepped = jax.jit(jax.vmap(lambda x, u: ps.step_observation(x, u, params)))(obs, act)
  np.testing.assert_allclose(stepped, nxt, atol=1e-5)
  inside = ~ds.timeouts[:-1]
  np.testing.assert_array_equal(obs[1:][inside], nxt[:-1][inside])
  assert np.asarray(ps.rigidity_error(jnp.asarray(nxt[:, :10]), params)).max() < 1e-5
  moved = np.linalg.norm(nxt[:, 8:10] - obs[:, 8:10], axis=1) > 1e-3
  assert 0.2 < moved.mean() < 0.95  # pushes and free moves
