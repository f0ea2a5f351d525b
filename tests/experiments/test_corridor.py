"""The L-shaped corridor (SPEC B.5): a tiny end-to-end run."""
import pytest

from helpers import run_tiny_pipeline

TINY = {"num_candidates": 2000, "dynamics.epochs": 1, "score.epochs": 1,
        "plan.num_iters": 5, "plan.num_seeds": 1, "plan.horizon": 10}


@pytest.mark.slow  # .ci/run runs it after the fast suite
def test_tiny_run_writes_summary_and_plots(tmp_path):
  run_tiny_pipeline("corridor", TINY, tmp_path, ("corridor.png",))
