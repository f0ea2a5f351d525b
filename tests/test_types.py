"""The shared pytree types (`sgp_jax.types`): validate_transitions names the problem."""
import numpy as np
import pytest

import sgp_jax
from sgp_jax.types import Transitions


def test_validate_transitions():
  rng = np.random.default_rng(0)
  good = Transitions(x=rng.normal(size=(5, 3)).astype(np.float32),
                     u=rng.normal(size=(5, 2)).astype(np.float32),
                     x_next=rng.normal(size=(5, 3)).astype(np.float32),
                     reward=np.zeros(5, np.float32))
  assert sgp_jax.validate_transitions(good) is good
  x_nan = good.x.copy()
  x_nan[3, 0] = np.nan
  cases = [
      (good._replace(x=x_nan), r"data\.x has 1 non-finite value.*row\(s\) \[3\]"),
      (good._replace(reward=np.array([0, 0, np.inf, 0, 0], np.float32)), r"data\.reward"),
      (good._replace(u=good.u[:4]), "mismatched lengths"),
      (good._replace(x_next=good.x_next[:, :2]), "x_next has dim 2"),
      (good._replace(x=good.x[:, 0]), r"data\.x must have 2 dimension"),
      (good._replace(reward=np.zeros((5, 1), np.float32)), r"data\.reward must have 1"),
      (good._replace(u=np.zeros((5, 2), np.int32)), "floating point"),
      (Transitions(x=good.x[:0], u=good.u[:0], x_next=good.x_next[:0]), "empty"),
  ]
  for bad, pattern in cases:
    with pytest.raises(ValueError, match=pattern):
      sgp_jax.validate_transitions(bad)
  with pytest.raises(ValueError, match=r"^train\.x"):
    sgp_jax.validate_transitions(good._replace(x=x_nan), name="train")
