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


def _summary(sgp_scores, bc_scores, beta0_scores, sgp_beta=0.2, refs=(None, None)):
  def method(scores, beta=None):
    r = {"score": {"mean": sum(scores) / len(scores), "std": 1.0}, "scores": scores,
         "score_per_seed_mean": [sum(scores[:2]) / 2, sum(scores[2:]) / 2],
         "episode_lengths": [1000] * len(scores), "seconds_including_compile": 12.34,
         "returns": [10 * s for s in scores]}
    if beta is not None:
      r["beta"] = beta
    return r
  methods = {"sgp": method(sgp_scores, sgp_beta) if sgp_scores else None,
             "beta0": method(beta0_scores, 0.0) if beta0_scores else None,
             "bc": method(bc_scores)}
  return {"levels": {"medium": {
              "data": {"env": "halfcheetah", "level": "medium", "ref_min_score": refs[0],
                       "ref_max_score": refs[1]},
              "methods": {k: v for k, v in methods.items() if v is not None}}},
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


def _add(tmp_path, run_id, summary, **kwargs):
  workdir = tmp_path / run_id
  workdir.mkdir(exist_ok=True)
  (workdir / "summary.json").write_text(json.dumps(summary))
  report.add_d4rl(str(workdir / "summary.json"), str(tmp_path / "results"), command="cmd",
                  **kwargs)
  return json.loads(
      (tmp_path / "results" / "d4rl_benchmark" / "halfcheetah-medium.json").read_text())


def test_claim_check_uses_only_the_newest_data_set_with_sgp_at_the_config_beta(tmp_path):
  # Data set 1 (references -100 / 2000): SGP 51.5 far above BC 42.5.
  _add(tmp_path, "old", _summary([50.0, 52.0, 49.0, 55.0], [40.0, 41.0, 45.0, 44.0],
                                 [1.0, 2.0, 3.0, 4.0], refs=(-100.04, 2000.0)))
  # Same references at 0.1 (2000.03): the run joins data set 1.
  level = _add(tmp_path, "old_bc", _summary(None, [90.0, 91.0, 92.0, 93.0], None,
                                            refs=(-100.0, 2000.03)))
  assert [ds["id"] for ds in level["data_sets"]] == ["original"]
  # Data set 2 (references -100 / 2500): SGP 10, 11, 12, 13 against BC 7, 9, 10, 10 and
  # beta0 0, 1, 2, 3; data set 1's BC rows (42.5, 91.5) must not enter.
  data_summary = tmp_path / "data_summary.json"
  data_summary.write_text(json.dumps({
      "env": "halfcheetah", "ref_min_score": -100.0, "ref_max_score": 2500.0,
      "levels": {"medium": {"normalized_score_mean": 36.48, "normalized_score_std": 14.33}}}))
  level = _add(tmp_path, "new", _summary([10.0, 11.0, 12.0, 13.0], [7.0, 9.0, 10.0, 10.0],
                                         [0.0, 1.0, 2.0, 3.0], refs=(-100.0, 2500.0)),
               data_summary_path=str(data_summary), data_commit="abc1234")
  assert [(ds["id"], ds["ref_max_score"]) for ds in level["data_sets"]] == [
      ("original", 2000.0), ("regenerated", 2500.0)]
  assert level["data_sets"][1]["behaviour_score"] == {"mean": 36.5, "std": 14.3}
  assert [r["data_set"] for r in level["runs"]] == ["original", "original", "regenerated"]

  check = report.claim_check(level)
  assert check["data_set"]["id"] == "regenerated"
  assert check["sgp"][0]["id"] == "new" and check["best"][0]["id"] == "new"
  assert check["best"][1] == "bc"
  # SGP - BC per episode: 3, 2, 2, 3 -> mean 2.5, sample var 1/3, se sqrt(1/12)
  assert check["diff"]["mean"] == pytest.approx(2.5)
  assert check["diff"]["se"] == pytest.approx(math.sqrt(1.0 / 12.0))
  assert check["verdict"] == "at least matches" and check["beats_beta0_and_ensemble"]

  # A newer data set with BC only has no SGP row: the check stays on "regenerated".
  level = _add(tmp_path, "newest_bc", _summary(None, [99.0, 99.0, 99.0, 99.0], None,
                                               refs=(-100.0, 3000.0)))
  assert [ds["id"] for ds in level["data_sets"]] == ["original", "regenerated", "regenerated-2"]
  assert report.claim_check(level)["data_set"]["id"] == "regenerated"
  assert report.claim_check(level)["diff"]["mean"] == pytest.approx(2.5)

  # Differences only within a data set: in "original" run old_bc's BC (the later row) pairs
  # with run old's SGP (-40, -39, -43, -38: mean -40, se sqrt(14 / 12)); in "regenerated"
  # run new's rows pair; nothing crosses data sets.
  text = report.render(report.load_results(str(tmp_path / "results")))
  assert text.count("#### Data set `") == 3
  assert "| halfcheetah-medium | regenerated (−100.0 / 2500.0) | 36.5 ± 14.3 |" in text
  diffs = [line.split(" | ") for line in text.splitlines() if line.startswith("| β 0.2 | BC |")]
  assert [(d[2], d[4]) for d in diffs] == [("−40.0 ± 1.1", "paired (runs old, old_bc) |"),
                                           ("2.5 ± 0.3", "paired |")]
  assert "verdicts of halfcheetah medium on the regenerated halfcheetah data set" in text


def test_add_d4rl_refuses_machine_paths(tmp_path):
  workdir = tmp_path / "run"
  workdir.mkdir()
  (workdir / "summary.json").write_text(json.dumps(
      _summary([1.0, 2.0], [1.0, 2.0], [1.0, 2.0], refs=(0.0, 1.0))))
  with pytest.raises(ValueError, match="absolute path"):
    report.add_d4rl(str(workdir / "summary.json"), str(tmp_path / "results"),
                    command="python -m x --workdir=/home/me/runs/run")
  assert not (tmp_path / "results").exists()
  report.check_no_machine_paths({"a": ["runs/x", "m/s", "1 / 2", "https://x.org/a"]}, "ok")


def test_sgp_variants_are_sgp_never_baselines(tmp_path):
  # SGP 10..13 is below BC 20..23 (-10 on every episode); the variant sgp+prior 30, 33, 31, 36
  # beats BC but must not become the best baseline: BC stays it, and the variant gets its own
  # verdict against BC.
  summary = _summary([10.0, 11.0, 12.0, 13.0], [20.0, 21.0, 22.0, 23.0], [0.0, 1.0, 2.0, 3.0],
                     refs=(-100.0, 2500.0))
  methods = summary["levels"]["medium"]["methods"]
  for name, scores in (("sgp+prior", [30.0, 33.0, 31.0, 36.0]),
                       ("sgp+value", [15.0, 15.0, 15.0, 15.0])):
    methods[name] = {**methods["sgp"], "scores": scores,
                     "score": {"mean": sum(scores) / 4, "std": 1.0}}
  log = tmp_path / "run.log"
  log.write_text("".join(f"  medium {name:>20}: 1.0 +- 2.0  ({s} s)\n" for name, s in (
      ("sgp", 61), ("beta0", 62), ("bc", 13), ("sgp+prior", 66), ("sgp+value", 82))))
  level = _add(tmp_path, "variants", summary, log_path=str(log))
  assert {k: r["seconds_including_compile"] for k, r in level["runs"][0]["methods"].items()} == {
      "sgp": 61.0, "beta0": 62.0, "bc": 13.0, "sgp+prior": 66.0, "sgp+value": 82.0}
  assert all(report.is_sgp(k) for k in ("sgp", "sgp@5", "sgp+prior", "sgp+prior+value@0.4"))
  assert not any(report.is_sgp(k) for k in ("bc", "beta0", "cem_score"))

  check = report.claim_check(level)
  assert check["sgp"][1] == "sgp" and check["best"][1] == "bc"
  assert check["diff"]["mean"] == pytest.approx(-10.0) and check["verdict"] == "below"
  # Best variant sgp+prior - BC per episode: 10, 12, 9, 13 -> mean 11, var 10 / 3, se sqrt(10/12)
  assert check["variant"][1] == "sgp+prior" and check["variant_diff"]["paired"]
  assert check["variant_diff"]["mean"] == pytest.approx(11.0)
  assert check["variant_diff"]["se"] == pytest.approx(math.sqrt(10.0 / 12.0))
  assert check["variant_verdict"] == "at least matches"
  # each variant at the configured beta, no pick: sgp+value 15 is below BC 20..23
  assert check["variant_verdicts"] == {"sgp+prior": "at least matches", "sgp+value": "below"}

  results = {report.D4RL: {"halfcheetah-medium": level}}
  measured = report.d4rl_headline(results)[0]["measured"]
  assert measured.startswith("at least matches (not significantly below the best baseline: "
                             "difference + 2 SE ≥ 0) on 0 of 1 levels at the fixed β (0 ahead "
                             "or level, 0 within noise), 1 with the best SGP variant")
  # "at least matches" is the and closed_loop.paired_difference's: not significantly
  # negative, so a difference below 0 by at most 2 SE counts (marked "within noise").
  assert report._verdict({"mean": -1.0, "se": 0.6}) == report.WITHIN_NOISE
  assert report._verdict({"mean": -1.3, "se": 0.6}) == "below"
  assert report._verdict({"mean": -1.0, "se": None}) == "below"
  assert report._matches(report.WITHIN_NOISE) and not report._matches("below")
  assert "below on 1 (below BC on 1 of them)" in measured
  assert ("each variant at the configured β, with no pick, at least matches on (of the levels "
          "where it ran): SGP + BC prior 1 of 1; SGP + terminal value 0 of 1)") in measured
  text = report.render(results)
  assert "| BC 21.5 ± 1.0 | −10.0 ± 0.0 (paired) | below | SGP + BC prior 32.5 ± 1.0 (β 0.2) " \
         "| 11.0 ± 0.9 (paired) | at least matches |" in text
  # Difference tables: the variants are SGP rows against the baselines, never baselines; the
  # variant - SGP differences are in their own table (sgp+prior - sgp: 20, 22, 19, 23).
  diffs = [line.split(" | ")[:3] for line in text.splitlines() if line.startswith("| ")]
  assert ["| SGP + BC prior, β 0.2", "BC", "11.0 ± 0.9"] in diffs
  assert not any(d[1].startswith("SGP") for d in diffs if d[0] in ("| β 0.2",))
  assert ["| SGP + BC prior (β 0.2)", "SGP (β 0.2)", "21.0 ± 0.9"] in diffs
  assert "seconds per method from the run's log" in text


def test_a_baseline_at_its_held_out_beta_competes_and_is_named(tmp_path):
  # CEM + score value's beta picked on held-out episodes (0.6, 3x its configured 0.2): its
  # row is the best baseline (BC 21.5 below it), so SGP is compared with it, and the claim
  # table and the headline say that the baseline's beta was picked.
  summary = _summary([30.0, 31.0, 32.0, 33.0], [20.0, 21.0, 22.0, 23.0], [0.0, 1.0, 2.0, 3.0])
  methods = summary["levels"]["medium"]["methods"]
  methods["cem_score"] = {**methods["beta0"], "beta": 0.6, "scores": [29.0, 30.0, 31.0, 32.0],
                          "score": {"mean": 30.5, "std": 1.0},
                          "beta_selection": {"beta": 0.6, "betas": [0.2, 0.6],
                                             "mean_scores": [4.0, 6.0], "stderrs": [1.0, 1.0],
                                             "num_episodes": 2, "heldout_seed": 200,
                                             "configured_beta": 0.2}}
  level = _add(tmp_path, "tuned", summary)
  assert level["runs"][0]["methods"]["cem_score"]["beta_choice"] == report.HELD_OUT
  check = report.claim_check(level)
  assert check["best"][1] == "cem_score" and check["baselines_held_out_beta"] == ["cem_score"]
  assert check["diff"]["mean"] == pytest.approx(1.0) and check["verdict"] == "at least matches"
  results = report.load_results(str(tmp_path / "results"))
  assert ("the baselines' β picked on held-out episodes on 1 of the 1 levels (each sweep's "
          "key, episodes and per-β means in its run's notes), at their fixed β elsewhere"
          ) in report.d4rl_headline(results)[0]["measured"]
  assert "| CEM + score value 30.5 ± 1.0 (held-out β 0.6) |" in report.render(results)


def test_held_out_beta_and_episode_diagnosis_enter_the_results(tmp_path):
  # SGP's beta picked on held-out episodes (grid 0.2 x (0.3, 1, 3)); its fixed-beta ablation
  # row sgp@0.2; an episode diagnosis of SGP where two of four episodes fell.
  summary = _summary([10.0, 11.0, 12.0, 13.0], [20.0, 21.0, 22.0, 23.0], [0.0, 1.0, 2.0, 3.0],
                     sgp_beta=0.6)
  entry = summary["levels"]["medium"]
  methods = entry["methods"]
  methods["sgp"]["beta_selection"] = {
      "beta": 0.6, "betas": [0.06, 0.2, 0.6], "mean_scores": [1.0, 5.0, 9.0],
      "stderrs": [0.5, 0.5, 0.5], "num_episodes": 2, "heldout_seed": 200,
      "configured_beta": 0.2, "grid_multiples": [0.3, 1.0, 3.0]}
  methods["sgp@0.2"] = {**methods["beta0"], "beta": 0.2, "fixed_beta_ablation": True,
                        "scores": [5.0, 5.0, 5.0, 5.0], "score": {"mean": 5.0, "std": 0.0}}
  # the SGP variant picked on held-out episodes: sgp+prior at 3x the config's beta, its
  # benchmark episodes 2 above BC's on each episode
  methods["sgp_selected"] = {
      **methods["beta0"], "beta": 0.6, "variant": "sgp+prior@0.6",
      "scores": [22.0, 23.0, 24.0, 25.0], "score": {"mean": 23.5, "std": 1.0},
      "variant_selection": {"choice": "sgp+prior@0.6", "candidates": ["sgp", "sgp+prior@0.6"],
                            "mean_scores": [3.0, 7.0], "stderrs": [1.0, None],
                            "num_episodes": 2, "heldout_seed": 200,
                            "heldout_episodes_per_seed": 1}}
  ep = lambda fell, length, dist: {"seed": 0, "score": 1.0, "length": length, "fell": fell,
                                   "plan_error_mean": 0.1, "plan_error_last": 0.4 if fell else 0.2,
                                   "data_distance_mean": 0.1, "data_distance_last": dist}
  entry["episode_diagnostics"] = {"sgp": {
      "method": "sgp", "beta": 0.6, "window": 20, "in_data_distance": 0.15,
      "episodes": [ep(True, 300, 0.3), ep(True, 500, 0.5), ep(False, 1000, 0.1),
                   ep(False, 1000, 0.2)]}}
  # with a termination model: its probability at the last true state, and along the plans
  for e, end_p, plan_p in zip(entry["episode_diagnostics"]["sgp"]["episodes"],
                              (0.9, 0.7, 0.0, 0.2), (0.01, 0.03, 0.0, 0.0)):
    e.update(termination_p_end=end_p, plan_termination_p_last=plan_p)
  level = _add(tmp_path, "sel", summary)
  run = level["runs"][0]
  assert run["methods"]["sgp"]["beta_choice"] == report.HELD_OUT
  assert run["methods"]["sgp@0.2"]["beta_choice"] == "fixed"
  assert run["methods"]["sgp"]["beta_selection"]["betas"] == [0.06, 0.2, 0.6]
  assert run["methods"]["sgp_selected"]["variant"] == "sgp+prior@0.6"
  assert run["methods"]["sgp_selected"]["variant_selection"]["candidates"] == [
      "sgp", "sgp+prior@0.6"]
  digest = run["episode_diagnostics"]["sgp"]
  assert digest["num_fell"] == 2 and digest["fell_lengths"] == [300, 500]
  assert digest["data_distance_last"] == {"fell": 0.4, "survived": 0.15}
  assert digest["plan_error_last"] == {"fell": 0.4, "survived": 0.2}
  assert digest["termination_p_end"] == {"fell": 0.8, "survived": 0.1}
  assert digest["plan_termination_p_last"] == {"fell": 0.02, "survived": 0.0}

  check = report.claim_check(level)
  # The verdict is SGP at the config's beta (0.2, the fixed-beta row); the held-out pick has
  # its own column.
  assert check["sgp"][1] == "sgp@0.2" and check["spec_measured"]
  assert check["held_out_pick"][1] == "sgp"
  # ... and SGP at the held-out beta competes as a variant (its own difference and verdict).
  assert check["variant"][1] == "sgp" and check["variant"][2]["beta"] == 0.6
  # (sgp 10..13 against BC 20..23 on the same episodes: -10 on each, so "below")
  assert check["variant_diff"]["paired"]
  assert check["variant_diff"]["mean"] == pytest.approx(-10.0)
  assert check["variant_verdict"] == "below"
  # The held-out variant pick is not a best-variant candidate; it has its own verdict.
  assert check["selected"][1] == "sgp_selected"
  assert check["selected_diff"]["paired"] and check["selected_diff"]["mean"] == pytest.approx(2.0)
  assert check["selected_verdict"] == "at least matches"
  measured = report.d4rl_headline(report.load_results(str(tmp_path / "results")))[0]["measured"]
  assert ("with the SGP variant picked on held-out episodes before the benchmark episodes "
          "(among SGP; SGP + BC prior at 3× the config's β), 1 of the 1 levels where the pick "
          "ran") in measured
  # Beats beta = 0, but the ensemble penalty was not run: the table says so.
  assert check["beats_beta0_and_ensemble"] and not check["ensemble_penalty_run"]
  assert "ensemble penalty (MOPO-style state variance)" in ", ".join(
      report._label(b) for b in check["baselines_missing"])
  text = report.render(report.load_results(str(tmp_path / "results")))
  assert ("SGP: β 0.6 picked on held-out episodes (key PRNGKey(200), 2 episodes, mean score "
          "± standard error per β: β 0.06: 1.0 ± 0.5; β 0.2: 5.0 ± 0.5; β 0.6: 9.0 ± 0.5)") in text
  assert "2 of 4 episodes fell (at steps 300, 500)" in text
  assert ("SGP variant picked on held-out episodes: SGP + BC prior at β 0.6 picked on held-out "
          "episodes (key PRNGKey(200), 2 episodes, mean score ± standard error per candidate, "
          "each at its configured β unless named: SGP: 3.0 ± 1.0; SGP + BC prior at β 0.6: "
          "7.0)") in text
  assert ("| SGP + BC prior at 3× the config's β 23.5 ± 1.0 (β 0.6): 2.0 ± 0.0 (paired), "
          "at least matches |") in text
  assert "| SGP variant picked on held-out episodes: SGP + BC prior at β 0.6 | 0.6 |" in text
  assert "| SGP at the held-out β 11.5 ± " in text
  assert "yes (β = 0 only: the ensemble penalty was not run)" in text
  assert ("distance to the nearest data point is 0.4 in the episodes that fell, 0.15 in those "
          "that did not") in text
  assert ("The termination model's probability at the last true state is 0.8 in the "
          "episodes that fell, 0.1 in those that did not; the highest along each plan's "
          "predicted states, averaged over those steps, is 0.02 in the episodes that fell, 0.0 "
          "in those that did not.") in text


def test_claim_check_compares_only_models_of_one_training_budget(tmp_path):
  # One data set. Run "short" (models of 20 epochs): SGP 10 below BC 30. Run "long" (100
  # epochs), newer: SGP 50 above its BC 40. The claim rests on "long" alone: the short run's
  # BC never meets the long run's SGP, and its rows are listed under their own budget.
  def with_epochs(summary, dynamics):
    summary["config"].update({name: {"epochs": dynamics // 2} for name in
                              ("reward", "ensemble", "bc")})
    summary["config"].update(dynamics={"epochs": dynamics}, score={"epochs": 2 * dynamics})
    return summary
  _add(tmp_path, "short", with_epochs(_summary([10.0] * 4, [30.0] * 4, [5.0] * 4), 20))
  level = _add(tmp_path, "long",
               with_epochs(_summary([50.0, 51.0, 49.0, 50.0], [40.0] * 4, None), 100))
  assert level["runs"][0]["epochs"]["dynamics"] == 20
  assert report.training_of(level["runs"][1]) == (
      ("dynamics", 100), ("reward", 50), ("score", 200), ("ensemble", 50), ("bc", 50))
  check = report.claim_check(level)
  assert [r["id"] for r in check["runs"]] == ["long"]
  assert check["sgp"][0]["id"] == "long" and check["best"][0]["id"] == "long"
  assert check["diff"]["mean"] == pytest.approx(10.0) and check["verdict"] == "at least matches"
  # beta = 0 ran with the short budget only: not a rival of the long run's SGP, so the
  # "beats beta = 0 and the ensemble penalty" check has nothing to say.
  assert "beats_beta0_and_ensemble" not in check
  text = report.render(report.load_results(str(tmp_path / "results")))
  assert ("| halfcheetah-medium | original (– / –); 100 / 50 / 200 / 50 | – | 50.0 ± 1.0 "
          "(β 0.2) | BC 40.0 ± 1.0 | 10.0 ± 0.4 (paired) | at least matches | – | – | – | – "
          "| – | – | β = 0, ") in text
  assert "(this data set; models of epochs 20 / 10 / 40 / 10 (dynamics / reward / score" in text
  assert "(this data set; models of epochs 100 / 50 / 200 / 50 (dynamics / reward / score" in text


def test_report_labels_every_benchmark_method():
  """The report (which imports no JAX) names every method of the benchmark's table, the
  SGP variants in the benchmark's order."""
  from experiments.d4rl_benchmark import methods
  assert report.SGP_VARIANTS == methods.SGP_VARIANTS
  assert report.SELECTED_VARIANT == methods.SELECTED_VARIANT
  assert set(methods.METHODS) <= set(report.METHOD_LABELS) == set(report.METHOD_ORDER)
  assert report.METHOD_LABELS["sgp+prior+value+termination"] == (
      "SGP + BC prior + terminal value + termination model")
