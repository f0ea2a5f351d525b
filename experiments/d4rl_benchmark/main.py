r"""SGP-MPC on D4RL-style brax data sets with baselines (SPEC B.8, E.9), end to end.

For every level in --config.levels: loads `{data_dir}/{env}-{level}.npz` (made by
experiments/make_dataset), trains or resumes, for each training seed, the dynamics,
reward, NCSN xu score, dynamics ensemble, BC policy and value (those the methods
use), evaluates every method in closed loop on the TRUE brax env (terminate when
unhealthy; episode loop jitted and vmapped over seeds x episodes) and writes to
--workdir:
  {level}/seed_{s}/models/{dynamics,reward,score,ensemble,bc,value}/
                                               self-describing checkpoints
  {level}/seed_{s}/train_state/                resumable training checkpoints
  summary.json                                 scores per method (and per seed),
                                               returns, beta selections, paired
                                               differences of each SGP variant against
                                               each baseline, diagnostics, config,
                                               versions
  {level}_plan_vs_true.png                     model error along the first plans
  {level}_sgp_episode.html                     brax viewer of an SGP episode
  {level}_{method}_episodes.png               per-step plan error and distance to
                                               data (eval.diagnose_episodes)

Config fields (override with --config.FIELD=VALUE):
  seed                                   training seed s initialises and batches
                                         with seed + s
  env                                    halfcheetah | hopper | walker2d | ant
  levels                                 any of random, medium, medium-replay,
                                         medium-expert, expert
  data_dir                               required: the folder of {env}-{level}.npz,
                                         <workdir>/datasets of experiments.make_dataset
                                         (commands below)
  dynamics/reward/score/ensemble/bc/value/termination.*
                                         network sizes and training (hidden,
                                         activation, layer_norm, epochs, batch_size,
                                         learning_rate, validation_fraction)
  value.discount, value.truncated_tail   the value's targets: discounted returns-to-go
                                         of the data's episodes; a timeout-cut episode
                                         continues with its mean reward ("mean_reward")
                                         or stops ("zero")
  ensemble.num_members                   dynamics models in the ensemble
  score.sigma_max/sigma_min/num_levels   geometric noise levels (SPEC B.8)
  plan.horizon/num_iters/learning_rate/init_std/warm_start/beta_schedule
  plan.betas, plan.beta_mins             per-level SGP beta (SPEC B.8 table); the keys
                                         have hyphens, so override the whole dict:
                                         --config.plan.betas="{'medium': 1.0, ...}"
  plan.ensemble_beta, state_variance_beta   baseline penalty weights
  plan.num_samples/num_elites/sample_std/temperature   CEM and MPPI
  plan.prior_warm_start                  the "+prior" methods' start of each solve:
                                         "prior" (BC rolled through the model) or
                                         "shift+prior" (the shifted previous plan
                                         completed by BC)
  plan.value_weight                      w of the "+value" methods' -w V(x_T)
  plan.beta_grid                         betas tried by eval.select_beta, as multiples
                                         of each method's configured beta
  methods                                any of sgp, sgp+prior, sgp+value,
                                         sgp+prior+value (each also with
                                         "+termination" last: the learned
                                         termination model), beta0, ensemble_cost_var,
                                         ensemble_state_var, mppi, mppi_score,
                                         mppi_state_var, cem, cem_score, cem_state_var,
                                         bc (d4rl_benchmark/methods.py explains each);
                                         a planning method as "<method>@<beta>"
                                         overrides its beta
  eval.num_seeds/episodes_per_seed       training seeds, episodes per seed
  eval.seed                              env initial states and planner noise
  eval.num_steps                         1000 = the standard protocol
  eval.diagnose_steps, eval.render       plan-vs-true diagnostic, HTML render
  eval.diagnose_episodes                 methods whose episodes are re-run recording
                                         every plan: plan error and distance to data
                                         per step ({level}_{method}_episodes.png), to
                                         see why episodes fall or stall
  eval.select_beta                       choose each method's beta on held-out
                                         episodes (eval.heldout_seed, distinct from
                                         eval.seed; eval.heldout_episodes_per_seed per
                                         training seed, every beta of plan.beta_grid),
                                         then run the benchmark episodes at it; the
                                         configured beta stays as "<method>@<beta>"
  eval.select_variant                    SGP variants (each optionally "@<beta>") run
                                         on the same held-out episodes; the best mean
                                         runs the benchmark episodes as the row
                                         "sgp_selected", e.g.
                                         --config.eval.select_variant='("sgp",
                                         "sgp+prior","sgp+prior+value")'

Configs: configs/default.py holds one table of per-env settings; pick the env and
the sizes after a colon (halfcheetah at CPU sizes when omitted): default.py:hopper,
default.py:walker2d, default.py:ant; add ",gpu" for SPEC B.8's sizes (every level,
[1024]*4 networks, 1000 epochs), e.g. default.py:hopper,gpu.

Examples:
  python -m experiments.make_dataset.main --workdir=runs/data_halfcheetah
  python -m experiments.d4rl_benchmark.main --workdir=runs/d4rl \
      --config.data_dir=runs/data_halfcheetah/datasets
  python -m experiments.make_dataset.main --workdir=runs/data_hopper --config.env=hopper
  python -m experiments.d4rl_benchmark.main --workdir=runs/d4rl \
      --config=experiments/d4rl_benchmark/configs/default.py:hopper \
      --config.data_dir=runs/data_hopper/datasets
  python -m experiments.d4rl_benchmark.main --workdir=runs/d4rl \
      --config=experiments/d4rl_benchmark/configs/default.py:hopper,gpu \
      --config.data_dir=runs/data_hopper/datasets   # B.8 sizes
"""
from absl import app

from experiments import launcher
from experiments.d4rl_benchmark import pipeline

_WORKDIR, _CONFIG = launcher.define_launcher_flags(__file__)

if __name__ == "__main__":
  app.run(launcher.launcher_main(pipeline.run, pipeline.format_summary, _WORKDIR, _CONFIG),
          flags_parser=launcher.parse_flags)
