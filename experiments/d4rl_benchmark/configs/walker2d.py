"""walker2d data sets, CPU sizes.

The data come from a behaviour run of 1M SAC steps (reward scaling 5, discount
0.997, now make_dataset's walker2d defaults; 200k steps at reward scaling 1 and
discount 0.99 do not learn walker2d):
  python -m experiments.make_dataset.main --workdir=runs/data_walker2d \
      --config.env=walker2d --config.sac.num_timesteps=1000000 --config.sac.num_evals=51 \
      --config.sac.reward_scaling=5.0 --config.sac.discounting=0.997
As for hopper and ant, SGP uses beta = 1 on every level (beta_min 0.5), chosen before
any walker2d evaluation. Pass --config.data_dir=runs/data_walker2d/datasets. Override
the betas dict whole:
  --config.plan.betas="{'medium': 1.0, 'medium-expert': 1.0, ...}"
"""
from experiments.d4rl_benchmark.configs import hopper


def get_config():
  c = hopper.get_config()
  c.env = "walker2d"
  return c
