"""Measured results: the small JSON summaries under experiments/results and RESULTS.md.

`python -m experiments.report` regenerates experiments/RESULTS.md and the results table of
README.md from the JSON files alone (deterministic; imports neither JAX nor the launchers).
`python -m experiments.report --add_d4rl=<workdir>/summary.json` trims a d4rl benchmark
summary into experiments/results/d4rl_benchmark/<env>-<level>.json (one run per level,
replacing a run of the same id; the run joins the data set with its references, or starts a
new one; `--log=<the run's log>` takes each method's seconds from the log's per-method lines)
and regenerates RESULTS.md.
`python -m experiments.report --add_cartpole=<workdir>/summary.json` does the same for the
main job (experiments/results/cartpole_swingup/default.json).

Files under experiments/results/<experiment>/:
  - cards (`simple_1d/default.json`, ...): command, seeds, versions, claims, tables, notes;
    a card with "source": "transcribed" holds figures whose summary was not kept, with the
    commit that measured them;
  - d4rl_benchmark/<env>-<level>.json: one file per level: its data sets, oldest first (id,
    references ref_min_score / ref_max_score, behaviour-data score, how it was made), and a
    list of runs, each naming its data set and holding its methods (score mean/std, seed
    means, beta, episodes, seconds and, for runs added from a summary, the per-episode scores
    that paired differences are computed from). Differences and the claim check never mix
    data sets: a level's claim rests on its newest data set with an SGP row at the config's
    beta;
  - d4rl_data/*.json: cards on the benchmark's data sets (the behaviour policies beside brax's
    published settings), shown in the d4rl section;
  - box_pushing/*.json, pixels/*.json: the launchers' own summaries, with an index.json
    naming their commands.
"""
import argparse
import json
import math
import os
import re
import sys
from typing import Optional

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS_DIR = os.path.join(HERE, "results")
RESULTS_MD = os.path.join(HERE, "RESULTS.md")
README_MD = os.path.join(os.path.dirname(HERE), "README.md")
D4RL = "d4rl_benchmark"
D4RL_DATA = "d4rl_data"  # cards on the benchmark's data sets (the behaviour policies)

DEFAULT_VERSIONS = {"jax": "0.9.2", "flax": "0.12.6", "optax": "0.2.8"}

# The SGP variants' options in the order the benchmark's method names give them
# (d4rl_benchmark/methods.py, SGP_OPTIONS), with their labels.
SGP_OPTION_LABELS = {"+prior": " + BC prior", "+value": " + terminal value",
                     "+termination": " + termination model"}
SGP_VARIANTS = tuple(
    "sgp" + "".join(o for i, o in enumerate(SGP_OPTION_LABELS) if mask >> i & 1)
    for mask in range(2 ** len(SGP_OPTION_LABELS)))
# The row of the SGP variant picked on held-out episodes (d4rl_benchmark/methods.py,
# SELECTED_VARIANT); its "variant" names the pick.
SELECTED_VARIANT = "sgp_selected"
METHOD_LABELS = {
    **{v: "SGP" + "".join(label for option, label in SGP_OPTION_LABELS.items()
                          if option in v) for v in SGP_VARIANTS},
    SELECTED_VARIANT: "SGP variant picked on held-out episodes",
    "beta0": "β = 0", "bc": "BC",
    "ensemble_state_var": "ensemble penalty (MOPO-style state variance)",
    "ensemble_cost_var": "ensemble cost variance (A.9.2)",
    "mppi": "MPPI", "mppi_score": "MPPI + score value", "mppi_state_var": "MPPI + state variance",
    "cem": "CEM", "cem_score": "CEM + score value", "cem_state_var": "CEM + state variance",
}
# Order of the methods in the d4rl tables (unknown ones last, by name).
METHOD_ORDER = SGP_VARIANTS + (
    SELECTED_VARIANT, "beta0", "ensemble_state_var", "ensemble_cost_var", "mppi", "mppi_score", "mppi_state_var",
    "cem", "cem_score", "cem_state_var", "bc")
ENV_ORDER = ("halfcheetah", "hopper", "walker2d", "ant")
LEVEL_ORDER = ("random", "medium", "medium-replay", "medium-expert", "expert")
CLAIM_LEVELS = ("medium", "medium-expert")  # second half of the claim
# The baselines of the claim (SPEC E.9): beta = 0, both ensemble penalties, MPPI and CEM with
# and without the score value, BC.
E9_BASELINES = ("beta0", "ensemble_cost_var", "ensemble_state_var", "mppi", "mppi_score", "cem",
                "cem_score", "bc")
SWEPT = "swept on the evaluation episodes"
HELD_OUT = "picked on held-out episodes"
MEDIUM_REPLAY_NOTE = (
    "medium-replay: our medium-replay data set (episodes of the uniform policy and of every SAC "
    "checkpoint up to the medium one, a stand-in for D4RL's replay buffer) approximates D4RL's; "
    "B.8 gives no medium-replay β, so halfcheetah's config uses medium's.")
VERDICTS = ("holds", "partly", "does not hold")


# ----------------------------------------------------------------------------- numbers
def paired_difference(a, b) -> dict:
  """Per-episode difference a - b: mean, standard error (sample std / sqrt(n)) and n.

  a, b: per-episode scores of two methods on the same episodes (same reset keys), in the
  same order.
  """
  if len(a) != len(b) or len(a) < 2:
    raise ValueError(f"paired_difference needs two equal-length score lists of at least 2 "
                     f"episodes; got {len(a)} and {len(b)}")
  d = [float(x) - float(y) for x, y in zip(a, b)]
  n = len(d)
  mean = sum(d) / n
  var = sum((x - mean) ** 2 for x in d) / (n - 1)
  return {"mean": mean, "se": math.sqrt(var / n), "n": n}


def unpaired_se(a: dict, b: dict) -> Optional[float]:
  """Standard error of the difference of two methods' mean scores, episodes independent."""
  sa, sb = a["score"].get("std"), b["score"].get("std")
  if sa is None or sb is None:
    return None
  return math.sqrt(sa ** 2 / a["num_episodes"] + sb ** 2 / b["num_episodes"])


def fmt(x) -> str:
  """A table cell: numbers as stored, {'mean', 'std'} as 'm ± s', lists comma-joined."""
  if x is None:
    return "–"
  if isinstance(x, bool):
    return "yes" if x else "no"
  if isinstance(x, dict) and "mean" in x:
    return f"{fmt(x['mean'])} ± {fmt(x['std'])}"
  if isinstance(x, (list, tuple)):
    return ", ".join(fmt(v) for v in x)
  if isinstance(x, float):
    s = f"{x:.1f}" if x.is_integer() and abs(x) < 1e6 else repr(x)
    return s.replace("-", "−") if s.startswith("-") else s
  if isinstance(x, int):
    return str(x).replace("-", "−")
  return str(x)


def fmt_beta(beta) -> str:
  return "–" if beta is None else f"{beta:g}".replace("-", "−", 1 if beta < 0 else 0)


def f1(x) -> str:
  return "–" if x is None else f"{x:.1f}".replace("-", "−")


def score_cell(row: dict) -> str:
  s = row["score"]
  return f1(s["mean"]) if s.get("std") is None else f"{f1(s['mean'])} ± {s['std']:.1f}"


def cell(text: str) -> str:
  """Text safe inside a markdown table cell (a literal | is escaped)."""
  return str(text).replace("|", "\\|")


def table(columns, rows) -> list:
  out = ["| " + " | ".join(cell(c) for c in columns) + " |", "|" + "---|" * len(columns)]
  out += ["| " + " | ".join(cell(fmt(c)) for c in row) + " |" for row in rows]
  return out


# ----------------------------------------------------------------------------- loading
def load_results(results_dir: str = RESULTS_DIR) -> dict:
  """{experiment: {name: json}} of every experiments/results/<experiment>/<name>.json."""
  out = {}
  for exp in sorted(os.listdir(results_dir)):
    path = os.path.join(results_dir, exp)
    if not os.path.isdir(path):
      continue
    for name in sorted(os.listdir(path)):
      if name.endswith(".json"):
        with open(os.path.join(path, name)) as f:
          out.setdefault(exp, {})[name[:-5]] = json.load(f)
  return out


def _write_json(path: str, data: dict) -> None:
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, "w") as f:
    json.dump(data, f, indent=1, ensure_ascii=False)
    f.write("\n")


# ----------------------------------------------------------------------------- d4rl
def base_method(key: str) -> str:
  return key.split("@")[0]


def is_sgp(key: str) -> bool:
  """Whether a method row is SGP: the paper's planner ("sgp") or one of its variants
  ("sgp+prior", "sgp+value", ..., also "<name>@<beta>"). SGP rows are never baselines."""
  return base_method(key).startswith("sgp")


def is_sgp_variant(key: str) -> bool:
  """An SGP variant: an SGP row other than the paper's planner ("sgp" at any β)."""
  return is_sgp(key) and base_method(key) != "sgp"


# A path of this machine (/home/..., C:\...) never enters the results: commands and notes name
# paths relative to the repository root (runs/<name>).
_MACHINE_PATH = re.compile(r"(?:^|[\s='\"(,])(?:/(?!/)[\w.~-]+/|[A-Za-z]:\\)")


def check_no_machine_paths(obj, what: str) -> None:
  """Raises ValueError if any string in obj (nested dicts / lists) holds an absolute path."""
  if isinstance(obj, dict):
    for v in obj.values():
      check_no_machine_paths(v, what)
  elif isinstance(obj, (list, tuple)):
    for v in obj:
      check_no_machine_paths(v, what)
  elif isinstance(obj, str) and _MACHINE_PATH.search(obj):
    raise ValueError(f"{what} holds an absolute path of this machine: {obj!r}; give paths "
                     "relative to the repository root (e.g. --workdir=runs/<name>)")


def _ref(x) -> Optional[float]:
  """A reference return as data sets are identified by: rounded to 0.1, as recorded."""
  return None if x is None else round(float(x), 1)


def data_identity(data: dict) -> dict:
  """The data set a run used, from a summary's levels[level]["data"]: env, level, references."""
  return {"env": data.get("env"), "level": data.get("level"),
          "ref_min_score": _ref(data.get("ref_min_score")),
          "ref_max_score": _ref(data.get("ref_max_score"))}


def refs_cell(ds: dict) -> str:
  return f"{f1(ds.get('ref_min_score'))} / {f1(ds.get('ref_max_score'))}"


def behaviour_cell(ds: dict) -> str:
  beh = ds.get("behaviour_score")
  return "–" if not beh else score_cell({"score": beh})


def data_set_label(ds: dict) -> str:
  """'<id> (<ref_min> / <ref_max>)': a data set as tables name it."""
  return f"{ds['id']} ({refs_cell(ds)})"


