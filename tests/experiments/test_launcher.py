"""The shared launcher helper (experiments/launcher.py) and what every launcher owes a
user: a --help that explains every flag and config field, one `error:` line for a
mistake (before any training), no machine path in any config, method names checked.
"""
import ast
import glob
import importlib
import os

import pytest

from experiments import launcher
from helpers import REPO, run_launcher, set_fields

LAUNCHERS = sorted(os.path.basename(os.path.dirname(p))
                   for p in glob.glob(os.path.join(REPO, "experiments", "*", "main.py")))
# Every shipped config: configs/default.py's get_config(arg) for each arg.
CONFIGS = [(name, None) for name in LAUNCHERS] + [
    ("d4rl_benchmark", arg) for arg in ("hopper", "walker2d", "ant", "gpu", "hopper,gpu")] + [
    ("pixels", "sweep"), ("pixels", "gpu")]


def _config(name, arg):
  get_config = importlib.import_module(f"experiments.{name}.configs.default").get_config
  return get_config() if arg is None else get_config(arg)


def _leaves(config, prefix=""):
  for key, value in config.items():
    if hasattr(value, "items"):
      yield from _leaves(value, f"{prefix}{key}.")
    else:
      yield f"{prefix}{key}", key, value


def test_launchers_are_found():
  assert {"box_pushing", "cartpole_comparison", "cartpole_swingup", "circle", "corridor",
          "d4rl_benchmark", "light_dark", "make_dataset", "pendulum_keypoints", "pixels",
          "simple_1d"} <= set(LAUNCHERS)


# ------------------------------------------------------------------ --help
@pytest.mark.parametrize("name", LAUNCHERS)
def test_launcher_docstring_lists_every_config_field(name):
  """absl's --help prints main.py's docstring: it names every config field."""
  # Parsed, not imported: importing several launchers would define their flags twice.
  with open(os.path.join(REPO, "experiments", name, "main.py")) as f:
    doc = ast.get_docstring(ast.parse(f.read()))
  missing = sorted({full for arg in [a for n, a in CONFIGS if n == name]
                    for full, leaf, _ in _leaves(_config(name, arg)) if leaf not in doc})
  assert not missing, f"{name}/main.py docstring does not explain {missing}"
  assert "--workdir" in doc


def test_every_launcher_uses_the_shared_flags_and_error_handling():
  """So each --help lists --workdir, --config, --traceback and
  --compilation_cache_dir with their explanations (checked below on one launcher)."""
  for name in LAUNCHERS:
    source = open(os.path.join(REPO, "experiments", name, "main.py")).read()
    assert "launcher.define_launcher_flags(" in source, name
    assert "flags_parser=launcher.parse_flags" in source, name
    assert "DEFINE_" not in source, name  # no flag of its own


def test_launcher_help_explains_the_shared_flags():
  out = run_launcher("make_dataset", "--help", timeout=120)
  assert out.returncode in (0, 1), out.stderr[-3000:]
  for flag, words in [("--workdir", "data sets"), ("--config", "override"),
                      ("--[no]traceback", "full Python traceback"),
                      ("--compilation_cache_dir", "'' turns the cache off")]:
    assert flag in out.stdout and words in out.stdout, (flag, out.stdout[-3000:])


@pytest.mark.slow  # one subprocess per launcher (imports jax each time)
@pytest.mark.parametrize("name", LAUNCHERS)
def test_every_launcher_help_runs(name):
  out = run_launcher(name, "--help", timeout=120)
  assert out.returncode in (0, 1), out.stderr[-3000:]  # absl exits 1 after --help
  assert "--workdir" in out.stdout and "Config fields" in out.stdout, out.stdout[-2000:]


# ------------------------------------------------------------------ one-line errors
def _one_error_line(out):
  assert out.returncode == 2, out.stderr[-3000:]
  lines = out.stderr.strip().splitlines()
  assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr[-3000:]
  return lines[0]


def test_launcher_unknown_config_field_is_one_line(tmp_path):
  line = _one_error_line(run_launcher("cartpole_swingup", f"--workdir={tmp_path}",
                                      "--config.plan.num_iter=3", timeout=120))
  assert "--config.plan.num_iter" in line and "did you mean --config.plan.num_iters" in line
  assert "num_seeds" in line and "--help" in line


