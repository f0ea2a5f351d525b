"""Noise levels, the level schedule l(k) (SPEC A.6) and the beta schedules, by value."""
import numpy as np
import pytest

import sgp_jax
from sgp_jax import schedules


def _blocks(levels):
  """Lengths of the runs of equal consecutive values."""
  levels = np.asarray(levels)
  edges = np.flatnonzero(np.diff(levels)) + 1
  return np.diff(np.concatenate([[0], edges, [levels.size]])).tolist()


def test_level_blocks_of_spec_a6():
  """L = 10, max_iters = 50: l(k) = round(10 k / 51 - 1/2), blocks 6, 5 x 8, 3 over the
  reference's k = 0..48 (SPEC A.6); our 50th iteration (k = 49) stays on the last level."""
  levels = schedules.level_schedule(50, 10)
  assert levels.dtype == np.int32 and levels.shape == (50,)
  assert _blocks(levels[:49]) == [6, 5, 5, 5, 5, 5, 5, 5, 5, 3]
  assert _blocks(levels) == [6, 5, 5, 5, 5, 5, 5, 5, 5, 4]
  np.testing.assert_array_equal(np.unique(levels), np.arange(10))  # every level, in order
  assert np.all(np.diff(levels) >= 0) and levels[0] == 0 and levels[-1] == 9


def test_level_schedule_rounds_half_to_even():
  """Ties round to the even integer (Python's round), not up: L = 4, max_iters = 7 gives
  4 k / 8 - 1/2 = -0.5, 0, 0.5, 1, 1.5, 2, 2.5 -> -0 (0), 0, 0, 1, 2, 2, 2."""
  np.testing.assert_array_equal(schedules.level_schedule(7, 4), [0, 0, 0, 1, 2, 2, 2])
  # round-half-up would give 0, 0, 1, 1, 2, 2, 3
  assert [round(4 * k / 8 - 0.5) for k in range(7)] == [0, 0, 0, 1, 2, 2, 2]


def test_level_schedule_edges():
  np.testing.assert_array_equal(schedules.level_schedule(5, 1), np.zeros(5))
  np.testing.assert_array_equal(schedules.iteration_levels(4, 3, anneal=False), [2, 2, 2, 2])
  np.testing.assert_array_equal(schedules.iteration_levels(4, 3, anneal=True),
                                schedules.level_schedule(4, 3))
  with pytest.raises(ValueError, match="num_iters"):
    schedules.level_schedule(0, 3)
  with pytest.raises(ValueError, match="num_levels"):
    schedules.level_schedule(3, 0)


def test_beta_schedules():
  np.testing.assert_array_equal(schedules.beta_schedule(4, 2.5), np.full(4, 2.5, np.float32))
  # cosine: beta at k = 0, beta_min at k = K-1, the mean of the two at the midpoint,
  # beta_min + (beta - beta_min) (1 + cos(pi / 4)) / 2 a quarter of the way.
  betas = np.asarray(schedules.beta_schedule(5, 3.0, 1.0, "cosine"))
  np.testing.assert_allclose(betas, [3.0, 1.0 + (1 + np.cos(np.pi / 4)), 2.0,
                                     1.0 + (1 - np.cos(np.pi / 4)), 1.0], rtol=1e-6)
  np.testing.assert_allclose(schedules.beta_schedule(1, 3.0, 1.0, "cosine"), [3.0])
  with pytest.raises(ValueError, match="beta_schedule"):
    schedules.beta_schedule(3, 1.0, kind="linear")


def test_sigma_levels_by_value():
  np.testing.assert_allclose(schedules.cosine_sigmas(1.0, 0.1, 3), [1.0, 0.55, 0.1], rtol=1e-6)
  np.testing.assert_allclose(schedules.geometric_sigmas(1.0, 0.01, 3), [1.0, 0.1, 0.01],
                             rtol=1e-6)
  np.testing.assert_allclose(schedules.cosine_sigmas(0.5, 0.1, 1), [0.5])
  assert sgp_jax.cosine_sigmas is schedules.cosine_sigmas  # the public names still work
  assert sgp_jax.geometric_sigmas is schedules.geometric_sigmas
  with pytest.raises(ValueError, match="must not exceed"):
    schedules.cosine_sigmas(0.1, 1.0, 3)
  with pytest.raises(ValueError, match="finite and > 0"):
    schedules.geometric_sigmas(1.0, 0.0, 3)
