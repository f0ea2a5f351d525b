"""The cart-pole comparison (SPEC B.6, E.5, E.6): a tiny end-to-end run, and the
message when --config.source_workdir lacks the cart-pole models."""
import pytest

from helpers import run_tiny_pipeline, tiny_experiment_config

TINY = {"source_workdir": "", "cartpole.num_candidates": 2000,
        "cartpole.dynamics_epochs": 1, "cartpole.score_epochs": 1,
        "cartpole.score_max_points": 1000, "ensemble.num_members": 2,
        "ensemble.epochs": 1, "dde.epochs": 1, "dde.num_points": 1024,
        "dde.max_points": 200, "dde.hidden": (16, 16), "budget": 4,
        "sampling.num_samples": 2, "sampling.num_elites": 1, "num_seeds": 1, "horizon": 8,
        # one gradient, one ensemble and one sampling planner
        "methods": ("sgp", "ensemble_gradient", "cem_dde")}


@pytest.mark.slow  # the slowest tiny run; not in .ci/run's slow step
def test_tiny_run_writes_summary_and_plots(tmp_path):
  _, _, saved = run_tiny_pipeline("cartpole_comparison", TINY, tmp_path,
                                  ("comparison.png",))
  assert [r["method"] for r in saved["per_method"]] == list(TINY["methods"])
  assert len({r["trajectory_evaluations"] for r in saved["per_method"]}) == 1


def test_says_how_to_make_missing_source_models(tmp_path):
  from experiments.cartpole_comparison import pipeline
  config = tiny_experiment_config("cartpole_comparison",
                                  {"source_workdir": str(tmp_path / "cartpole")})
  with pytest.raises(FileNotFoundError, match="experiments.cartpole_swingup.main "
                                              f"--workdir={tmp_path}/cartpole"):
    pipeline.run(config, str(tmp_path / "run"))
