"""D4RL-style benchmark configs (SPEC B.8, E.9): one table of per-env settings.

Pick the env (and the sizes) after a colon; halfcheetah at CPU sizes when omitted:
  --config=experiments/d4rl_benchmark/configs/default.py            halfcheetah, CPU
  --config=experiments/d4rl_benchmark/configs/default.py:hopper     hopper, CPU
  --config=experiments/d4rl_benchmark/configs/default.py:hopper,gpu hopper, B.8 sizes
  --config=experiments/d4rl_benchmark/configs/default.py:gpu        halfcheetah, B.8 sizes
CPU sizes: small models for a 2-core CPU, far below SPEC B.8 ([128]*3 networks; epochs:
dynamics 100, reward 50, score 200, ensemble 50, BC 50, value 50, termination 50;
dynamics, reward, score and BC take about 105 s per training seed on 50k transitions,
210 s on 100k, on the 2-core CPU; the benchmark's first runs trained 20 / 10 / 40 /
10 / 10 / 10 epochs, and RESULTS.md names each run's epochs); the planner settings
are B.8's (T = 8, lr 0.1, 50 iterations, warm start). "gpu": B.8's sizes ([1024]*4
networks, 1000 epochs, batch 2048), every level, 10 episodes per seed; point
--config.data_dir at full-size data sets (make_dataset --config.full=True).

The table `ENVS` holds what differs between envs: the levels run by default and the
per-level SGP beta and beta_min (`plan.betas`, `plan.beta_mins`; dicts with hyphenated
keys, so override them whole: --config.plan.betas="{'medium': 1.0, ...}").
  halfcheetah  SPEC B.8 rows: medium 0.2 (min 0.1), medium-expert 5 (min 1), random
               0.12 (min 0.09). B.8 has no medium-replay or expert row: medium-replay
               takes medium's values (an approximation), expert keeps 0.2 (min 0.1),
               our choice.
  hopper       SPEC B.8 gives no tuned beta (its hopper-medium-expert sweep row has
               beta = 0): beta = 1 on every level (min 0.5), chosen before any hopper
               evaluation.
  walker2d     as hopper, chosen before any walker2d evaluation. Its data come from a
               behaviour run of 1M SAC steps (reward scaling 5, discount 0.997; the
               make_dataset defaults for walker2d).
  ant          as hopper (B.8 gives no ant beta), chosen before any ant evaluation.
"""
import ml_collections

LEVELS = ("random", "medium", "medium-replay", "medium-expert", "expert")
_BETA_1 = dict(levels=("medium", "medium-expert"),
               betas={level: 1.0 for level in LEVELS},
               beta_mins={level: 0.5 for level in LEVELS})
ENVS = {
    "halfcheetah": dict(
        levels=("medium",),
        betas={"random": 0.12, "medium": 0.2, "medium-replay": 0.2, "medium-expert": 5.0,
               "expert": 0.2},
        beta_mins={"random": 0.09, "medium": 0.1, "medium-replay": 0.1,
                   "medium-expert": 1.0, "expert": 0.1}),
    "hopper": _BETA_1,
    "walker2d": _BETA_1,
    "ant": _BETA_1,
}
SIZES = ("cpu", "gpu")


