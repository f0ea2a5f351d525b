"""SPEC B.8 sizes: [1024]*4 networks, 1000 epochs, batch 2048 (for an accelerator)."""
from experiments.d4rl_benchmark.configs import default


def get_config():
  c = default.get_config()
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
