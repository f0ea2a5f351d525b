"""Executes the Colab-style notebook (its SMALL setting) top to bottom."""
import os

import nbformat
import pytest
from nbclient import NotebookClient

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_cartpole_notebook_runs():
  path = os.path.join(REPO, "notebooks", "cartpole_sgp.ipynb")
  nb = nbformat.read(path, as_version=4)
  NotebookClient(nb, timeout=600, kernel_name="python3",
                 resources={"metadata": {"path": REPO}}).execute()
  outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                    for o in c.get("outputs", []))
  assert "transitions" in outputs and "beta=0.1" in outputs
