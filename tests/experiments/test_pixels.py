"""The pixel launcher end to end at a tiny size (a subprocess with absl flags)."""
import json

import jax.numpy as jnp
import numpy as np
import pytest

from experiments.pixels import pipeline
from experiments.pixels.configs import default
from helpers import config_flag, run_launcher
from sgp_jax.systems import pixel_integrator as pix

TINY = {"world.sizes": (4, 8), "data.num_samples": 256, "score.features": (4, 8),
        "ensemble.features": (4, 8), "score.epochs": 1, "ensemble.epochs": 1,
        "ensemble.num_members": 2, "plan.num_iters": 8, "plan.num_seeds": 2,
        "sampling.num_samples": 4, "sampling.num_elites": 2, "task.horizon": 6,
        # one gradient, one ensemble, one sampling planner, the reference
        "methods": ("sgp", "ensemble", "cem_ensemble", "true_model")}


@pytest.mark.slow  # about a minute on 2 cores; CI runs it in its slow step
def test_launcher_tiny_sweep_reports_the_true_integrator(tmp_path):
  out = run_launcher("pixels", f"--workdir={tmp_path}",
                     *[config_flag(k, v) for k, v in TINY.items()])
  assert out.returncode == 0, out.stderr[-3000:]
  assert (tmp_path / "sweep.png").stat().st_size > 5_000
  with open(tmp_path / "summary.json") as f:
    saved = json.load(f)
  assert [s["image_size"] for s in saved["per_size"]] == [4, 8]
  assert len(saved["sweep"]["rows"]) == 2 * len(TINY["methods"])
  for size, per_size in zip((4, 8), saved["per_size"]):
    for plot in ("strips.png", "paths.png", "costs.png"):
      assert (tmp_path / f"N{size}" / plot).stat().st_size > 3_000
    for name in ("score", "ensemble"):
      assert (tmp_path / f"N{size}" / "models" / name).is_dir()
    rows = {r["method"]: r for r in per_size["per_method"]}
    assert list(rows) == list(TINY["methods"])
    # Equal budgets of trajectory evaluations; CEM's ensemble rolls 2 members each.
    assert {r["trajectory_evaluations"] for r in rows.values()} == {8}
    assert rows["cem_ensemble"]["model_rollouts"] == 16
    world = pix.PixelWorld(size=size)
    for row in rows.values():
      # The reported true path is the integrator's run of the decoded action images.
      ex = row["example"]
      actions = jnp.asarray(ex["action_images"], jnp.float32)
      assert actions.shape == (len(ex["times"]), size * size)
      assert float(actions.min()) >= 0.0 and float(actions.max()) <= 1.0
      true = np.asarray(ex["true_positions"])
      steps = np.asarray(pix.decode_action(world, actions))
      np.testing.assert_allclose(true[np.asarray(ex["times"]) + 1] - true[ex["times"]],
                                 steps, atol=1e-5)
      assert row["num_seeds"] == 2 and np.isfinite(row["actual_cost"]["mean"])
    # The reference plans through the true image dynamics: at N = 8 its plan is its true
    # rollout up to the state decoding's error (re-decoded every step); at N = 4 the
    # 0.7-pixel blob is too coarse for that.
    ref = rows["true_model"]
    if size == 8:  # measured: gap 0.014, costs 1208 vs 1240
      assert ref["plan_true_gap"]["mean"] < 0.05
      np.testing.assert_allclose(ref["hallucinated_cost"]["mean"],
                                 ref["actual_cost"]["mean"], rtol=0.1)


def test_config_errors_name_the_field():
  config = default.get_config()
  config.world.sizes = (12,)
  with pytest.raises(ValueError, match="image size 12 is not divisible by 2"):
    pipeline.check_config(config)
  config = default.get_config()
  config.plan.num_iters = 100
  with pytest.raises(ValueError, match="multiple of sampling.num_samples"):
    pipeline.check_config(config)
  config = default.get_config()
  config.methods = ("sgp", "cem")
  with pytest.raises(ValueError, match="unknown method 'cem'"):
    pipeline.check_config(config)
  with pytest.raises(ValueError, match="unknown pixel config variant 'gpus'"):
    default.get_config("gpus")
