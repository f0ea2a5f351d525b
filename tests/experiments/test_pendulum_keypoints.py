"""Pendulum with keypoint state (SPEC B.10): a tiny end-to-end run."""
import pytest

from helpers import run_tiny_pipeline

TINY = {"num_samples": 1000, "score.hidden": (16, 16), "score.epochs": 1,
        "plan.num_iters": 5, "plan.horizon": 8}


@pytest.mark.slow  # .ci/run runs it after the fast suite
def test_tiny_run_writes_summary_and_plots(tmp_path):
  run_tiny_pipeline("pendulum_keypoints", TINY, tmp_path, ("pendulum.png",))
