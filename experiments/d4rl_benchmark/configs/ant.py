"""ant data sets (experiments/make_dataset --config.env=ant), CPU sizes.

SPEC B.8 gives no SGP beta for ant; as for hopper we use beta = 1 on every level
(beta_min 0.5), chosen before any ant evaluation. Override the betas dict whole:
  --config.plan.betas="{'medium': 1.0, 'medium-expert': 1.0, ...}"
"""
from experiments.d4rl_benchmark.configs import hopper


def get_config():
  c = hopper.get_config()
  c.env = "ant"
  return c
