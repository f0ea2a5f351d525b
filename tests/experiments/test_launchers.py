"""Tiny end-to-end runs of the issue-3 experiment pipelines, and their launchers' docs.

Each pipeline runs in-process with its default config shrunk to a few epochs and
iterations (what `--config.FIELD=VALUE` overrides do on the command line); one
launcher also runs as a subprocess to check the absl flags end to end.
"""
import ast
import importlib
import json
import os
import subprocess
import sys

import jax.numpy as jnp
import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

TINY = {
    "simple_1d": {"grid_points": 400, "score.epochs": 3, "dde.epochs": 2,
                  "dde.num_points": 512, "ensemble.epochs": 2, "ensemble.hidden": (16, 16),
                  "descent.gd_steps": 5, "descent.num_levels": 2},
    "circle": {"num_points": 200, "score.hidden": (16, 16), "score.epochs": 2,
               "langevin.num_steps": 10, "eval_points": 50},
    "light_dark": {"num_candidates": 1000, "score.hidden": (16, 16), "score.epochs": 1,
                   "plan.num_iters": 5, "mpc.num_steps": 2, "mpc.num_iters": 3,
                   "mpc.horizon": 5},
    "corridor": {"num_candidates": 2000, "dynamics.epochs": 1, "score.epochs": 1,
                 "plan.num_iters": 5, "plan.num_seeds": 1, "plan.horizon": 10},
    "pendulum_keypoints": {"num_samples": 1000, "score.hidden": (16, 16),
                           "score.epochs": 1, "plan.num_iters": 5, "plan.horizon": 8},
    "cartpole_comparison": {"source_workdir": "", "cartpole.num_candidates": 2000,
                            "cartpole.dynamics_epochs": 1, "cartpole.score_epochs": 1,
                            "cartpole.score_max_points": 1000, "ensemble.num_members": 2,
                            "ensemble.epochs": 1, "dde.epochs": 1, "dde.num_points": 1024,
                            "dde.max_points": 200, "dde.hidden": (16, 16), "budget": 4,
                            "sampling.num_samples": 2, "sampling.num_elites": 1,
                            "num_seeds": 1, "horizon": 8,
                            # one gradient, one ensemble and one sampling planner
                            "methods": ("sgp", "ensemble_gradient", "cem_dde")},
}
PLOTS = {"simple_1d": ["likelihood.png", "admissibility.png"], "circle": ["circle.png"],
         "light_dark": ["light_dark.png"], "corridor": ["corridor.png"],
         "pendulum_keypoints": ["pendulum.png"], "cartpole_comparison": ["comparison.png"]}


def tiny_config(name: str):
  config = importlib.import_module(f"experiments.{name}.configs.default").get_config()
  for field, value in TINY[name].items():
    section, _, leaf = field.rpartition(".")
    (config[section] if section else config)[leaf] = value
  return config


def _leaves(config, prefix=""):
  for key, value in config.items():
    if hasattr(value, "items"):
      yield from _leaves(value, f"{prefix}{key}.")
    else:
      yield f"{prefix}{key}", key


@pytest.mark.parametrize("name", sorted(TINY) + ["box_pushing", "pixels"])
def test_launcher_docstring_lists_every_config_field(name):
  # Parsed, not imported: importing several launchers would define their flags twice.
  with open(os.path.join(REPO, "experiments", name, "main.py")) as f:
    doc = ast.get_docstring(ast.parse(f.read()))
  config = importlib.import_module(f"experiments.{name}.configs.default").get_config()
  missing = [full for full, leaf in _leaves(config) if leaf not in doc]
  assert not missing, f"{name}/main.py docstring does not explain {missing}"
  assert "--workdir" in doc


# Each run takes 8-60 s on 2 cores, so all are `slow`: .ci/run runs every one but the
# cart-pole comparison after the fast suite; the fast suite's launcher runs are
# tests/test_cartpole_experiment.py and tests/experiments/test_box_pushing.py.
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TINY))
def test_pipeline_tiny_run_writes_summary_and_plots(name, tmp_path):
  pipeline = importlib.import_module(f"experiments.{name}.pipeline")
  summary = pipeline.run(tiny_config(name), str(tmp_path))
  with open(tmp_path / "summary.json") as f:
    saved = json.load(f)
  assert saved["versions"]["jax"] and saved["config"]
  for plot in PLOTS[name]:
    assert (tmp_path / plot).stat().st_size > 5_000
  assert isinstance(pipeline.format_summary(summary), str)
  if name == "light_dark":  # the reported true rollout is the integrator's of the actions
    row = saved["bvp"][0]
    xs = np.cumsum(np.concatenate([[row["true_states"][0]], row["actions"]]), 0)
    np.testing.assert_allclose(xs, row["true_states"], atol=1e-5)
  if name == "cartpole_comparison":
    assert [r["method"] for r in saved["per_method"]] == list(tiny_config(name).methods)
    assert len({r["trajectory_evaluations"] for r in saved["per_method"]}) == 1

def test_gp_posterior_interpolates_and_reverts_to_the_prior():
  from experiments.simple_1d.pipeline import gp_posterior
  x = jnp.array([[-0.5], [0.0], [0.7]])
  y = jnp.array([1.0, -2.0, 0.5])
  mean, var = gp_posterior(x, y, jnp.concatenate([x, jnp.array([[5.0]])]), 0.1, 1e-8)
  np.testing.assert_allclose(mean[:3], y, atol=1e-4)
  np.testing.assert_allclose(var, [0, 0, 0, 1], atol=1e-4)


@pytest.mark.slow  # tests/test_cartpole_experiment.py covers a launcher subprocess by default
def test_launcher_subprocess_flags(tmp_path):
  env = dict(os.environ, PYTHONPATH=REPO)
  helped = subprocess.run([sys.executable, "-m", "experiments.circle.main", "--help"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
  for word in ("--workdir", "--config", "score.sigma_max", "langevin.step_size"):
    assert word in helped.stdout, word
  args = [f"--config.{k}={v}" for k, v in TINY["circle"].items()
          if not isinstance(v, tuple)] + ["--config.score.hidden=(16,16)"]
  out = subprocess.run([sys.executable, "-m", "experiments.circle.main",
                        f"--workdir={tmp_path}", *args], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=600)
  assert out.returncode == 0, out.stderr[-3000:]
  assert "annealed Langevin" in out.stdout
  assert (tmp_path / "summary.json").exists() and (tmp_path / "models" / "score").is_dir()


def test_make_dataset_sac_settings_default_per_env():
  """SAC fields left unset take the env's defaults; explicit values and bad envs are kept/named."""
  from experiments.make_dataset import main as launcher
  from experiments.make_dataset.configs import default
  config = default.get_config()
  config.env = "walker2d"
  sac = launcher.resolve_config(config).sac
  assert (sac.num_timesteps, sac.num_evals, sac.reward_scaling, sac.discounting) == (
      1_000_000, 51, 5.0, 0.997)
  config.env = "hopper"
  config.sac.reward_scaling = 2.0
  sac = launcher.resolve_config(config).sac
  assert (sac.num_timesteps, sac.reward_scaling, sac.discounting) == (200_000, 2.0, 0.99)
  assert config.sac.num_timesteps is None  # the caller's config is left unresolved
  config.env = "humanoid"
  with pytest.raises(ValueError, match="humanoid"):
    launcher.resolve_config(config)