def find_data_set(level: dict, identity: dict) -> Optional[dict]:
  """The level's data set with identity's references, or None."""
  for ds in level["data_sets"]:
    if (ds.get("ref_min_score"), ds.get("ref_max_score")) == (identity["ref_min_score"],
                                                             identity["ref_max_score"]):
      return ds
  return None


def _new_data_set_id(level: dict) -> str:
  if not level["data_sets"]:
    return "original"
  ids = {ds["id"] for ds in level["data_sets"]}
  k, name = 1, "regenerated"
  while name in ids:
    k += 1
    name = f"regenerated-{k}"
  return name


def data_sets_with_runs(level: dict) -> list:
  """[(data set, its runs)] oldest data set first (the order of level["data_sets"])."""
  ids = [ds["id"] for ds in level["data_sets"]]
  for run in level["runs"]:
    if run.get("data_set") not in ids:
      raise ValueError(f"{level['env']}-{level['level']}: run {run['id']!r} names data set "
                       f"{run.get('data_set')!r}, not one of {ids}")
  return [(ds, [r for r in level["runs"] if r["data_set"] == ds["id"]])
          for ds in level["data_sets"]]


# The learned models whose training epochs a run records (its config's); runs whose models
# had other epochs are never compared with each other. The budget compares the models every
# config had (the value came later).
MODEL_EPOCHS = ("dynamics", "reward", "score", "ensemble", "bc", "value")
BUDGET_MODELS = ("dynamics", "reward", "score", "ensemble", "bc")
EPOCHS_SHOWN = ("dynamics", "reward", "score", "bc")


def training_of(run: dict) -> tuple:
  """A run's training budget, ((model, epochs), ...) over BUDGET_MODELS; () where not
  recorded (transcribed runs)."""
  epochs = run.get("epochs") or {}
  return tuple((name, epochs[name]) for name in BUDGET_MODELS if name in epochs)


def epochs_cell(run: dict) -> str:
  """'100 / 50 / 200 / 50': the epochs of the dynamics, reward, score and BC ('–' unknown)."""
  epochs = run.get("epochs") or {}
  return " / ".join(str(epochs.get(name, "–")) for name in EPOCHS_SHOWN)


def runs_by_training(runs: list) -> list:
  """[[runs with one training budget], ...] in the order each budget first appears."""
  groups = {}
  for run in runs:
    groups.setdefault(training_of(run), []).append(run)
  return list(groups.values())


def claim_runs(runs: list, spec_beta) -> list:
  """The runs of one data set a claim check compares: those with the training budget of the
  newest run with an SGP row at spec_beta on the benchmark episodes (else of the newest
  run), so models trained for other epochs never meet."""
  with_sgp = [r for r in runs if not r["evaluation"].get("held_out") and any(
      base_method(k) == "sgp" and row.get("beta") == spec_beta
      for k, row in r["methods"].items())]
  budget = training_of((with_sgp or runs)[-1])
  return [r for r in runs if training_of(r) == budget]


def behaviour_score_of(data_summary: dict, level: str) -> Optional[dict]:
  """Behaviour-data score (mean / std, 0.1) of one level of a make_dataset summary.json."""
  entry = data_summary.get("levels", {}).get(level)
  if not entry or entry.get("normalized_score_mean") is None:
    return None
  return {"mean": round(float(entry["normalized_score_mean"]), 1),
          "std": round(float(entry["normalized_score_std"]), 1)}


def trim_d4rl_summary(summary: dict, run_id: str = "run", command: Optional[str] = None,
                      measured_at_commit: Optional[str] = None, bc_paired: bool = True) -> dict:
  """The small per-level form of a d4rl benchmark `<workdir>/summary.json`.

  Returns {"<env>-<level>": {"env", "level", "spec_beta", "data", "run"}}, where data is the
  data set's identity (data_identity) and run holds the evaluation protocol, versions and per
  method: beta, score mean/std, seed means, per-episode scores (rounded to 0.001; what paired
  differences are computed from), mean episode length and seconds. bc_paired: whether BC ran
  on the planners' reset keys (true for the benchmark since the BC pairing fix).
  """
  config = summary.get("config", {})
  ev = config.get("eval", {})
  num_seeds = ev.get("num_seeds")
  seed0 = config.get("seed", 0)
  evaluation = {
      "seed": ev.get("seed"), "episodes_per_seed": ev.get("episodes_per_seed"),
      "training_seeds": None if num_seeds is None else list(range(seed0, seed0 + num_seeds)),
      "num_steps": summary.get("protocol", {}).get("num_steps", ev.get("num_steps")),
      "terminate_when_unhealthy": summary.get("protocol", {}).get("terminate_when_unhealthy",
                                                                  True),
      "held_out": False}
  versions = {k: v for k, v in summary.get("versions", {}).items() if k != "backend"}
  if "backend" in summary.get("versions", {}):
    versions["backend"] = summary["versions"]["backend"]
  betas = config.get("plan", {}).get("betas", {})
  out = {}
  for level, entry in summary["levels"].items():
    data = data_identity({"env": config.get("env"), "level": level, **entry.get("data", {})})
    env = data["env"]
    methods = {}
    for name, r in entry["methods"].items():
      scores = [round(float(s), 3) for s in r["scores"]]
      lengths = r.get("episode_lengths")
      row = {"beta": None if base_method(name) == "bc" else r.get("beta"),
             "score": {"mean": round(r["score"]["mean"], 3), "std": round(r["score"]["std"], 3)},
             "num_episodes": len(scores),
             "score_per_seed_mean": [round(float(s), 3) for s in r["score_per_seed_mean"]],
             "mean_episode_length": (round(sum(lengths) / len(lengths), 1) if lengths else None),
             "seconds_including_compile": round(float(r["seconds_including_compile"]), 1),
             "scores": scores}
      if base_method(name) != "bc":
        row["beta_choice"] = "fixed"
      if r.get("beta_selection"):
        row["beta_choice"] = HELD_OUT
        row["beta_selection"] = trim_beta_selection(r["beta_selection"])
      if r.get("variant_selection"):
        row["variant"] = r["variant"]
        row["variant_selection"] = trim_variant_selection(r["variant_selection"])
      methods[name] = row
    run = {"id": run_id, "source": "summary", "measured_at_commit": measured_at_commit,
           "command": command, "evaluation": evaluation, "versions": versions,
           "bc_paired": bool(bc_paired), "methods": methods}
    epochs = {name: config[name]["epochs"] for name in MODEL_EPOCHS
              if "epochs" in config.get(name, {})}
    if epochs:
      run["epochs"] = epochs
    if entry.get("episode_diagnostics"):
      run["episode_diagnostics"] = {m: digest_episode_diagnosis(d)
                                    for m, d in entry["episode_diagnostics"].items()}
    if "total_seconds" in summary:
      run["total_seconds"] = round(float(summary["total_seconds"]), 1)
    out[f"{env}-{level}"] = {"env": env, "level": level, "spec_beta": betas.get(level),
                             "data": data, "run": run}
  return out


def _round(x, digits: int = 3):
  return None if x is None else round(float(x), digits)


def _mean(values) -> Optional[float]:
  values = list(values)
  return _round(sum(values) / len(values)) if values else None


def trim_beta_selection(sel: dict) -> dict:
  """A method's held-out beta sweep (`evaluation.evaluate_methods`'s "beta_selection"):
  the grid, each beta's mean score and standard error over the held-out episodes, the pick."""
  return {"beta": sel["beta"], "betas": [_round(b, 6) for b in sel["betas"]],
          "mean_scores": [_round(m) for m in sel["mean_scores"]],
          "stderrs": [_round(e) for e in sel["stderrs"]],
          "num_episodes": sel.get("num_episodes"), "heldout_seed": sel.get("heldout_seed"),
          "configured_beta": sel.get("configured_beta")}


def trim_variant_selection(sel: dict) -> dict:
  """The held-out choice of an SGP variant (`evaluation.evaluate_methods`'s
  "variant_selection"): the candidates, each one's mean score and standard error over the
  held-out episodes, the pick."""
  return {"choice": sel["choice"], "candidates": list(sel["candidates"]),
          "mean_scores": [_round(m) for m in sel["mean_scores"]],
          "stderrs": [_round(e) for e in sel["stderrs"]],
          "num_episodes": sel.get("num_episodes"), "heldout_seed": sel.get("heldout_seed")}


def digest_episode_diagnosis(diag: dict) -> dict:
  """A method's episode diagnosis (`diagnostics.diagnose_episodes`) in a few numbers: how many
  episodes fell, and the plan error and the executed (x, u)'s distance to the data over the
  last `window` steps of the episodes that fell and of those that did not."""
  eps = diag["episodes"]
  fell = [e for e in eps if e["fell"]]
  kept = [e for e in eps if not e["fell"]]
  return {"beta": diag.get("beta"), "window": diag.get("window"),
          "in_data_distance": _round(diag.get("in_data_distance")),
          "num_episodes": len(eps), "num_fell": len(fell),
          "fell_lengths": sorted(e["length"] for e in fell),
          "data_distance_last": {"fell": _mean(e["data_distance_last"] for e in fell),
                                 "survived": _mean(e["data_distance_last"] for e in kept)},
          "data_distance_mean": {"fell": _mean(e["data_distance_mean"] for e in fell),
                                 "survived": _mean(e["data_distance_mean"] for e in kept)},
          "plan_error_last": {"fell": _mean(e["plan_error_last"] for e in fell),
                              "survived": _mean(e["plan_error_last"] for e in kept)},
          **({key: {"fell": _mean(e[key] for e in fell), "survived": _mean(e[key] for e in kept)}
              for key in ("termination_p_end", "plan_termination_p_last")}
             if eps and "termination_p_end" in eps[0] else {})}


# A benchmark log's line per method: "  <level> <method>: <mean> +- <std>  (<seconds> s)".
_LOG_METHOD_LINE = re.compile(r"^\s*(\S+)\s+(\S+):\s+\S+\s+\+-\s+\S+\s+\((\d+(?:\.\d+)?) s\)\s*$")
SECONDS_FROM_LOG = ("seconds per method from the run's log (the time to the method's finished "
                    "episodes, compile included)")


def log_seconds(log_text: str) -> dict:
  """{(level, method): seconds} from the per-method lines of a d4rl benchmark log: each
  method's seconds including compile, up to its finished episodes."""
  out = {}
  for line in log_text.splitlines():
    m = _LOG_METHOD_LINE.match(line)
    if m:
      out[(m.group(1), m.group(2))] = float(m.group(3))
  return out


def set_seconds_from_log(level: dict, run_id: str, seconds: dict) -> dict:
  """level with run run_id's seconds_including_compile replaced by the log's (log_seconds);
  the run records that its seconds come from the log. Raises ValueError where the log lacks
  one of the run's methods."""
  for run in level["runs"]:
    if run["id"] != run_id:
      continue
    for name, row in run["methods"].items():
      if (level["level"], name) not in seconds:
        raise ValueError(f"the log has no line for {level['level']} {name} (run {run_id})")
      row["seconds_including_compile"] = seconds[(level["level"], name)]
    run["seconds_source"] = SECONDS_FROM_LOG
  return level