def test_launcher_workdir_that_is_a_file_is_one_line(tmp_path):
  path = tmp_path / "file"
  path.write_text("")
  line = _one_error_line(run_launcher("circle", f"--workdir={path}", timeout=120))
  assert f"--workdir {path} is an existing file" in line
  out = run_launcher("circle", f"--workdir={path}", "--traceback", timeout=120)
  assert out.returncode != 0 and "Traceback (most recent call last)" in out.stderr


def test_launcher_empty_plan_batch_is_one_line(tmp_path):
  line = _one_error_line(run_launcher("cartpole_swingup", f"--workdir={tmp_path}",
                                      "--config.plan.betas=()", timeout=120))
  assert "config.plan.betas is empty" in line


def test_d4rl_launcher_without_data_dir_says_what_to_pass(tmp_path):
  line = _one_error_line(run_launcher(
      "d4rl_benchmark", f"--workdir={tmp_path}",
      "--config=experiments/d4rl_benchmark/configs/default.py:hopper", timeout=120))
  assert "config.data_dir is not set" in line
  assert "--config.data_dir=runs/data_hopper/datasets" in line
  assert not os.listdir(tmp_path)


# ------------------------------------------------------------------ checks before training
@pytest.mark.parametrize("name, field, value", [
    ("cartpole_swingup", "plan.betas", ()), ("cartpole_swingup", "plan.num_seeds", 0),
    ("corridor", "plan.betas", ()), ("corridor", "plan.num_seeds", 0),
    ("light_dark", "plan.betas", ()), ("pendulum_keypoints", "plan.betas", ()),
    ("cartpole_comparison", "num_seeds", 0), ("cartpole_comparison", "methods", ()),
    ("circle", "langevin.num_particles", 0), ("simple_1d", "descent.num_starts", 0),
    ("d4rl_benchmark", "levels", ()), ("d4rl_benchmark", "eval.num_seeds", 0),
    ("make_dataset", "levels", ()), ("make_dataset", "formats", ())])
def test_empty_plan_batch_is_refused_before_training(name, field, value, tmp_path):
  config = set_fields(_config(name, None), {field: value})
  with pytest.raises(ValueError, match=f"config.{field}"):
    importlib.import_module(f"experiments.{name}.pipeline").run(config, str(tmp_path))
  assert not os.listdir(tmp_path)  # nothing trained or written


@pytest.mark.parametrize("name, arg", CONFIGS)
def test_configs_hold_no_machine_paths(name, arg):
  """No default is an absolute path (or a home-relative one): a required input is a
  required flag with an error saying what to pass."""
  for full, _, value in _leaves(_config(name, arg)):
    values = value if isinstance(value, (tuple, list)) else (value,)
    for v in values:
      assert not (isinstance(v, str) and (os.path.isabs(v) or v.startswith("~"))), (
          name, arg, full, v)


def test_split_and_check_method_names():
  assert launcher.split_method("sgp") == ("sgp", None)
  assert launcher.split_method("sgp@2.5") == ("sgp", 2.5)
  with pytest.raises(ValueError, match="'x' after '@' is not a number"):
    launcher.split_method("sgp@x")
  launcher.check_method_names(("sgp", "sgp@1e-2", "bc"), ("sgp", "bc"), fixed=("bc",))
  for bad, match in (("sgd", "unknown method 'sgd'"), ("bc@1", "unknown method 'bc@1'"),
                     ("sgp@", "'' after '@' is not a number")):
    with pytest.raises(ValueError, match=match):
      launcher.check_method_names((bad,), ("sgp", "bc"), fixed=("bc",))


def test_check_config_overrides_names_the_close_field():
  config = _config("circle", None)
  launcher.check_config_overrides(config, ["--config.score.epochs=3", "--workdir=x"])
  with pytest.raises(ValueError, match="did you mean --config.score.epochs"):
    launcher.check_config_overrides(config, ["--config.score.epoch=3"])
  with pytest.raises(ValueError, match="config.seed is a int"):
    launcher.check_config_overrides(config, ["--config.seed.x=3"])


def test_user_errors_cover_checkpoint_errors():
  """A corrupt or mismatched checkpoint ends a launcher with one `error:` line too."""
  from sgp_jax.checkpoint import CheckpointError
  assert issubclass(CheckpointError, launcher.USER_ERRORS)
  assert issubclass(FileNotFoundError, launcher.USER_ERRORS)
