"""Light-dark (SPEC B.4): a tiny end-to-end run."""
import numpy as np
import pytest

from helpers import run_tiny_pipeline

TINY = {"num_candidates": 1000, "score.hidden": (16, 16), "score.epochs": 1,
        "plan.num_iters": 5, "mpc.num_steps": 2, "mpc.num_iters": 3, "mpc.horizon": 5}


@pytest.mark.slow  # .ci/run runs it after the fast suite
def test_tiny_run_writes_summary_and_plots(tmp_path):
  _, _, saved = run_tiny_pipeline("light_dark", TINY, tmp_path, ("light_dark.png",))
  # the reported true rollout is the integrator's of the actions
  row = saved["bvp"][0]
  xs = np.cumsum(np.concatenate([[row["true_states"][0]], row["actions"]]), 0)
  np.testing.assert_allclose(xs, row["true_states"], atol=1e-5)