def add_d4rl(summary_path: str, results_dir: str = RESULTS_DIR, run_id: Optional[str] = None,
             command: Optional[str] = None, measured_at_commit: Optional[str] = None,
             bc_paired: bool = True, run_note: Optional[str] = None,
             data_summary_path: Optional[str] = None, data_command: Optional[str] = None,
             data_commit: Optional[str] = None, data_note: Optional[str] = None,
             log_path: Optional[str] = None) -> list:
  """Trims summary_path into results_dir/d4rl_benchmark/<env>-<level>.json; returns the
  paths written.

  The run joins the level's data set with its references (summary levels[level]["data"]);
  where the level has none, a new data set is appended (the newest), with the behaviour-data
  score from data_summary_path (the make_dataset summary.json, optional) and data_command /
  data_commit / data_note. A run of the same id is replaced, else the run is appended.
  log_path: the run's log; each method's seconds then come from its per-method line
  (log_seconds), the time to its finished episodes. Nothing with an absolute path is written
  (ValueError).
  """
  with open(summary_path) as f:
    summary = json.load(f)
  data_summary = None
  if data_summary_path:
    with open(data_summary_path) as f:
      data_summary = json.load(f)
  run_id = run_id or os.path.basename(os.path.dirname(os.path.abspath(summary_path)))
  trimmed = trim_d4rl_summary(summary, run_id, command, measured_at_commit, bc_paired)
  levels = {}
  for name, t in trimmed.items():
    path = os.path.join(results_dir, D4RL, name + ".json")
    if os.path.exists(path):
      with open(path) as f:
        level = json.load(f)
    else:
      level = {"experiment": D4RL, "env": t["env"], "level": t["level"], "data_sets": [],
               "spec_beta": t["spec_beta"], "beta_note": "the config's beta", "runs": [],
               "notes": []}
    ds = find_data_set(level, t["data"])
    if ds is None:
      ds = {"id": _new_data_set_id(level), "ref_min_score": t["data"]["ref_min_score"],
            "ref_max_score": t["data"]["ref_max_score"], "behaviour_score": None}
      level["data_sets"].append(ds)
    if data_summary is not None:
      made = data_identity({"env": data_summary.get("env"), "level": t["level"], **data_summary})
      if (made["env"], made["ref_min_score"], made["ref_max_score"]) != (
          t["env"], ds["ref_min_score"], ds["ref_max_score"]):
        raise ValueError(f"{data_summary_path} describes another data set ({made['env']}, "
                         f"references {refs_cell(made)}) than {summary_path}'s {name} "
                         f"({t['env']}, references {refs_cell(ds)})")
      ds["behaviour_score"] = behaviour_score_of(data_summary, t["level"])
    for key, value in (("command", data_command), ("made_at_commit", data_commit),
                       ("note", data_note)):
      if value:
        ds[key] = value
    run = {"id": run_id, "data_set": ds["id"], **{k: v for k, v in t["run"].items() if k != "id"}}
    if run_note:
      run["run_note"] = run_note
    level["runs"] = [r for r in level["runs"] if r["id"] != run_id] + [run]
    if log_path:
      with open(log_path) as f:
        set_seconds_from_log(level, run_id, log_seconds(f.read()))
    check_no_machine_paths(level, f"{name}.json")
    levels[path] = level
  written = []
  for path, level in levels.items():
    _write_json(path, level)
    written.append(path)
  return written


def _benchmark_rows(runs):
  """(run, key, row) of every method row on the benchmark episodes (not held out)."""
  for run in runs:
    if not run["evaluation"].get("held_out"):
      for key, row in run["methods"].items():
        yield run, key, row


def _current_rows(runs) -> dict:
  """{(method, beta): (run, key, row)} of the benchmark rows; a later run's row of the same
  method and beta replaces an earlier one."""
  return {(base_method(key), row.get("beta")): (run, key, row)
          for run, key, row in _benchmark_rows(runs)}


def _from_run(entry, run) -> tuple:
  """entry's (method, beta) row as measured in run where run has it (same-run pairs), else
  entry itself."""
  _, key, row = entry
  for k, r in run["methods"].items():
    if (base_method(k), r.get("beta")) == (base_method(key), row.get("beta")):
      return run, k, r
  return entry


def _pairable(run_a, row_a, run_b, key_b, row_b) -> bool:
  if "scores" not in row_a or "scores" not in row_b:
    return False
  if base_method(key_b) == "bc" and not run_b.get("bc_paired"):
    return False
  ea, eb = run_a["evaluation"], run_b["evaluation"]
  return all(ea.get(k) == eb.get(k) for k in ("seed", "episodes_per_seed", "training_seeds"))


def difference(run_a, row_a, run_b, key_b, row_b) -> dict:
  """SGP row a minus baseline row b (rows of ONE data set): paired over episodes where both
  have per-episode scores on the same reset keys, else the difference of means with an
  unpaired SE."""
  if _pairable(run_a, row_a, run_b, key_b, row_b):
    return {**paired_difference(row_a["scores"], row_b["scores"]), "paired": True}
  return {"mean": row_a["score"]["mean"] - row_b["score"]["mean"],
          "se": unpaired_se(row_a, row_b), "n": None, "paired": False}


def _sgp_choice(current: dict, spec_beta) -> Optional[tuple]:
  """(SGP entry, measured at spec_beta?): the row at spec_beta, else the first fixed β."""
  sgp_rows = [v for (b, _), v in current.items() if b == "sgp"]
  at_spec = [v for v in sgp_rows if v[2].get("beta") == spec_beta]
  fixed = [v for v in sgp_rows if str(v[2].get("beta_choice", "")).startswith("fixed")]
  if at_spec:
    return at_spec[-1], True
  if fixed:
    return fixed[0], False
  return None


def claim_data_set(level: dict) -> Optional[dict]:
  """The data set a level's claim check rests on: the newest with an SGP row at the config's
  β; where none has one, the newest with an SGP row at a fixed β; None without SGP rows."""
  groups = data_sets_with_runs(level)
  choices = [(ds, _sgp_choice(_current_rows(runs), level["spec_beta"])) for ds, runs in groups]
  for want_spec in (True, False):
    for ds, choice in reversed(choices):
      if choice is not None and (choice[1] or not want_spec):
        return ds
  return None


WITHIN_NOISE = "at least matches (within noise)"


def _verdict(diff: dict) -> str:
  """'at least matches' where the difference is not significantly negative (mean + 2 SE >= 0,
  as `closed_loop.paired_difference`): plain where the mean is >= 0, WITHIN_NOISE where it is
  below by at most 2 standard errors; else 'below'."""
  if diff["mean"] >= 0:
    return "at least matches"
  if diff["se"] is not None and diff["mean"] >= -2 * diff["se"]:
    return WITHIN_NOISE
  return "below"


def _matches(verdict) -> bool:
  """Whether a verdict is 'at least matches' (within noise included)."""
  return verdict is not None and verdict.startswith("at least matches")


def claim_check(level: dict) -> dict:
  """The claim on one level: SGP (at the level's beta) against the best baseline, on ONE data
  set (claim_data_set) and one training budget (claim_runs): rows of other data sets, and of
  models trained for other epochs, never enter.

  Rows come from the benchmark episodes (held-out sweeps excluded); a later run's row of the
  same method and beta replaces an earlier one. Baselines are the rows of methods that are
  not SGP (is_sgp), less those swept on the evaluation episodes. SGP's row (the verdict) is
  the paper's planner at spec_beta; where none was measured, the row of the first fixed beta
  (flagged); where the best baseline's run has an SGP row of the same beta, that one
  (same-run pair). 'at least matches' = not significantly below (_verdict). The best SGP variant
  (is_sgp_variant, or the paper's SGP at a beta picked on held-out episodes: highest mean of
  those rows on the data set, not swept on the evaluation episodes, each at its own beta)
  gets its own difference to the same best baseline and verdict ("variant", "variant_diff",
  "variant_verdict"; None without variants). "variant_verdicts": {variant: verdict} of each
  variant at the level's configured beta, no pick involved. "selected", "selected_diff",
  "selected_verdict": the newest row of the SGP variant picked on held-out episodes
  (SELECTED_VARIANT; None where none ran) against the same best baseline: a pick made
  before the benchmark episodes, so no optimism; it is not among the variants above.
  "baselines_held_out_beta": the baselines whose row holds a beta picked on held-out
  episodes (config.eval.select_beta); they compete like any other baseline row.
  """
  ds = claim_data_set(level)
  if ds is None:
    return {"sgp": None, "data_set": None}
  runs = claim_runs([r for r in level["runs"] if r["data_set"] == ds["id"]],
                    level["spec_beta"])
  current = _current_rows(runs)
  sgp, spec_measured = _sgp_choice(current, level["spec_beta"])
  baselines = [v for (b, _), v in current.items()
               if not is_sgp(b) and v[2].get("beta_choice") != SWEPT]
  variants = [v for (b, _), v in current.items()
              if is_sgp_variant(b) and b != SELECTED_VARIANT
              and v[2].get("beta_choice") != SWEPT]
  selected = [v for v in _benchmark_rows(runs) if base_method(v[1]) == SELECTED_VARIANT]
  # The paper's SGP at its held-out beta is a variant of the fixed-beta row (one pick per
  # run; not from `current`: a pick equal to the configured beta shares the fixed row's key).
  held = [v for v in _benchmark_rows(runs)
          if is_sgp(v[1]) and v[2].get("beta_choice") == HELD_OUT]
  variants += [v for v in held if not is_sgp_variant(v[1])]
  run_bases = {base_method(v[1]) for v in baselines}
  out = {"sgp": sgp, "spec_measured": spec_measured, "data_set": ds, "runs": runs,
         "variant": None,
         "variant_diff": None, "variant_verdict": None, "variant_verdicts": {},
         "selected": None, "selected_diff": None, "selected_verdict": None,
         "baselines_missing": [b for b in E9_BASELINES if b not in run_bases],
         "baselines_held_out_beta": sorted({base_method(v[1]) for v in baselines
                                            if v[2].get("beta_choice") == HELD_OUT})}
  if not baselines:
    return {**out, "best": None, "diff": None, "verdict": "no baseline"}
  best = max(baselines, key=lambda v: v[2]["score"]["mean"])
  sgp = out["sgp"] = _from_run(sgp, best[0])
  diff = difference(sgp[0], sgp[2], best[0], best[1], best[2])
  out.update(best=best, diff=diff, verdict=_verdict(diff))
  if variants:
    variant = _from_run(max(variants, key=lambda v: v[2]["score"]["mean"]), best[0])
    vdiff = difference(variant[0], variant[2], best[0], best[1], best[2])
    out.update(variant=variant, variant_diff=vdiff, variant_verdict=_verdict(vdiff))
    out["variant_verdicts"] = {
        base_method(v[1]): _verdict(difference(v[0], v[2], best[0], best[1], best[2]))
        for v in (_from_run(v, best[0]) for v in variants)
        if is_sgp_variant(v[1]) and v[2].get("beta") == level["spec_beta"]
        and v[2].get("beta_choice") != HELD_OUT}
  if selected:
    pick = selected[-1]
    sdiff = difference(pick[0], pick[2], best[0], best[1], best[2])
    out.update(selected=pick, selected_diff=sdiff, selected_verdict=_verdict(sdiff))
  rivals = [v for (b, _), v in current.items() if b in ("beta0", "ensemble_state_var")
            and v[2].get("beta_choice") != SWEPT]
  if level["level"] in CLAIM_LEVELS and rivals:  # (no rival run: no verdict)
    out["beats_beta0_and_ensemble"] = all(
        sgp[2]["score"]["mean"] > v[2]["score"]["mean"] for v in rivals)
    out["ensemble_penalty_run"] = any(base_method(v[1]) == "ensemble_state_var" for v in rivals)
  out["held_out_pick"] = held[-1] if held else None
  return out


