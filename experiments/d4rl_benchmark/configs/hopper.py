"""hopper data sets (experiments/make_dataset --config.env=hopper), CPU sizes.

SPEC B.8 gives no tuned SGP beta for hopper (its hopper-medium-expert sweep row has
beta = 0); we use beta = 1 on every level, chosen before any hopper evaluation.
Per-level betas are a dict with hyphenated keys, so override them whole:
  --config.plan.betas="{'medium': 1.0, 'medium-expert': 1.0, ...}"
"""
from experiments.d4rl_benchmark.configs import default

LEVELS = ("random", "medium", "medium-replay", "medium-expert", "expert")


def get_config():
  c = default.get_config()
  c.env = "hopper"
  c.levels = ("medium", "medium-expert")
  c.plan.betas = {level: 1.0 for level in LEVELS}
  c.plan.beta_mins = {level: 0.5 for level in LEVELS}
  return c