def parse_config_arg(arg: str) -> tuple[str, str]:
  """'' | '<env>' | '<size>' | '<env>,<size>' -> (env, size)."""
  env, size = "halfcheetah", "cpu"
  for part in filter(None, (p.strip() for p in (arg or "").split(","))):
    if part in ENVS:
      env = part
    elif part in SIZES:
      size = part
    else:
      raise ValueError(f"default.py:{arg}: {part!r} is neither an env ({', '.join(ENVS)}) "
                       f"nor a size ({', '.join(SIZES)}); e.g. default.py:hopper,gpu.")
  return env, size


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  env, size = parse_config_arg(arg)
  table = ENVS[env]
  c = ml_collections.ConfigDict()
  c.seed = 0  # training seed s (< eval.num_seeds) initialises and batches with seed + s
  # The folder of `{env}-{level}.npz` written by experiments.make_dataset (its
  # <workdir>/datasets); required: pass --config.data_dir.
  c.data_dir = ""
  c.env = env
  c.levels = LEVELS if size == "gpu" else table["levels"]
  # Learned components (min/max normalisers; SPEC B.8 architecture, smaller on a CPU).
  train = dict(batch_size=256, learning_rate=1e-3, validation_fraction=0.01)
  c.dynamics = ml_collections.ConfigDict(dict(
      hidden=(128, 128, 128), activation="elu", layer_norm=True, epochs=100, **train))
  c.reward = ml_collections.ConfigDict(dict(
      hidden=(128, 128, 128), activation="elu", layer_norm=True, epochs=50, **train))
  c.score = ml_collections.ConfigDict(dict(
      hidden=(128, 128, 128), activation="elu", sigma_max=10 ** -0.5, sigma_min=1e-3,
      num_levels=10, epochs=200, batch_size=256, learning_rate=1e-3,
      validation_fraction=0.0))  # B.8: no split for the score
  c.ensemble = ml_collections.ConfigDict(dict(
      num_members=5, hidden=(128, 128, 128), activation="elu", layer_norm=True,
      epochs=50, **train))
  c.bc = ml_collections.ConfigDict(dict(
      hidden=(256, 256), activation="elu", layer_norm=False, epochs=50, **train))
  # The value beyond the horizon (the "+value" methods): V(x) regressing the data's
  # discounted Monte-Carlo returns-to-go (`sgp_jax.models.monte_carlo_returns`; a
  # timeout-cut episode continues with its mean reward: truncated_tail="mean_reward",
  # or "zero").
  c.value = ml_collections.ConfigDict(dict(
      hidden=(128, 128, 128), activation="elu", layer_norm=True, epochs=50,
      discount=0.99, truncated_tail="mean_reward", **train))
  # The termination model (the "+termination" methods): p(the episode ends on reaching
  # x') fitted on the data's terminal flags, terminal rows weighted by
  # sqrt(N_non-terminal / N_terminal) (`sgp_jax.models.termination`).
  c.termination = ml_collections.ConfigDict(dict(
      hidden=(128, 128), activation="elu", layer_norm=False, epochs=50, **train))
  # Planner (SPEC B.8 halfcheetah rows) and baselines at the same T and iterations.
  c.plan = ml_collections.ConfigDict(dict(
      horizon=8, num_iters=50, learning_rate=0.1, init_std=0.1, warm_start=True,
      beta_schedule="constant",  # the paper's figures (SPEC 0); "cosine" -> beta_min
      betas=dict(table["betas"]), beta_mins=dict(table["beta_mins"]),
      ensemble_beta=1.0,        # paper's ensemble baseline: mean_k J_k + beta Var_k J_k
      state_variance_beta=30.0,  # MOPO-style: beta sum_t tr Var_k f_k (normalised units)
      num_samples=16, num_elites=4, sample_std=0.3, temperature=1.0,
      # "+prior" methods: each solve starts from BC rolled through the model
      # ("prior"), or from the shifted previous plan completed by BC ("shift+prior").
      prior_warm_start="prior",
      value_weight=1.0,  # "+value" methods: cost -sum_t r_hat - value_weight V(x_T)
      # eval.select_beta: the betas tried on held-out episodes, as multiples of each
      # method's configured beta (the same grid, so the same budget, for every method).
      beta_grid=(0.0, 0.3, 1.0, 3.0, 10.0)))
  # Methods evaluated (names in methods.METHODS).
  c.methods = ("sgp", "beta0", "ensemble_cost_var", "ensemble_state_var", "mppi",
               "mppi_score", "mppi_state_var", "cem", "cem_score", "cem_state_var", "bc")
  # Closed-loop evaluation on the TRUE brax env.
  c.eval = ml_collections.ConfigDict(dict(
      seed=100,
      num_seeds=3,          # training seeds (models trained once per seed)
      episodes_per_seed=5,
      num_steps=1000,  # the standard protocol; fewer is NOT standard (reported as such)
      diagnose_steps=30, render=True,
      # Methods whose benchmark episodes are re-run with every plan recorded: plan
      # error and distance to data at every step ({level}_{method}_episodes.png).
      diagnose_episodes=(),
      # beta chosen on held-out episodes (their own key, heldout_seed != seed) for
      # every method with a beta (methods.SELECTED_BETA_METHODS) from plan.beta_grid;
      # the benchmark episodes then run at the chosen beta, and the configured beta
      # stays as the row "<method>@<beta>" (the fixed-beta ablation).
      select_beta=False, heldout_seed=200, heldout_episodes_per_seed=2,
      # SGP variants (each optionally "@<beta>") run on the same held-out episodes at
      # their configured beta; the best mean runs the benchmark episodes as the row
      # "sgp_selected" (methods.SELECTED_VARIANT). Empty: no variant selection.
      select_variant=()))
  if size == "gpu":  # SPEC B.8 sizes
    for name in ("dynamics", "reward", "score", "ensemble", "value", "termination"):
      c[name].hidden = (1024,) * 4
      c[name].epochs = 1000
      c[name].batch_size = 2048
    c.bc.hidden = (1024,) * 2
    c.bc.epochs = 200
    c.bc.batch_size = 2048
    c.eval.episodes_per_seed = 10
  return c