def _levels(results: dict):
  levels = list(results.get(D4RL, {}).values())
  def order(lv):
    env = ENV_ORDER.index(lv["env"]) if lv["env"] in ENV_ORDER else len(ENV_ORDER)
    lev = LEVEL_ORDER.index(lv["level"]) if lv["level"] in LEVEL_ORDER else len(LEVEL_ORDER)
    return env, lv["env"], lev, lv["level"]
  return sorted(levels, key=order)


def _label(key: str) -> str:
  base = base_method(key)
  return METHOD_LABELS.get(base, base)


def _method_order(key: str):
  base = base_method(key)
  return (METHOD_ORDER.index(base) if base in METHOD_ORDER else len(METHOD_ORDER), key)


def _candidate_label(name: str, spec_beta=None) -> str:
  """A variant candidate's label ("<variant>" or "<variant>@<beta>"): with spec_beta, an
  explicit beta as a multiple of it ("at 3× the config's β"), else as a value."""
  base, _, beta = name.partition("@")
  if not beta:
    return _label(base)
  if spec_beta:
    return f"{_label(base)} at {float(beta) / spec_beta:.3g}× the config's β"
  return f"{_label(base)} at β {fmt_beta(float(beta))}"


def _row_label(key: str, row: dict) -> str:
  """A run table's method label; the held-out variant pick's names the variant it ran."""
  if row.get("variant"):
    return f"{_label(key)}: {_candidate_label(row['variant'])}"
  return _label(key)


def _variant_label(entry: tuple) -> str:
  """A best-variant row's label; the paper's SGP there is at its held-out beta."""
  _, key, row = entry
  if is_sgp_variant(key) or row.get("beta_choice") != HELD_OUT:
    return _label(key)
  return f"{_label(key)} at the held-out β"


def _diff_cell(diff: dict) -> str:
  se = "–" if diff["se"] is None else f"{diff['se']:.1f}"
  kind = "paired" if diff["paired"] else "unpaired"
  return f"{f1(diff['mean'])} ± {se} ({kind})"


def _rests_on(checks) -> str:
  """Which data set the verdicts rest on, where a level has more than one."""
  newer, on_first = {}, 0
  for lv, c in checks:
    if c["data_set"]["id"] != lv["data_sets"][0]["id"]:
      key = (lv["env"], c["data_set"]["id"], refs_cell(c["data_set"]))
      newer.setdefault(key, []).append(lv["level"])
    else:
      on_first += 1
  if not newer:
    return ""
  parts = [(f"{env}" if len(levels) == len(LEVEL_ORDER) else f"{env} {', '.join(levels)}")
           + f" on the {ds_id} {env} data set (references {refs})"
           for (env, ds_id, refs), levels in newer.items()]
  return ("; verdicts of " + "; ".join(parts)
          + (", the other levels on the earlier data sets" if on_first else ""))


def _budgets(checks) -> str:
  """The training epochs the verdicts rest on, where they differ between levels."""
  count = {}
  for _, c in checks:
    cell = epochs_cell(c["runs"][0])
    count[cell] = count.get(cell, 0) + 1
  if len(count) < 2:
    return ""
  return ("; models trained for " + ", ".join(f"{cell} epochs on {n} level{'s' * (n != 1)}"
                                              for cell, n in count.items())
          + " (dynamics / reward / score / BC)")


def d4rl_headline(results: dict) -> list:
  """Top-table rows for the locomotion benchmark."""
  checks = [(lv, claim_check(lv)) for lv in _levels(results)]
  checks = [(lv, c) for lv, c in checks if c["sgp"] is not None and c["best"] is not None]
  if not checks:
    return []
  n = len(checks)
  count = {v: sum(c["verdict"] == v for _, c in checks)
           for v in ("at least matches", WITHIN_NOISE, "below")}
  second = [c["beats_beta0_and_ensemble"] for lv, c in checks if "beats_beta0_and_ensemble" in c]
  no_ensemble = sum(not c["ensemble_penalty_run"] for lv, c in checks
                    if "beats_beta0_and_ensemble" in c)
  below_bc = sum(c["verdict"] == "below" and base_method(c["best"][1]) == "bc" for _, c in checks)
  matching = count["at least matches"] + count[WITHIN_NOISE]
  with_variant = sum(_matches(c["verdict"]) or _matches(c["variant_verdict"]) for _, c in checks)
  complete = sum(not c["baselines_missing"] for _, c in checks)
  tuned = sum(bool(c["baselines_held_out_beta"]) for _, c in checks)
  num_variant = sum(c["variant"] is not None for _, c in checks)
  picked = [(lv, c) for lv, c in checks if c["selected"] is not None]
  picked_hits = sum(_matches(c["selected_verdict"]) for _, c in picked)
  candidates = []
  for lv, c in picked:
    for name in c["selected"][2]["variant_selection"]["candidates"]:
      label = _candidate_label(name, lv["spec_beta"])
      if label not in candidates:
        candidates.append(label)
  per_variant = {}  # variant -> (levels where it at least matches, levels where it ran)
  for _, c in checks:
    for v, verdict in c.get("variant_verdicts", {}).items():
      hits, ran = per_variant.get(v, (0, 0))
      per_variant[v] = (hits + _matches(verdict), ran + 1)
  fixed_variants = "; ".join(
      f"{METHOD_LABELS.get(v, v)} {hits} of {ran}" for v, (hits, ran) in
      sorted(per_variant.items(), key=lambda kv: _method_order(kv[0])))
  first_verdict = ("holds" if count["below"] == 0 else
                   "does not hold" if count["below"] == n else "partly")
  second_verdict = ("holds" if all(second) else "does not hold" if not any(second)
                    else "partly")
  return [
      {"experiment": "d4rl_benchmark", "spec": "E.9",
       "claim": "SGP-MPC at least matches every baseline (β = 0, ensemble penalties, MPPI and "
                "CEM with and without the score value, BC) on the locomotion levels",
       "measured": f"at least matches (not significantly below the best baseline: "
                   f"difference + 2 SE ≥ 0) on {matching} of {n} levels at the fixed β "
                   f"({count['at least matches']} ahead or level, {count[WITHIN_NOISE]} "
                   f"within noise), {with_variant} with the best SGP variant (any of a BC "
                   f"prior, a terminal value and a termination model, or the held-out β, "
                   f"picked by its mean on the benchmark "
                   f"episodes; measured on {num_variant} levels"
                   + (f"; each variant at the configured β, with no pick, at least matches "
                      f"on (of the levels where it ran): {fixed_variants}"
                      if fixed_variants else "")
                   + ")"
                   + (f"; with the SGP variant picked on held-out episodes before the "
                      f"benchmark episodes (among {'; '.join(candidates)}), {picked_hits} of "
                      f"the {len(picked)} levels where the pick ran" if picked else "")
                   + "; "
                   f"at the fixed β below on {count['below']} (below BC on "
                   f"{below_bc} of them); every E.9 baseline was run on {complete} of the "
                   f"{n} levels' data sets (the claim table's last column names those not run; "
                   "a verdict is against the baselines run); the baselines' β picked on "
                   f"held-out episodes on {tuned} of the {n} levels (each sweep's key, episodes "
                   "and per-β means in its run's notes), at their fixed β elsewhere"
                   + _rests_on(checks)
                   + _budgets(checks),
       "verdict": first_verdict},
      {"experiment": "d4rl_benchmark", "spec": "E.9",
       "claim": "SGP beats β = 0 and the ensemble penalty on medium and medium-expert",
       "measured": f"on {sum(second)} of {len(second)} medium / medium-expert levels" + (
           f" (on {no_ensemble} of them against β = 0 only: the ensemble penalty was not run "
           "on their data set)" if no_ensemble else ""),
       "verdict": second_verdict}]


def _rows_by_method(runs) -> dict:
  """{(method, beta): row} of the SGP and BC benchmark rows not swept on the evaluation
  episodes (the latest run's row)."""
  return {k: v[2] for k, v in _current_rows(runs).items()
          if k[0] in ("sgp", "bc") and v[2].get("beta_choice") != SWEPT}


def regenerated_data_notes(levels: list) -> list:
  """One bullet per env whose levels have more than one data set: how the newer data set
  differs (references, behaviour data) and SGP at the β both data sets have."""
  by_env = {}
  for lv in levels:
    if len(lv["data_sets"]) > 1:
      by_env.setdefault(lv["env"], []).append(lv)
  out = []
  for env, lvs in by_env.items():
    first, last = lvs[0]["data_sets"][0], lvs[0]["data_sets"][-1]
    made = " ".join(x for x in (
        f"`{last['command']}`" if last.get("command") else "",
        f"(code of commit {last['made_at_commit']})" if last.get("made_at_commit") else "") if x)
    text = (f"**{env}: the `{last['id']}` data set** ({made + '; ' if made else ''}"
            f"{last.get('note', 'made after the earlier one')}) differs from the `{first['id']}` "
            f"one: references {refs_cell(last)} (`{first['id']}`: {refs_cell(first)}); "
            "behaviour data ")
    beh = []
    for lv in lvs:
      a, b = lv["data_sets"][0], lv["data_sets"][-1]
      beh.append(f"{lv['level']} {behaviour_cell(b)} (`{a['id']}`: {behaviour_cell(a)})")
    text += ", ".join(beh) + "."
    same = []
    for lv in lvs:
      groups = data_sets_with_runs(lv)
      old, new = _rows_by_method(groups[0][1]), _rows_by_method(groups[-1][1])
      for key in sorted(set(old) & set(new), key=lambda k: (k[0] != "sgp", k[1] or 0.0)):
        name = "SGP" if key[0] == "sgp" else "BC"
        beta = "" if key[1] is None else f" (β {fmt_beta(key[1])})"
        same.append(f"{lv['level']} {name}{beta} {score_cell(new[key])} "
                    f"(`{groups[0][0]['id']}`: {score_cell(old[key])})")
    if same:
      text += (" Results of the same method and β differ as well: " + "; ".join(same) + ".")
    text += (" Both data sets are shown, each level's runs grouped by data set; no difference "
             "or claim check compares rows of the two.")
    out.append(text)
  return out


