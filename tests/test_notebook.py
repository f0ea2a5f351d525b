"""Executes every notebook in notebooks/ on tiny sizes and checks what it found.

Each notebook reads `SGP_JAX_NOTEBOOK_SIZE=tiny` in its parameters cell, shows at
least one figure and ends with a `results` dict of plain numbers, which the test
reads back from the kernel (all numbers must be finite); `CHECKS` adds what a
particular notebook must show. The notebooks run in a temporary directory, with
XLA's backend optimisation off: on a 2-core CPU that halves the brax compiles that
dominate the tiny runs (about 45 s -> 20 s for the D4RL notebook's data collector).
"""
import glob
import json
import math
import os
import re

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOKS = sorted(glob.glob(os.path.join(REPO, "notebooks", "*.ipynb")))
EXTRAS_LINE = re.compile(r'^SGP_JAX_EXTRAS = ".*"$', re.MULTILINE)


def execute(nb, workdir):
  """Runs every cell of `nb` in a fresh kernel whose working directory is `workdir`."""
  NotebookClient(nb, timeout=600, kernel_name="python3",
                 resources={"metadata": {"path": str(workdir)}}).execute()
  return nb


def stdout(cell) -> str:
  return "".join(o.get("text", "") for o in cell.get("outputs", [])
                 if o.get("output_type") == "stream")


def numbers(tree):
  """Every int or float in a JSON tree."""
  if isinstance(tree, dict):
    return [n for v in tree.values() for n in numbers(v)]
  if isinstance(tree, list):
    return [n for v in tree for n in numbers(v)]
  return [tree] if isinstance(tree, (int, float)) and not isinstance(tree, bool) else []


def check_cartpole(results, outputs, workdir):
  assert "beta=0.1:" in outputs
  assert len(results["plan_cost"]) == len(results["betas"]) == 3
  for beta, cost, initial in zip(results["betas"], results["plan_cost"],
                                 results["initial_plan_cost"]):
    assert cost < initial, (beta, cost, initial)  # SGP improved on the random initial plan


def check_d4rl(results, outputs, workdir):
  assert results["num_transitions"] >= 400
  returns = results["returns"]
  assert {"behaviour (data)", "SGP (β = 1)", "β = 0"} == set(returns), returns
  assert all(len(r) > 0 for r in returns.values())
  beta0_cost, beta0_initial = results["plan_cost"][0], results["initial_plan_cost"][0]
  assert beta0_cost < beta0_initial  # the planner decreases the learned cost
  assert os.path.getsize(os.path.join(workdir, results["figure"])) > 0
  assert os.path.isfile(os.path.join(workdir, "runs", "d4rl_notebook", "hopper-random.npz"))


def check_pixels(results, outputs, workdir):
  assert "SGP: hallucinated" in outputs and "beta = 0: hallucinated" in outputs
  for name in ("SGP", "beta = 0"):
    assert set(results[name]) == {"hallucinated_cost", "actual_cost", "final_distance",
                                  "min_distance_to_origin"}
  # The planner decreased the learned cost below the random initial plan's.
  assert results["beta = 0"]["hallucinated_cost"] < results["initial_hallucinated_cost"]


CHECKS = {"cartpole_sgp.ipynb": check_cartpole, "d4rl_pipeline.ipynb": check_d4rl,
          "pixels_sgp.ipynb": check_pixels}


@pytest.fixture
def tiny_kernel_env(monkeypatch):
  monkeypatch.setenv("SGP_JAX_NOTEBOOK_SIZE", "tiny")
  monkeypatch.setenv("XLA_FLAGS", (os.environ.get("XLA_FLAGS", "")
                                   + " --xla_backend_optimization_level=0").strip())
  monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
      p for p in (REPO, os.environ.get("PYTHONPATH")) if p))
  monkeypatch.delenv("SGP_JAX_SOURCE", raising=False)


def _needs_brax(path: str) -> bool:
  """Whether the notebook's setup cell installs the brax extra."""
  cells = nbformat.read(path, as_version=4).cells
  return any('SGP_JAX_EXTRAS = "[brax]"' in c.source for c in cells if c.cell_type == "code")


# Notebooks that compile brax environments, and the pixel one (U-Net training), take
# about a minute on 2 cores, the cartpole one about 16 s: `slow` (.ci/run runs them after
# the fast suite).
SLOW_NOTEBOOKS = ("cartpole_sgp.ipynb", "pixels_sgp.ipynb")


@pytest.mark.parametrize("path", [
    pytest.param(p, marks=pytest.mark.slow)
    if _needs_brax(p) or os.path.basename(p) in SLOW_NOTEBOOKS else p
    for p in NOTEBOOKS], ids=os.path.basename)
def test_notebook_runs_on_tiny_sizes(path, tmp_path, tiny_kernel_env):
  nb = nbformat.read(path, as_version=4)
  nb.cells.append(nbformat.v4.new_code_cell(
      "import json; print(json.dumps(globals().get('results')))"))
  execute(nb, tmp_path)
  results = json.loads(stdout(nb.cells[-1]))
  assert isinstance(results, dict), "the notebook must end with a `results` dict"
  assert numbers(results) and all(math.isfinite(n) for n in numbers(results)), results
  outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
  assert any("image/png" in o.get("data", {}) for o in outputs), "no figure shown"
  first_code = next(c for c in nb.cells if c.cell_type == "code")
  assert "nothing to install" in stdout(first_code)  # sgp_jax importable: no pip
  text = "".join(stdout(c) for c in nb.cells if c.cell_type == "code")
  CHECKS.get(os.path.basename(path), lambda *args: None)(results, text, tmp_path)


def setup_cell(path) -> str:
  nb = nbformat.read(path, as_version=4)
  return next(c.source for c in nb.cells if c.cell_type == "code")


def test_every_notebook_starts_with_the_same_setup_cell():
  # Only the extras line may differ (the brax extra where a notebook needs brax).
  cells = {os.path.basename(p): EXTRAS_LINE.sub("", setup_cell(p)) for p in NOTEBOOKS}
  assert len(set(cells.values())) == 1, sorted(cells)
  assert all(EXTRAS_LINE.search(setup_cell(p)) for p in NOTEBOOKS)
  assert "pip" in next(iter(cells.values())) and "jax.devices()" in next(iter(cells.values()))


def test_setup_cell_without_package_or_source_asks_for_sgp_jax_source(tmp_path,
                                                                       tiny_kernel_env):
  # sys.modules[name] = None makes sgp_jax unimportable in the kernel; tmp_path is no
  # checkout and SGP_JAX_SOURCE is unset, so the cell must stop before any pip call.
  nb = nbformat.v4.new_notebook(cells=[
      nbformat.v4.new_code_cell("import sys; sys.modules['sgp_jax'] = None"),
      nbformat.v4.new_code_cell(setup_cell(NOTEBOOKS[0]))])
  with pytest.raises(CellExecutionError, match="SGP_JAX_SOURCE"):
    execute(nb, tmp_path)
  assert "pip install" not in stdout(nb.cells[1])
