"""SPEC B.8 sizes: [1024]*4 networks, 1000 epochs, batch 2048 (for an accelerator).

The env's own config supplies the per-level betas; pick it after a colon (halfcheetah
when omitted):
  --config=experiments/d4rl_benchmark/configs/gpu.py:hopper
Point --config.data_dir at full-size data sets (make_dataset --config.full=True).
"""
import importlib

# env -> the config module that holds its betas
ENV_CONFIGS = {"halfcheetah": "default", "hopper": "hopper", "walker2d": "walker2d",
               "ant": "ant"}


def get_config(env: str = "halfcheetah"):
  env = env or "halfcheetah"
  if env not in ENV_CONFIGS:
    raise ValueError(f"gpu.py:{env}: no config for env {env!r}; choose one of "
                     f"{sorted(ENV_CONFIGS)}.")
  c = importlib.import_module(
      f"experiments.d4rl_benchmark.configs.{ENV_CONFIGS[env]}").get_config()
  c.levels = ("random", "medium", "medium-replay", "medium-expert", "expert")
  for name in ("dynamics", "reward", "score", "ensemble"):
    section = c[name]
    section.hidden = (1024,) * 4
    section.epochs = 1000
    section.batch_size = 2048
  c.bc.hidden = (1024,) * 2
  c.bc.epochs = 200
  c.bc.batch_size = 2048
  c.eval.episodes_per_seed = 10
  return c