def render_d4rl(results: dict) -> list:
  levels = _levels(results)
  if not levels:
    return []
  out = ["## d4rl_benchmark: SGP-MPC on D4RL-style brax data sets (SPEC B.8, E.9)", "",
         "Data: `python -m experiments.make_dataset.main --workdir=runs/data_<env> "
         "--config.env=<env>` (hopper and ant: `--config.sac.num_evals=41`; walker2d: 1M SAC "
         "steps at reward scaling 5 and discount 0.997), 50k transitions per level (100k "
         "medium-expert), positional backend. These are the project's own brax data sets and "
         "references (uniform policy, the project's SAC expert): **the scores are not comparable "
         "with published D4RL numbers**. Benchmark: `python -m experiments.d4rl_benchmark.main "
         "--config=experiments/d4rl_benchmark/configs/default.py:<env> "
         "--config.data_dir=runs/data_<env>/datasets` (transcribed runs' commands below in this "
         "form, with the configs those runs used; a run added from its summary shows the command "
         "it ran, at its commit; halfcheetah is the default env): [128]*3 networks, NCSN xu score "
         "(10 geometric levels 0.316 → 0.001), ensemble of 5, BC [256]*2; MPC T = 8, 50 "
         "iterations per env step, warm start, Adam lr 0.1; 16 samples / 4 elites for CEM and "
         "MPPI. Standard protocol: 1000-step episodes, terminate when unhealthy; 3 training seeds "
         "(every model retrained per seed) × 5 episodes, evaluation key `PRNGKey(100)`; scores "
         "are mean ± std over the 15 episodes, then the 3 per-seed means. Held-out sweeps use "
         "`PRNGKey(200)` and 2 episodes per seed. CPU only. A transcribed run's commit is the one "
         "whose results table first recorded its figures. A new run enters with `python -m "
         "experiments.report --add_d4rl=<workdir>/summary.json --commit=<hash> --command='<its "
         "command>'` (one file per level, `experiments/results/d4rl_benchmark/<env>-<level>.json`;"
         " `--data_summary=runs/data_<env>/summary.json` records the behaviour data of a new "
         "data set; `--log=<the run's log>` takes each method's seconds from its log line).",
         "",
         "- **Data sets.** Every run records the data set it ran on: env, level and references "
         "(`ref_min_score` / `ref_max_score`, the returns that normalise its scores). A level's "
         "runs are grouped by data set below; differences are computed only between rows of one "
         "data set, and a level's claim check uses one data set, the newest with an SGP row at "
         "the config's β (the table names it), against the best baseline on that data set. "
         "`earlier`: the data set of the transcribed runs, references as recorded at commit "
         "9fe5789."]
  out += ["- " + n for n in regenerated_data_notes(levels)]
  out += [
         "- **β of halfcheetah medium and medium-expert.** SPEC B.8 (corrected) gives medium "
         "β = 0.2 (β_min 0.1) and medium-expert β = 5 (β_min 1). The transcribed halfcheetah "
         "runs used the swapped mapping: on medium SGP ran at β = 5, on medium-expert at β = 0.2 "
         "(that run also has a β = 5 row), and medium-replay, which takes medium's β, at 5. Runs "
         "measured at commit 9fe5789 or later use the corrected mapping. Every row below is "
         "labelled with the β it ran with; the claim check uses the row at the config's β where "
         "one was measured.",
         "- **BC pairing.** BC episodes of the transcribed runs drew their reset keys from another "
         "split than the planners' episodes, so no SGP-vs-BC difference of those runs is paired. "
         "Runs added from a summary (with per-episode scores) have BC on the planners' reset "
         "keys, and their differences are computed per episode (mean ± standard error), also "
         "between runs of one data set on the same evaluation key, seeds and episodes.",
         "- " + MEDIUM_REPLAY_NOTE,
         "- **Claim check per level:** SGP at the level's β against the best baseline on the "
         "benchmark episodes of the same data set (rows swept on the evaluation episodes left "
         "out). \"at least matches\": the difference is not significantly negative (difference + "
         "2 standard errors ≥ 0; paired where per-episode scores of the same reset keys exist, "
         "else unpaired from the episode stds); \"(within noise)\" marks those below by at "
         "most 2 standard errors. SGP variants (any of a BC prior for the plan, a learned "
         "terminal value and a learned termination model) are SGP, never baselines; no "
         "baseline gets the prior, the value or the termination model; the verdict is the "
         "paper's SGP at the "
         "config's β, and the best variant on the same data set (highest mean, at its own "
         "β; the paper's SGP at the β picked on held-out episodes is a variant too) gets its "
         "own difference to the same best baseline and verdict. The best variant is picked "
         "by its mean on the benchmark episodes themselves, so its verdict leans optimistic; "
         "the fixed-β verdict has no such pick. The SGP variant picked on held-out episodes "
         "(`--config.eval.select_variant`: every candidate runs the same held-out episodes, "
         "`PRNGKey(200)`, 2 per seed, at its configured β or a named one; the best mean then "
         "runs the benchmark episodes) has its own column and verdict: that pick is made before "
         "the benchmark episodes, so it carries no such optimism. Only runs whose models had "
         "the same training "
         "epochs are compared: those of the newest run with an SGP row at the config's β (the "
         "table names their epochs per level).", "",
         "| level | data set (references); epochs (dynamics / reward / score / BC) | "
         "behaviour data | SGP (β) | best baseline | "
         "SGP − best | verdict | best SGP variant (β) | variant − best | variant verdict | "
         "SGP variant picked on held-out episodes (β): − best, verdict | "
         "beats β = 0 and ensemble penalty | SGP (or variant) at held-out β | "
         "E.9 baselines not run on this data set |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
  for lv in levels:
    c = claim_check(lv)
    name = f"{lv['env']}-{lv['level']}"
    ds = c["data_set"] or lv["data_sets"][-1]
    epochs = (f"; {epochs_cell(c['runs'][0])}" if c.get("runs") and c["runs"][0].get("epochs")
              else "")
    head = f"| {name} | {data_set_label(ds)}{epochs} | {behaviour_cell(ds)} |"
    if c["sgp"] is None:
      out.append(f"{head} – | – | – | no SGP row | – | – | – | – | – | – | – |")
      continue
    srow = c["sgp"][2]
    sgp = f"{score_cell(srow)} (β {fmt_beta(srow['beta'])})"
    if not c["spec_measured"]:
      sgp += f" [β {fmt_beta(lv['spec_beta'])} not yet measured]"
    elif srow.get("beta_choice") == SWEPT:
      sgp += " [from a sweep on the evaluation episodes]"
    if lv["level"] == "medium-replay":
      sgp += " ¹"
    if c["best"] is None:
      out.append(f"{head} {sgp} | – | – | no baseline row | – | – | – | – | – | – | – |")
      continue
    brow = c["best"][2]
    best = f"{_label(c['best'][1])} {score_cell(brow)}"
    if brow.get("beta_choice") == HELD_OUT:
      best += f" (held-out β {fmt_beta(brow['beta'])})"
    beats = {True: "yes", False: "no"}.get(c.get("beats_beta0_and_ensemble"), "–")
    if "beats_beta0_and_ensemble" in c and not c["ensemble_penalty_run"]:
      beats += " (β = 0 only: the ensemble penalty was not run)"
    held = c["held_out_pick"]
    held = ("–" if held is None else
            f"{_label(held[1])} {score_cell(held[2])} (β {fmt_beta(held[2]['beta'])})")
    variant = ("– | – | –" if c["variant"] is None else
               f"{_variant_label(c['variant'])} {score_cell(c['variant'][2])} "
               f"(β {fmt_beta(c['variant'][2].get('beta'))}) | {_diff_cell(c['variant_diff'])} "
               f"| {c['variant_verdict']}")
    pick = c["selected"]
    pick = ("–" if pick is None else
            f"{_candidate_label(pick[2]['variant'], lv['spec_beta'])} {score_cell(pick[2])} "
            f"(β {fmt_beta(pick[2].get('beta'))}): {_diff_cell(c['selected_diff'])}, "
            f"{c['selected_verdict']}")
    missing = ", ".join(_label(b) for b in c["baselines_missing"]) or "none"
    out.append(f"{head} {sgp} | {best} | {_diff_cell(c['diff'])} | {c['verdict']} | {variant} "
               f"| {pick} | {beats} | {held} | {missing} |")
  out += ["", "¹ " + MEDIUM_REPLAY_NOTE, ""]
  for name, card in results.get(D4RL_DATA, {}).items():
    out += render_card(card, f"experiments/results/{D4RL_DATA}/{name}.json")
  for lv in levels:
    out += _render_level(lv)
  return out


def _render_level(lv: dict) -> list:
  note = lv["beta_note"] if lv["beta_note"].endswith(".") else lv["beta_note"] + "."
  out = [f"### {lv['env']}-{lv['level']}", "",
         f"β: {note}" + (f" Config β: {fmt_beta(lv['spec_beta'])}."
                         if lv.get("spec_beta") is not None else "")]
  if lv["level"] == "medium-replay":
    out += ["", MEDIUM_REPLAY_NOTE]
  groups = data_sets_with_runs(lv)
  if len(groups) > 1:
    chosen = claim_data_set(lv)
    out += ["", f"{len(groups)} data sets, shown one after the other (oldest first); the claim "
            "check uses " + ("none (no SGP row)" if chosen is None else
                             f"`{chosen['id']}`") + "."]
  out.append("")
  for ds, runs in groups:
    out += [f"#### Data set `{ds['id']}` (references {refs_cell(ds)}"
            + (f"; behaviour data {behaviour_cell(ds)})" if ds.get("behaviour_score") else ")"),
            ""]
    made = [f"made with `{ds['command']}`" if ds.get("command") else None,
            f"code of commit {ds['made_at_commit']}" if ds.get("made_at_commit") else None,
            ds.get("note")]
    made = [m for m in made if m]
    if made:
      out += ["Data: " + "; ".join(made) + ".", ""]
    for run in runs:
      out += _render_run(run)
    budgets = runs_by_training(runs)
    for same in budgets:
      where = "this data set" + (f"; models of epochs {epochs_cell(same[0])} (dynamics / "
                                 "reward / score / BC)" if len(budgets) > 1 else "")
      diffs = _data_set_differences(same)
      if diffs:
        out += [f"Differences SGP − baseline over the same episodes ({where}):", ""]
        out += table(["SGP (β)", "baseline (β)", "difference", "n", "note"], diffs)
        out.append("")
      variant_diffs = _variant_differences(same, lv.get("spec_beta"))
      if variant_diffs:
        out += [f"SGP variants against SGP at the config's β ({where}):", ""]
        out += table(["SGP variant (β)", "SGP (β)", "difference", "n", "note"], variant_diffs)
        out.append("")
    out += _bullets(ds.get("notes"))
  out += _bullets(lv.get("notes"))
  return out


def _bullets(notes) -> list:
  """Markdown bullets, one per note, then a blank line (nothing for no notes)."""
  notes = list(notes or [])
  return [f"- {n}" for n in notes] + ([""] if notes else [])


def _render_run(run: dict) -> list:
  ev = run["evaluation"]
  seeds = ", ".join(str(t) for t in ev.get("training_seeds") or []) or "–"
  where = ("held-out episodes" if ev.get("held_out") else "benchmark episodes") + (
      f": key PRNGKey({ev['seed']}), training seeds {seeds} × {ev['episodes_per_seed']} "
      "episodes")
  src = (f"transcribed, measured at commit {run['measured_at_commit']} ({run['note']})"
         if run["source"] == "transcribed" else
         f"from the run's summary.json" + (f", commit {run['measured_at_commit']}"
                                            if run.get("measured_at_commit") else ""))
  out = [f"Run `{run['id']}` ({where}; {src})."]
  if run.get("command"):
    out.append(f"Command: `{run['command']}`.")
  if run.get("command_note"):
    out.append(f"Command not recorded: {run['command_note']}.")
  total = f"{run['total_seconds']:g} s" if run.get("total_seconds") else None
  if total and total in run.get("run_note", ""):
    total = None
  epochs = run.get("epochs")
  extra = [total,
           ("epochs " + ", ".join(f"{k} {v}" for k, v in epochs.items())) if epochs else None,
           run.get("run_note"),
           run.get("seconds_source"),
           "versions " + ", ".join(f"{k} {v}" for k, v in run["versions"].items()
                                   if k in ("jax", "brax", "flax", "optax"))]
  out.append("; ".join(e for e in extra if e) + ".")
  out.append("")
  rows = []
  for key in sorted(run["methods"], key=_method_order):
    r = run["methods"][key]
    seeds = ", ".join(f1(s) for s in r.get("score_per_seed_mean") or []) or "–"
    rows.append([_row_label(key, r), fmt_beta(r.get("beta")), r.get("beta_choice", "–"),
                 score_cell(r), seeds,
                 r.get("mean_episode_length"), r.get("seconds_including_compile")])
  out += table(["method", "β", "β choice", "score", "seed means (seeds 0, 1, 2)",
                "mean episode length", "s"], rows)
  out.append("")
  notes = [_selection_note(key, run["methods"][key]) for key in
           sorted(run["methods"], key=_method_order) if run["methods"][key].get("beta_selection")]
  notes += [_variant_selection_note(key, run["methods"][key]) for key in
            sorted(run["methods"], key=_method_order)
            if run["methods"][key].get("variant_selection")]
  notes += [_diagnosis_note(key, d) for key, d in
            sorted(run.get("episode_diagnostics", {}).items(), key=lambda kv: _method_order(kv[0]))]
  return out + _bullets(notes)


def _held_out_note(key: str, pick: str, names: list, sel: dict, per: str, tail: str) -> str:
  """A pick made on held-out episodes, as a run note: each candidate's mean score ± SE."""
  grid = "; ".join(f"{n}: {f1(m)}" + (f" ± {e:.1f}" if e is not None else "")
                   for n, m, e in zip(names, sel["mean_scores"], sel["stderrs"]))
  return (f"{_label(key)}: {pick} picked on held-out episodes (key "
          f"PRNGKey({sel.get('heldout_seed')}), {sel.get('num_episodes')} episodes, mean score ± "
          f"standard error per {per}: {grid}); {tail}")


def _selection_note(key: str, row: dict) -> str:
  sel = row["beta_selection"]
  return _held_out_note(
      key, f"β {fmt_beta(sel['beta'])}", [f"β {fmt_beta(b)}" for b in sel["betas"]], sel, "β",
      f"the configured β {fmt_beta(sel.get('configured_beta'))} is the fixed-β row.")


def _variant_selection_note(key: str, row: dict) -> str:
  sel = row["variant_selection"]
  return _held_out_note(
      key, _candidate_label(sel["choice"]), [_candidate_label(n) for n in sel["candidates"]],
      sel, "candidate, each at its configured β unless named",
      "its row holds the pick's benchmark episodes.")


def _diagnosis_note(key: str, d: dict) -> str:
  def pair(stat):
    return (f"{fmt(stat['fell'])} in the episodes that fell, "
            f"{fmt(stat['survived'])} in those that did not")
  fell = (f"{d['num_fell']} of {d['num_episodes']} episodes fell (at steps "
          f"{', '.join(str(n) for n in d['fell_lengths'])})" if d["num_fell"] else
          f"none of {d['num_episodes']} episodes fell")
  return (f"Episode diagnosis of {_label(key)} (β {fmt_beta(d.get('beta'))}, its benchmark "
          f"episodes re-run with every plan recorded): {fell}. Over an episode's last "
          f"{d['window']} steps, the executed (x, u)'s distance to the nearest data point is "
          f"{pair(d['data_distance_last'])} (the data's own median nearest distance: "
          f"{fmt(d['in_data_distance'])}), and the plan's end-state error against the true env "
          f"is {pair(d['plan_error_last'])}." + (
              f" The termination model's probability at the last true state is "
              f"{pair(d['termination_p_end'])}; the highest along each plan's predicted states, "
              f"averaged over those steps, is {pair(d['plan_termination_p_last'])}."
              if "termination_p_end" in d else ""))


def _beta_sort(entry):
  beta = entry[2].get("beta")
  return (beta is None, beta or 0.0)


def _sgp_cell(key: str, row: dict) -> str:
  """An SGP row as the difference tables name it: 'β 0.2' for the paper's SGP, the variant's
  label and β for a variant."""
  beta = f"β {fmt_beta(row.get('beta'))}"
  return f"{_label(key)}, {beta}" if is_sgp_variant(key) else beta


def _diff_text(d: dict) -> str:
  return f"{f1(d['mean'])} ± {d['se']:.1f}" if d["se"] is not None else f1(d["mean"])


def _pair_note(d: dict, run_a: dict, run_b: dict) -> str:
  note = "paired" if d["paired"] else "not paired: BC on other reset keys"
  return note + (f" (runs {run_a['id']}, {run_b['id']})" if run_a is not run_b else "")


def _data_set_differences(runs: list) -> list:
  """Rows of SGP − baseline within one data set: every SGP row (the paper's SGP, then its
  variants) against every baseline row with per-episode scores (the SGP row of the
  baseline's own run where it has one), then the transcribed runs' notes and paired
  differences. SGP rows are never baselines."""
  rows = []
  current = _current_rows(runs)
  sgps = sorted((v for (b, _), v in current.items() if is_sgp(b) and "scores" in v[2]),
                key=lambda v: (is_sgp_variant(v[1]), _method_order(v[1]), _beta_sort(v)))
  bases = sorted((v for (b, _), v in current.items() if not is_sgp(b) and "scores" in v[2]),
                 key=lambda v: _method_order(v[1]))
  for s in sgps:
    for b in bases:
      s_run, s_key, s_row = _from_run(s, b[0])
      d = difference(s_run, s_row, b[0], b[1], b[2])
      bname = _label(b[1]) + ("" if b[2].get("beta") is None or base_method(b[1]) == "beta0"
                              else f" (β {fmt_beta(b[2]['beta'])})")
      rows.append([_sgp_cell(s_key, s_row), bname, _diff_text(d), d["n"],
                   _pair_note(d, s_run, b[0])])
  for run in runs:
    if run["evaluation"].get("held_out"):
      continue
    methods = run["methods"]
    for skey in sorted(methods, key=_method_order):
      if not is_sgp(skey) or "scores" in methods[skey]:
        continue
      for bkey in sorted(methods, key=_method_order):
        b = methods[bkey]
        if base_method(bkey) == "bc" and "scores" not in b and not run.get("bc_paired"):
          rows.append([_sgp_cell(skey, methods[skey]), "BC", "–", None,
                       "not paired: BC on other reset keys (no per-episode scores kept)"])
    for p in run.get("paired_differences", []):
      a = methods.get(p["a"], {})
      rows.append([f"β {fmt_beta(a.get('beta'))}",
                   f"{METHOD_LABELS.get(base_method(p['b']), p['b'])} (β {fmt_beta(p['b_beta'])})",
                   f"{f1(p['mean'])} ± {p['se']:.1f}", p["n"],
                   ("paired" if p["paired"] else "not paired") + f"; transcribed: {p['note']}"])
  return rows


def _variant_differences(runs: list, spec_beta) -> list:
  """Rows of SGP variant − SGP at the config's β within one data set (per-episode scores on
  both sides; the SGP row of the variant's own run where it has one): paired where the
  episodes match (same evaluation key, seeds and episodes), else unpaired."""
  current = _current_rows(runs)
  sgp = current.get(("sgp", spec_beta))
  if sgp is None or "scores" not in sgp[2]:
    return []
  variants = sorted((v for (b, _), v in current.items()
                     if is_sgp_variant(b) and "scores" in v[2]),
                    key=lambda v: (_method_order(v[1]), _beta_sort(v)))
  rows = []
  for v in variants:
    s_run, _, s_row = _from_run(sgp, v[0])
    d = difference(v[0], v[2], s_run, "sgp", s_row)
    note = "paired" if d["paired"] else "not paired: other episodes"
    note += f" (runs {v[0]['id']}, {s_run['id']})" if v[0] is not s_run else ""
    rows.append([f"{_label(v[1])} (β {fmt_beta(v[2].get('beta'))})",
                 f"SGP (β {fmt_beta(s_row.get('beta'))})", _diff_text(d), d["n"], note])
  return rows


# ----------------------------------------------------------------------------- cards
def _source_line(card: dict, path: str) -> str:
  if card.get("source") == "transcribed":
    return (f"Source: transcribed, measured at commit {card['measured_at_commit']} "
            f"({card['note']}).")
  line = f"Source: `{path}`"
  if card.get("measured_at_commit"):
    line += f", measured at commit {card['measured_at_commit']}"
  return line + (f" ({card['note']})." if card.get("note") else ".")


def _versions(v: Optional[dict]) -> str:
  v = v or DEFAULT_VERSIONS
  return ", ".join(f"{k} {v[k]}" for k in ("jax", "brax", "flax", "optax", "numpy", "python")
                   if k in v)


def render_card(card: dict, path: str) -> list:
  out = [f"### {card.get('title', card['experiment'])}", ""]
  if card.get("spec"):
    out.append(f"SPEC {card['spec']}.")
  out.append(f"Command: `{card['command']}`" + (f" ({card['wall_seconds']} s wall)."
                                                if card.get("wall_seconds") else "."))
  if card.get("seeds"):
    out.append(f"Seeds: {card['seeds']}.")
  out.append(f"Versions: {_versions(card.get('versions'))}; CPU.")
  out.append(_source_line(card, path))
  if card.get("setup"):
    out.append(f"Setup: {card['setup']}.")
  out.append("")
  for t in card.get("tables", []):
    out += [f"{t['title']}:", ""] + table(t["columns"], t["rows"]) + [""]
  out += _bullets(card.get("notes"))
  return out


def card_claims(card: dict) -> list:
  return [{"experiment": card["experiment"], **c} for c in card.get("claims", [])]


# ----------------------------------------------------------------------------- cartpole
def trim_cartpole_summary(summary: dict, command: str, measured_at_commit: Optional[str],
                          note: Optional[str] = None) -> dict:
  """The main job's summary.json without its per-step trajectories."""
  per_beta = []
  for p in summary["per_beta"]:
    row = {k: v for k, v in p.items() if k != "seeds"}
    row["true_terminal_cost_per_seed"] = [round(s["true_terminal_cost"], 4) for s in p["seeds"]]
    per_beta.append(row)
  card = {"experiment": "cartpole_swingup", "source": "summary",
          "measured_at_commit": measured_at_commit, "command": command,
          "config": summary.get("config"), "num_transitions": summary.get("num_transitions"),
          "training": summary.get("training"), "per_beta": per_beta,
          "total_seconds": round(summary.get("total_seconds", 0.0), 1),
          "versions": summary.get("versions")}
  if note:
    card["note"] = note
  return card


def cartpole_claims(card: dict) -> list:
  rows = {p["beta"]: p for p in card["per_beta"]}
  out = []
  if 0.0 in rows:
    r = rows[0.0]
    ok = r["plan_upright_fraction"] == 1.0 and r["true_upright_fraction"] == 0.0
    out.append({"spec": "E.4(a)", "claim": "β = 0: the plan reaches upright under the learned "
                "model, the true rollout does not",
                "measured": f"plan upright {r['plan_upright_fraction']:.0%}, true upright "
                            f"{r['true_upright_fraction']:.0%}, max |u| "
                            f"{r['max_abs_action_max']:.0f} N (data ±80)",
                "verdict": "holds" if ok else "does not hold"})
  mid = [rows[b] for b in (0.1, 1.0) if b in rows]
  if mid:
    ups = [r["true_upright_fraction"] for r in mid]
    out.append({"spec": "E.4(b)", "claim": "β ∈ {0.1, 1}: plan and true rollout agree and reach "
                "upright (|θ − π| < 0.2, |p| < 0.5)",
                "measured": "; ".join(f"β {fmt_beta(r['beta'])}: true upright "
                                      f"{r['true_upright_fraction']:.0%}, |θ_T − π| "
                                      f"{r['true_abs_theta_error_mean']:.3f}" for r in mid),
                "verdict": ("holds" if min(ups) == 1.0 else "does not hold" if max(ups) == 0.0
                            else "partly")})
  big = [r for b, r in rows.items() if b >= 100]
  if big:
    r = big[-1]
    out.append({"spec": "E.4(c)", "claim": "very large β: the plan fails to reach upright",
                "measured": f"β {fmt_beta(r['beta'])}: plan upright "
                            f"{r['plan_upright_fraction']:.0%}",
                "verdict": "holds" if r["plan_upright_fraction"] == 0.0 else "does not hold"})
  return [{"experiment": "cartpole_swingup", **c} for c in out]


def render_cartpole(card: dict) -> list:
  cfg = card.get("config") or {}
  plan = cfg.get("plan", {})
  out = ["### cartpole_swingup: the main job (SPEC B.6, E.4)", "",
         f"Command: `{card['command']}` ({card['total_seconds']:.0f} s wall on 2 CPU cores).",
         f"Seeds: data and training seed {cfg.get('seed', 0)}; {plan.get('num_seeds')} plan "
         "seeds per β.",
         f"Versions: {_versions(card.get('versions'))}; CPU.",
         _source_line(card, "experiments/results/cartpole_swingup/default.json"),
         f"Setup: {cfg.get('num_candidates', 0):,} candidates → "
         f"{card.get('num_transitions', 0):,} "
         f"transitions; dynamics MLP {cfg.get('dynamics', {}).get('hidden')} "
         f"({cfg.get('dynamics', {}).get('epochs')} epochs), xu score "
         f"{cfg.get('score', {}).get('hidden')} σ = {cfg.get('score', {}).get('sigma')} "
         f"({cfg.get('score', {}).get('epochs')} epochs); single shooting T = "
         f"{plan.get('horizon')}, Adam lr {plan.get('learning_rate')}, {plan.get('num_iters')} "
         "iterations, x0 = 0, terminal cost diag(1, 1, 0.1, 0.1), no input bound.", ""]
  rows = [[fmt_beta(p["beta"]), f"{p['true_upright_fraction']:.2f}",
           f"{p['plan_upright_fraction']:.2f}",
           f"{p['true_abs_theta_error_mean']:.3f} ± {p['true_abs_theta_error_std']:.3f}",
           f"{p['true_abs_p_error_mean']:.3f}", f"{p['max_plan_true_gap_mean']:.3f}",
           f"{p['max_abs_action_max']:.1f}"] for p in card["per_beta"]]
  out += table(["β", "true upright", "plan upright", "true |θ_T − π|", "true |p_T|",
                "max plan/true gap", "max |u| (data ±80)"], rows)
  out += ["", "Upright: |θ_T − π| < 0.2 and |p_T| < 0.5 (project-set). Figure: "
          "`experiments/results/figures/phase_portraits.png`.", ""]
  return out


# ----------------------------------------------------------------------------- box pushing
def _bp_metrics(s: dict) -> dict:
  return {m["method"]: m for m in s["per_method"]}


def box_pushing_claims(results: dict) -> list:
  s = results.get("box_pushing", {}).get("default")
  if s is None:
    return []
  m = _bp_metrics(s)
  sgp, b0 = m["sgp"], m["beta0"]
  ratio = b0["plan_rigidity_error"]["mean"] / sgp["plan_rigidity_error"]["mean"]
  return [
      {"experiment": "box_pushing", "spec": "E.10",
       "claim": "with β > 0 the true box reaches the goal (success ≥ 80 %, project-set)",
       "measured": f"SGP {sgp['success_rate']:.0%} (β = 0: {b0['success_rate']:.0%}, true "
                   f"model {m['true_model']['success_rate']:.0%})",
       "verdict": "holds" if sgp["success_rate"] >= 0.8 else "does not hold"},
      {"experiment": "box_pushing", "spec": "E.10",
       "claim": "SGP keeps the predicted keypoints rigid where β = 0 deforms them (ratio ≥ 5×, "
                "project-set)",
       "measured": f"rigidity ratio β = 0 / SGP {ratio:.2f} (β = 0 does not exploit this model)",
       "verdict": "holds" if ratio >= 5 else "does not hold"}]


def _ms(stat: dict, scale: float = 1.0, digits: int = 2) -> str:
  """'mean ± std' of a {'mean', 'std'} summary, scaled (e.g. metres to mm)."""
  return f"{scale * stat['mean']:.{digits}f} ± {scale * stat['std']:.{digits}f}"


def _bp_rows(s: dict) -> list:
  rows = []
  for m in s["per_method"]:
    per_goal = " / ".join(f"{g['success_rate']:.0%}" for g in m.get("per_goal", []))
    rows.append([m["method"], fmt_beta(m["beta"]),
                 f"{m['success_rate']:.0%}" + (f" ({per_goal})" if per_goal else ""),
                 _ms(m["final_position_error"], 100), _ms(m["final_angle_error_deg"]),
                 _ms(m["plan_rigidity_error"], 1e3), _ms(m["plan_rigidity_error_max"], 1e3),
                 _ms(m["prediction_gap"], 1e3), f"{1e3 * m['max_abs_command']['mean']:.0f}"])
  return rows


def _index_header(index: dict) -> list:
  """The heading of an experiment with several summaries, and its setup bullets."""
  return ([f"### {index['title']} (SPEC {index['spec']})", ""]
          + [f"- {s}" for s in index["setup"]] + [""])


def render_box_pushing(results: dict) -> list:
  bp = results.get("box_pushing", {})
  index = bp.get("index")
  if index is None:
    return []
  out = _index_header(index)
  cols = ["method", "β", "success (per goal: left / centre / right)", "final pos. error [cm]",
          "final angle error [°]",
          "rigidity of predicted keypoints [mm]", "its max per episode [mm]",
          "predicted vs executed (RMS) [mm]",
          "max |u| [mm]"]
  for name, meta in index["summaries"].items():
    s = bp.get(name)
    if s is None:
      continue
    out.append(f"**{name}**" + (f": {meta['purpose']}" if meta.get("purpose") else "") + ".")
    out.append(f"Command: `{meta['command']}`" + (f" ({meta['wall_seconds']} s wall)."
                                                  if meta.get("wall_seconds") else "."))
    out.append(f"Source: `experiments/results/box_pushing/{name}.json`, measured at commit "
               f"{meta.get('measured_at_commit', index['measured_at_commit'])}; versions "
               f"{_versions(s.get('versions'))}; seed {s['config'].get('seed', 0)}; "
               f"{s['per_method'][0]['num_episodes']} episodes per method (mean ± std).")
    out.append("")
    out += table(cols, _bp_rows(s)) + [""]
    if name == "default" and "stabilisation" in s:
      st = s["stabilisation"]
      out += [f"Keypoint stabilisation ({st['num_points']} data keypoint sets, noise σ = "
              f"{100 * st['noise_std']:g} cm, annealed ascent on the keypoint-only score): "
              f"rigidity error {1e3 * st['rigidity_error_before']['mean']:.2f} ± "
              f"{1e3 * st['rigidity_error_before']['std']:.2f} → "
              f"{1e3 * st['rigidity_error_after']['mean']:.2f} ± "
              f"{1e3 * st['rigidity_error_after']['std']:.2f} mm "
              f"({st['rigidity_reduction']:.1f}× smaller); RMS to the clean keypoints "
              f"{1e3 * st['rms_to_clean_before']['mean']:.1f} → "
              f"{1e3 * st['rms_to_clean_after']['mean']:.1f} mm.", ""]
  out += [f"- {n}" for n in index.get("notes", [])] + [""]
  return out


# ----------------------------------------------------------------------------- pixels
def _px_methods(entry: dict) -> dict:
  return {m["method"]: m for m in entry["per_method"]}


def pixels_claims(results: dict) -> list:
  px = results.get("pixels", {})
  sweep = px.get("sweep")
  if sweep is None:
    return []
  by_n = {e["image_size"]: _px_methods(e) for e in sweep["per_size"]}
  n_max = max(by_n)
  big = by_n[n_max]
  sgp_reaches = big["sgp"]["final_distance"]["mean"] < 0.15
  zeroth = [k for k in ("cem_ensemble", "mppi") if k in big]
  zeroth_fail = all(big[k]["final_distance"]["mean"] >= 0.15 for k in zeroth)
  e6 = {n: m["ensemble"]["actual_cost"]["mean"] > m["sgp"]["actual_cost"]["mean"]
        for n, m in sorted(by_n.items())}
  return [
      {"experiment": "pixels", "spec": "E.7",
       "claim": f"at N = {n_max} SGP's true rollout reaches the goal region; CEM does not",
       "measured": f"SGP final distance {big['sgp']['final_distance']['mean']:.2f} (goal region "
                   f"< 0.15); CEM / MPPI " + ", ".join(
                       f"{big[k]['final_distance']['mean']:.2f}" for k in zeroth),
       "verdict": ("holds" if sgp_reaches and zeroth_fail else
                   "partly" if zeroth_fail else "does not hold")},
      {"experiment": "pixels", "spec": "E.6",
       "claim": "the ensemble planner ends at a worse optimum than SGP",
       "measured": "actual cost ensemble vs SGP: " + "; ".join(
           f"N = {n}: {by_n[n]['ensemble']['actual_cost']['mean']:.0f} vs "
           f"{by_n[n]['sgp']['actual_cost']['mean']:.0f}" for n in sorted(by_n)),
       "verdict": ("holds" if all(e6.values()) else "does not hold" if not any(e6.values())
                   else "partly")}]


def render_pixels(results: dict) -> list:
  px = results.get("pixels", {})
  index = px.get("index")
  if index is None:
    return []
  out = _index_header(index)
  for name, meta in index["summaries"].items():
    s = px.get(name)
    if s is None:
      continue
    out.append(f"**{name}**" + (f": {meta['purpose']}" if meta.get("purpose") else "") + ".")
    out.append(f"Command: `{meta['command']}` ({meta['wall_seconds']} s wall).")
    out.append(f"Source: `experiments/results/pixels/{name}.json`, measured at commit "
               f"{index['measured_at_commit']}; versions {_versions(s.get('versions'))}; seed "
               f"{s['config'].get('seed', 0)}; mean ± std over the plan seeds.")
    out.append("")
    rows = []
    for e in s["per_size"]:
      for m in e["per_method"]:
        rows.append([e["image_size"], m["method"], fmt_beta(m["beta"]),
                     f"{m['hallucinated_cost']['mean']:.4g} ± {m['hallucinated_cost']['std']:.3g}",
                     f"{m['actual_cost']['mean']:.4g} ± {m['actual_cost']['std']:.3g}",
                     f"{m['final_distance']['mean']:.2f} ± {m['final_distance']['std']:.2f}",
                     f"{m['min_distance_to_origin']['mean']:.2f}",
                     f"{m['plan_true_gap']['mean']:.2f}", m["model_rollouts"]])
    out += table(["N", "method", "β", "hallucinated cost", "actual cost", "true final distance",
                  "min ‖x‖ of true path", "plan-vs-true gap", "model rollouts"], rows) + [""]
  bc = index.get("beta_choice")
  if bc:
    out += [f"β chosen on N = 16 runs of the same task (10,000 samples, smaller budgets). "
            f"Source: transcribed, measured at commit {bc['measured_at_commit']} ({bc['note']}). "
            f"Command: `{bc['command']}`.", ""]
    out += table(bc["columns"], bc["rows"]) + [""]
  out += [f"- {n}" for n in index.get("notes", [])] + [""]
  return out


# ----------------------------------------------------------------------------- speed
def render_speed(results: dict) -> list:
  out = []
  for name, card in results.get("speed", {}).items():
    out += render_card(card, f"experiments/results/speed/{name}.json")
  return out


# ----------------------------------------------------------------------------- document
SMALL_EXPERIMENTS = ("simple_1d", "circle", "light_dark", "corridor", "pendulum_keypoints")


def summary_rows(results: dict) -> list:
  rows = []
  cp = results.get("cartpole_swingup", {}).get("default")
  if cp:
    rows += cartpole_claims(cp)
  for card in results.get("cartpole_comparison", {}).values():
    rows += card_claims(card)
  rows += d4rl_headline(results)
  rows += box_pushing_claims(results)
  rows += pixels_claims(results)
  for exp in SMALL_EXPERIMENTS:
    for card in results.get(exp, {}).values():
      rows += card_claims(card)
  for card in results.get("speed", {}).values():
    rows += card_claims(card)
  return rows


def render(results: dict) -> str:
  """RESULTS.md from the loaded JSON (see load_results)."""
  out = ["# Measured results", "",
         "Generated by `python -m experiments.report` from the JSON summaries under "
         "`experiments/results/`; do not edit by hand. Every figure comes from a command "
         "shown below, run on CPU (2 cores) from the repository root. Where a run's summary "
         "was not kept, its figures are transcribed with the commit that measured them. "
         "\"(project-set)\" marks thresholds this project set itself; the paper's own figures "
         "could not be consulted (SPEC 0, C).", "",
         "## Does the paper's claim hold here?", "",
         "| experiment | SPEC | claim | measured | verdict |", "|---|---|---|---|---|"]
  for r in summary_rows(results):
    out.append(f"| {r['experiment']} | {r['spec']} | {cell(r['claim'])} | {cell(r['measured'])} "
               f"| **{r['verdict']}** |")
  out += ["", "## Cart-pole", ""]
  cp = results.get("cartpole_swingup", {}).get("default")
  if cp:
    out += render_cartpole(cp)
  for name, card in results.get("cartpole_comparison", {}).items():
    out += render_card(card, f"experiments/results/cartpole_comparison/{name}.json")
  out += render_d4rl(results)
  out += ["## Box pushing and pixels", ""]
  out += render_box_pushing(results)
  out += render_pixels(results)
  out += ["## Small experiments", ""]
  for exp in SMALL_EXPERIMENTS:
    for name, card in results.get(exp, {}).items():
      out += render_card(card, f"experiments/results/{exp}/{name}.json")
  speed = render_speed(results)
  if speed:
    out += ["## Speed", ""] + speed
  while out and out[-1] == "":
    out.pop()
  return "\n".join(out) + "\n"


GLANCE_BEGIN = "<!-- results at a glance: generated by python -m experiments.report -->"
GLANCE_END = "<!-- end of results at a glance -->"


def render_glance(results: dict) -> str:
  """README's results table: per claim its SPEC item, our measured figure and verdict."""
  out = ["| experiment | the paper's claim (SPEC) | measured here | holds? |", "|---|---|---|---|"]
  for r in summary_rows(results):
    out.append(f"| {r['experiment']} | {cell(r['claim'])} ({r['spec']}) | {cell(r['measured'])} "
               f"| {r['verdict']} |")
  return "\n".join(out)


def update_readme(readme: str, results: dict) -> str:
  """README text with the block between GLANCE_BEGIN and GLANCE_END regenerated."""
  if GLANCE_BEGIN not in readme or GLANCE_END not in readme:
    raise ValueError(f"README has no results block ({GLANCE_BEGIN!r} ... {GLANCE_END!r}).")
  head, rest = readme.split(GLANCE_BEGIN, 1)
  _, tail = rest.split(GLANCE_END, 1)
  return head + GLANCE_BEGIN + "\n" + render_glance(results) + "\n" + GLANCE_END + tail


def write(results_dir: str = RESULTS_DIR, path: str = RESULTS_MD,
          readme: Optional[str] = README_MD) -> str:
  """Writes RESULTS.md (and README's results block, unless readme is None)."""
  results = load_results(results_dir)
  with open(path, "w") as f:
    f.write(render(results))
  if readme is not None and os.path.exists(readme):
    with open(readme) as f:
      text = f.read()
    new = update_readme(text, results)
    if new != text:
      with open(readme, "w") as f:
        f.write(new)
  return path


def main(argv=None) -> int:
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--results_dir", default=RESULTS_DIR)
  p.add_argument("--output", default=RESULTS_MD, help="the markdown file to write")
  p.add_argument("--readme", default=README_MD,
                 help="README whose results-at-a-glance block is regenerated ('' for none)")
  p.add_argument("--add_d4rl", default=None,
                 help="a d4rl benchmark <workdir>/summary.json to trim into the results")
  p.add_argument("--add_cartpole", default=None,
                 help="a cartpole_swingup <workdir>/summary.json to trim into the results")
  p.add_argument("--run_id", default=None, help="id of the added run (default: workdir name)")
  p.add_argument("--command", default=None, help="the command that made the added summary")
  p.add_argument("--commit", default=None, help="the commit that the added run measured")
  p.add_argument("--bc_unpaired", action="store_true",
                 help="the added d4rl run's BC episodes used other reset keys than the planners'")
  p.add_argument("--run_note", default=None,
                 help="a note on the added d4rl run (e.g. whose models it reused)")
  p.add_argument("--data_summary", default=None,
                 help="the make_dataset summary.json of the added d4rl run's data set (records "
                      "its behaviour-data scores)")
  p.add_argument("--data_command", default=None,
                 help="the command that made the added d4rl run's data set (a new data set)")
  p.add_argument("--data_commit", default=None, help="the commit whose code made that data set")
  p.add_argument("--data_note", default=None, help="a note on that data set")
  p.add_argument("--log", default=None,
                 help="the added d4rl run's log: each method's seconds (including compile) "
                      "are taken from its per-method line")
  args = p.parse_args(argv)
  if args.add_d4rl:
    for path in add_d4rl(args.add_d4rl, args.results_dir, args.run_id, args.command,
                         args.commit, bc_paired=not args.bc_unpaired, run_note=args.run_note,
                         data_summary_path=args.data_summary, data_command=args.data_command,
                         data_commit=args.data_commit, data_note=args.data_note,
                         log_path=args.log):
      print(f"wrote {os.path.relpath(path)}")
  if args.add_cartpole:
    with open(args.add_cartpole) as f:
      summary = json.load(f)
    command = args.command or "python -m experiments.cartpole_swingup.main --workdir=runs/cartpole"
    path = os.path.join(args.results_dir, "cartpole_swingup", "default.json")
    _write_json(path, trim_cartpole_summary(summary, command, args.commit))
    print(f"wrote {os.path.relpath(path)}")
  print(f"wrote {os.path.relpath(write(args.results_dir, args.output, args.readme or None))}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
