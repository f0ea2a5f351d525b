"""experiments/report.py: RESULTS.md is generated from the committed JSON; paired differences."""
import json
import math
import os
import subprocess
import sys

import pytest

from experiments import report


def test_committed_results_md_and_readme_are_up_to_date(tmp_path):
  out = tmp_path / "RESULTS.md"
  report.write(report.RESULTS_DIR, str(out), readme=None)
  with open(report.RESULTS_MD) as f:
    committed = f.read()
  assert out.read_text() == committed, (
      "experiments/RESULTS.md is stale: run `python -m experiments.report`")
  with open(report.README_MD) as f:
    readme = f.read()
  assert report.update_readme(readme, report.load_results()) == readme, (
      "README.md's results table is stale: run `python -m experiments.report`")


def test_report_does_not_import_jax():
  code = "import sys, experiments.report; sys.exit('jax' in sys.modules)"
  root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
  assert subprocess.run([sys.executable, "-c", code], cwd=root).returncode == 0


def test_paired_difference_by_hand():
  # differences 1, 2, 2, 3: mean 2, sample variance 2/3, standard error sqrt(2/3) / 2
  d = report.paired_difference([1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 1.0, 1.0])
  assert d["n"] == 4
  assert d["mean"] == pytest.approx(2.0)
  assert d["se"] == pytest.approx(math.sqrt(2.0 / 3.0) / 2.0)
  with pytest.raises(ValueError, match="equal-length"):
    report.paired_difference([1.0, 2.0], [1.0])


def _summary(sgp_scores, bc_scores, beta0_scores, sgp_beta=0.2):
  def method(scores, beta=None):
    r = {"score": {"mean": sum(scores) / len(scores), "std": 1.0}, "scores": scores,
         "score_per_seed_mean": [sum(scores[:2]) / 2, sum(scores[2:]) / 2],
         "episode_lengths": [1000] * len(scores), "seconds_including_compile": 12.34,
         "returns": [10 * s for s in scores]}
    if beta is not None:
      r["beta"] = beta
    return r
  return {"levels": {"medium": {
              "data": {"env": "halfcheetah", "level": "medium"},
              "methods": {"sgp": method(sgp_scores, sgp_beta), "beta0": method(beta0_scores, 0.0),
                          "bc": method(bc_scores)}}},
          "protocol": {"num_steps": 1000, "standard_protocol": True,
                       "terminate_when_unhealthy": True},
          "config": {"seed": 0, "env": "halfcheetah",
                     "eval": {"seed": 100, "num_seeds": 2, "episodes_per_seed": 2},
                     "plan": {"betas": {"medium": 0.2}}},
          "versions": {"jax": "0.9.2", "backend": "cpu"}, "total_seconds": 99.0}


def test_add_d4rl_trims_pairs_and_replaces_runs(tmp_path):
  results = tmp_path / "results"
  results.mkdir()
  workdir = tmp_path / "hc_fix"
  workdir.mkdir()
  summary = _summary([50.0, 52.0, 49.0, 55.0], [40.0, 41.0, 45.0, 44.0], [1.0, 2.0, 3.0, 4.0])
  (workdir / "summary.json").write_text(json.dumps(summary))

  paths = report.add_d4rl(str(workdir / "summary.json"), str(results), command="cmd",
                          measured_at_commit="abc1234")
  assert [os.path.basename(p) for p in paths] == ["halfcheetah-medium.json"]
  level = json.loads((results / "d4rl_benchmark" / "halfcheetah-medium.json").read_text())
  assert level["spec_beta"] == 0.2 and len(level["runs"]) == 1
  run = level["runs"][0]
  assert run["id"] == "hc_fix" and run["bc_paired"]
  assert run["evaluation"]["training_seeds"] == [0, 1]
  assert "returns" not in run["methods"]["sgp"]  # trimmed
  assert run["methods"]["bc"]["beta"] is None

  check = report.claim_check(level)
  assert check["sgp"][1] == "sgp" and check["spec_measured"]
  assert check["best"][1] == "bc"
  # SGP - BC per episode: 10, 11, 4, 11 -> mean 9, sample var 34 / 3, se sqrt(34 / 12)
  assert check["diff"]["paired"]
  assert check["diff"]["mean"] == pytest.approx(9.0)
  assert check["diff"]["se"] == pytest.approx(math.sqrt(34.0 / 12.0))
  assert check["verdict"] == "at least matches" and check["beats_beta0_and_ensemble"]

  # The same run id again replaces the run; BC on other reset keys is not paired.
  summary = _summary([30.0, 32.0, 29.0, 35.0], [40.0, 41.0, 45.0, 44.0], [1.0, 2.0, 3.0, 4.0])
  (workdir / "summary.json").write_text(json.dumps(summary))
  report.add_d4rl(str(workdir / "summary.json"), str(results), bc_paired=False)
  level = json.loads((results / "d4rl_benchmark" / "halfcheetah-medium.json").read_text())
  assert len(level["runs"]) == 1
  check = report.claim_check(level)
  assert not check["diff"]["paired"]
  assert check["diff"]["mean"] == pytest.approx(31.5 - 42.5)
  assert check["diff"]["se"] == pytest.approx(math.sqrt(2.0 / 4.0))
  assert check["verdict"] == "below"

  text = report.render(report.load_results(str(results)))
  assert "| halfcheetah-medium |" in text and "(unpaired)" in text
  assert "not paired: BC on other reset keys" in text
