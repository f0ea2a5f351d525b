"""The cart-pole swing-up launcher end to end at a tiny size (a subprocess with absl
flags): --help, summary.json, the phase portraits and the checkpoints."""
import json

import jax.numpy as jnp
import numpy as np

from helpers import run_launcher
from sgp_jax import models
from sgp_jax.systems import cartpole


def test_launcher_help_explains_flags():
  out = run_launcher("cartpole_swingup", "--help", timeout=120)
  assert out.returncode in (0, 1), out.stderr  # absl exits 1 after --help
  for word in ("--workdir", "--config", "plan.betas", "score.sigma", "num_candidates"):
    assert word in out.stdout


def test_launcher_tiny_run_writes_summary_plot_and_checkpoints(tmp_path):
  args = [f"--workdir={tmp_path}", "--config.num_candidates=3000",
          "--config.dynamics.epochs=2", "--config.score.epochs=2",
          "--config.plan.num_iters=20", "--config.plan.betas=(0.0,1.0)",
          "--config.plan.num_seeds=1", "--config.score.max_points=2000"]
  out = run_launcher("cartpole_swingup", *args)
  assert out.returncode == 0, out.stderr[-3000:]
  with open(tmp_path / "summary.json") as f:
    summary = json.load(f)
  rows = summary["per_beta"]
  assert [r["beta"] for r in rows] == [0.0, 1.0]
  plan = rows[0]["seeds"][0]
  assert np.asarray(plan["true_states"]).shape == (61, 4)
  assert np.asarray(plan["actions"]).shape == (60,)
  # The reported true states are the true plant's rollout of the reported actions.
  true = cartpole.rollout(jnp.zeros(4), jnp.asarray(plan["actions"])[:, None])
  np.testing.assert_allclose(true, plan["true_states"], rtol=1e-4, atol=1e-4)
  assert (tmp_path / "phase_portraits.png").stat().st_size > 10_000
  dyn, params = models.load(str(tmp_path / "models" / "dynamics"))
  assert dyn(params, jnp.zeros(4), jnp.zeros(1)).shape == (4,)
