"""The 1D illustrations (SPEC B.1, B.2): a tiny end-to-end run and the GP baseline."""
import jax.numpy as jnp
import numpy as np
import pytest

from helpers import run_tiny_pipeline

TINY = {"grid_points": 400, "score.epochs": 3, "dde.epochs": 2, "dde.num_points": 512,
        "ensemble.epochs": 2, "ensemble.hidden": (16, 16), "descent.gd_steps": 5,
        "descent.num_levels": 2}


# 8-60 s on 2 cores, so `slow`; .ci/run runs it after the fast suite.
@pytest.mark.slow
def test_tiny_run_writes_summary_and_plots(tmp_path):
  run_tiny_pipeline("simple_1d", TINY, tmp_path, ("likelihood.png", "admissibility.png"))


def test_gp_posterior_interpolates_and_reverts_to_the_prior():
  from experiments.simple_1d.pipeline import gp_posterior
  x = jnp.array([[-0.5], [0.0], [0.7]])
  y = jnp.array([1.0, -2.0, 0.5])
  mean, var = gp_posterior(x, y, jnp.concatenate([x, jnp.array([[5.0]])]), 0.1, 1e-8)
  np.testing.assert_allclose(mean[:3], y, atol=1e-4)
  np.testing.assert_allclose(var, [0, 0, 0, 1], atol=1e-4)
