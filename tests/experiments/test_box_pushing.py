"""The box-pushing launcher end to end at a tiny size (a subprocess with absl flags)."""
import json

import jax.numpy as jnp
import numpy as np
import pytest

from experiments.box_pushing import pipeline
from experiments.box_pushing.configs import default
from helpers import config_flag, run_launcher
from sgp_jax.systems import pusher_slider as ps

TINY = {"data.num_episodes": 100, "dynamics.epochs": 1, "score.epochs": 1,
        "keypoint_score.epochs": 1, "ensemble.epochs": 1, "dynamics.hidden": (16, 16),
        "score.hidden": (16, 16), "keypoint_score.hidden": (16, 16),
        "ensemble.hidden": (16, 16), "ensemble.num_members": 2, "goals.x": (0.0,),
        "goals.num_starts": 2, "mpc.num_steps": 2, "mpc.num_iters": 4,
        "sampling.num_samples": 2, "sampling.num_elites": 1, "stabilisation.num_points": 8,
        "stabilisation.num_steps": 3, "sim.num_substeps": 4, "mpc.horizon": 3,
        # one gradient, one ensemble, one sampling planner, the reference
        "methods": ("sgp", "ensemble", "cem_score", "true_model")}
PLOTS = ("trajectories.png", "metrics.png", "stabilisation.png", "episode.gif")


@pytest.mark.slow  # CI runs it in step 1b
def test_launcher_tiny_run_reports_the_simulator(tmp_path):
  args = [config_flag(k, v) for k, v in TINY.items()]
  out = run_launcher("box_pushing", f"--workdir={tmp_path}", *args)
  assert out.returncode == 0, out.stderr[-3000:]
  assert "keypoint stabilisation" in out.stdout
  for plot in PLOTS:
    assert (tmp_path / plot).stat().st_size > 5_000
  for name in ("dynamics", "score", "keypoint_score", "ensemble"):
    assert (tmp_path / "models" / name).is_dir()
  with open(tmp_path / "summary.json") as f:
    saved = json.load(f)
  rows = {r["method"]: r for r in saved["per_method"]}
  assert list(rows) == list(TINY["methods"])
  assert saved["data"]["num_transitions"] == 100 * 5
  # Equal budgets: trajectory evaluations per replan; the ensemble rolls 2 members.
  assert len({r["trajectory_evaluations_per_replan"] for r in rows.values()}) == 1
  assert rows["ensemble"]["model_rollouts_per_replan"] == 2 * rows["sgp"][
      "model_rollouts_per_replan"]
  params = ps.PusherSliderParams(pusher_radius=0.01, num_substeps=4)
  for row in rows.values():  # the reported episode is the simulator's run of its commands
    ep = row["example_episode"]
    xs = np.asarray(ep["states"])
    assert np.asarray(ep["plan_predicted"]).shape == (2, 4, 12)  # replans, T + 1, obs
    true = ps.observe(ps.rollout(ps.state_from_observation(jnp.asarray(xs[0]), params),
                                 jnp.asarray(ep["commands"], jnp.float32), params), params)
    np.testing.assert_allclose(xs, true, atol=1e-5)
    assert np.abs(ep["commands"]).max() <= params.u_max + 1e-7
    assert row["num_episodes"] == 2 and row["success_rate"] in (0.0, 0.5, 1.0)
  # The reference plans through the simulator: its predictions are the execution, rigid.
  assert rows["true_model"]["plan_rigidity_error"]["mean"] < 1e-5
  assert rows["true_model"]["prediction_gap"]["mean"] < 1e-5
  assert rows["sgp"]["plan_rigidity_error"]["mean"] > 1e-4  # a 1-epoch model is not rigid
  # Noise of std s on the 10 keypoints leaves 7 of its dimensions off the 3-D manifold of
  # rigid boxes, so the rigidity error before stabilisation is about s sqrt(7).
  stab = saved["stabilisation"]
  np.testing.assert_allclose(stab["rigidity_error_before"]["mean"], 0.01 * np.sqrt(7),
                             rtol=0.25)


def test_config_errors_name_the_field():
  config = default.get_config()
  config.methods = ("sgp@big",)
  with pytest.raises(ValueError, match="'big' after '@' is not a number"):
    pipeline.check_config(config)
  config.methods = ("true_model@1",)
  with pytest.raises(ValueError, match="unknown method 'true_model@1'"):
    pipeline.check_config(config)
  config.methods = ("sgp",)
  config.mpc.num_iters = 25
  with pytest.raises(ValueError, match="multiple of sampling.num_samples"):
    pipeline.check_config(config)
