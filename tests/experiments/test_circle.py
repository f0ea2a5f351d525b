"""Points on a circle + annealed Langevin (SPEC B.3): a tiny end-to-end run, in process
and through the launcher's absl flags."""
import pytest

from helpers import config_flag, run_launcher, run_tiny_pipeline

TINY = {"num_points": 200, "score.hidden": (16, 16), "score.epochs": 2,
        "langevin.num_steps": 10, "eval_points": 50}


@pytest.mark.slow  # .ci/run runs it after the fast suite
def test_tiny_run_writes_summary_and_plots(tmp_path):
  run_tiny_pipeline("circle", TINY, tmp_path, ("circle.png",))


@pytest.mark.slow  # tests/experiments/test_cartpole_swingup.py runs a launcher by default
def test_launcher_subprocess_flags(tmp_path):
  helped = run_launcher("circle", "--help", timeout=120)
  for word in ("--workdir", "--config", "score.sigma_max", "langevin.step_size"):
    assert word in helped.stdout, word
  out = run_launcher("circle", f"--workdir={tmp_path}",
                     *[config_flag(k, v) for k, v in TINY.items()])
  assert out.returncode == 0, out.stderr[-3000:]
  assert "annealed Langevin" in out.stdout
  assert (tmp_path / "summary.json").exists() and (tmp_path / "models" / "score").is_dir()
