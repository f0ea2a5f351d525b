"""End-to-end smoke tests of the cart-pole launcher (tiny sizes) and the true plant."""
import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sgp_jax.systems import cartpole

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_cartpole_dynamics_conserve_energy_without_force():
  # With u = 0 and no friction the midpoint rule nearly conserves energy.
  p = cartpole.CartPoleParams()
  def energy(x):
    _, th, pd, thd = x
    # cart + pole (point mass at the tip), theta = 0 hanging down.
    vx = pd + p.length * thd * jnp.cos(th)
    vy = p.length * thd * jnp.sin(th)
    kinetic = 0.5 * p.m1 * pd ** 2 + 0.5 * p.m2 * (vx ** 2 + vy ** 2)
    return kinetic - p.m2 * p.g * p.length * jnp.cos(th)
  x0 = jnp.array([0.0, 2.0, 0.0, 0.0])
  xs = cartpole.rollout(x0, jnp.zeros((40, 1)))
  e = jax.vmap(energy)(xs)
  assert float(jnp.max(jnp.abs(e - e[0]))) < 0.05 * float(jnp.abs(e[0]))
  # and a force accelerates the cart in its direction
  x1 = cartpole.step(jnp.zeros(4), jnp.array([10.0]))
  assert float(x1[2]) > 0


def test_dataset_stays_in_box():
  data = cartpole.make_dataset(jax.random.PRNGKey(0), 2000)
  assert 0 < data.num < 2000
  assert bool(jnp.all(cartpole.in_box(data.x))) and bool(jnp.all(cartpole.in_box(data.x_next)))
  np.testing.assert_allclose(cartpole.step(data.x[:5], data.u[:5]), data.x_next[:5], rtol=1e-6)


def _run_launcher(args, **kw):
  env = dict(os.environ, PYTHONPATH=REPO)
  return subprocess.run([sys.executable, "-m", "experiments.cartpole_swingup.main", *args],
                        cwd=REPO, env=env, capture_output=True, text=True, **kw)


def test_launcher_help_explains_flags():
  out = _run_launcher(["--help"], timeout=120)
  assert out.returncode in (0, 1), out.stderr  # absl exits 1 after --help
  for word in ("--workdir", "--config", "plan.betas", "score.sigma", "num_candidates"):
    assert word in out.stdout


def test_launcher_tiny_run_writes_summary_plot_and_checkpoints(tmp_path):
  args = [f"--workdir={tmp_path}", "--config.num_candidates=3000",
          "--config.dynamics.epochs=2", "--config.score.epochs=2",
          "--config.plan.num_iters=20", "--config.plan.betas=(0.0,1.0)",
          "--config.plan.num_seeds=1", "--config.score.max_points=2000"]
  out = _run_launcher(args, timeout=600)
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
  from sgp_jax import models
  dyn, params = models.load(str(tmp_path / "models" / "dynamics"))
  assert dyn(params, jnp.zeros(4), jnp.zeros(1)).shape == (4,)
