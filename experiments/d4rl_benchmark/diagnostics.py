"""Why episodes succeed or fail: the model's error along plans, and per-step plan
error and distance to data along the benchmark's own episodes."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from experiments.d4rl_benchmark import methods as methods_lib
from sgp_jax import closed_loop, distance, envs


def diagnose(config, m: dict, params: dict, env, level: str) -> dict:
  """Model error along the first plans: predicted vs true open-loop states and rewards.

  One episode of config.eval.diagnose_steps MPC steps per method in ("sgp", "beta0"),
  with the models of the first training seed (`params` is one seed's dict);
  at every step the plan's actions are also rolled out on the true env from the
  same state (averages over the steps taken, if the episode ends early). Errors are
  in normalised state units (x / data range).
  """
  steps = config.eval.diagnose_steps
  planner, _ = methods_lib.make_planners(config, m, level)["sgp"]
  models = {k: params[k] for k in methods_lib.PLANNED_MODELS}
  short_env = envs.make_env(env.name, env.backend, episode_length=steps)
  evaluate = closed_loop.make_mpc_evaluator(short_env, planner, 1, warm_start=True,
                                            record_plans=True)
  scale = np.asarray(m["dynamics"].x_normalizer.scale)
  out = {}
  for name, beta in (("sgp", config.plan.betas[level]), ("beta0", 0.0)):
    eps = jax.device_get(evaluate(models, jax.random.PRNGKey(config.eval.seed), beta))
    valid = np.asarray(eps.valid[0])                           # steps before a fall
    pred, true = eps.plans.states[0][valid], eps.plans.true_states[0][valid]  # (n, T+1, dx)
    err = np.linalg.norm((pred - true) / scale, axis=-1)       # (n, T+1)
    pred_return = -eps.plans.costs[0][valid]                    # (n,) r_hat along plan
    true_return = eps.plans.true_rewards[0][valid].sum(-1)      # (n,)
    out[name] = {"beta": float(beta),
                 "state_error_by_horizon": err.mean(0).tolist(),
                 "predicted_plan_return": float(pred_return.mean()),
                 "true_plan_return": float(true_return.mean()),
                 "plan_states_first": pred[:3].tolist(),
                 "true_states_first": true[:3].tolist()}
  return out


def diagnose_episodes(config, m: dict, params: list, env, data, metadata: dict, level: str,
                      method: str, window: int = 20) -> tuple[dict, dict]:
  """Why episodes fail: model error and distance to data at every step of `method`'s
  benchmark episodes.

  Re-runs the S x E episodes of `evaluate_methods` (same keys and model sets, so the
  same episodes) with `record_plans`, and measures at every step t:
    plan_error[t]      ||x_hat_T - x_T|| / data range: the state error at the end of
                       the plan (h = T) against the true env's rollout of its actions;
    data_distance[t]   nearest distance of the executed (x_t, u_t) to the data's (x, u),
                       both normalised by the score model's normaliser.
  For scale, `in_data_distance` is the median nearest distance of 512 data points to
  the rest of the data. Returns (summary, series): per episode its score, length,
  whether it ended early (fell), and both measures' means over the whole episode and
  over its last `window` steps; series holds the (S*E, N) arrays (NaN after an
  episode's end), `valid` and the normalised executed (x_t, u_t) (S*E, N, dim_x + dim_u).
  A method with the termination model ("+termination") also gets, per episode, the
  model's probability at the last true state (the one that ended a fallen episode:
  does the model know the end?) and, over the last `window` steps, the mean of the
  highest probability along each plan's predicted states (did the plans see it?).
  """
  e = config.eval
  planner, beta = methods_lib.planner_for(methods_lib.make_planners(config, m, level), method)
  models = closed_loop.stack_models([{k: p[k] for k in methods_lib.PLANNED_MODELS} for p in params])
  evaluate = closed_loop.make_mpc_evaluator(
      env, planner, e.episodes_per_seed, warm_start=methods_lib.warm_start_for(config, method),
      record_plans=True, num_model_sets=len(params), prior=methods_lib.plan_prior(config, m))
  eps = jax.device_get(evaluate(models, jax.random.PRNGKey(e.seed), beta))
  scale = np.asarray(m["dynamics"].x_normalizer.scale)
  plan_error = np.linalg.norm((eps.plans.states[:, :, -1] - eps.plans.true_states[:, :, -1])
                              / scale, axis=-1)                         # (P, N)
  norm = m["score"].normalizer.normalize
  data_z = np.asarray(norm(data.xu()))
  executed = np.asarray(norm(jnp.concatenate([eps.observations, eps.actions], -1)))
  data_distance = _nearest_distance(executed, data_z)
  rng = np.random.default_rng(0)
  probe = rng.choice(len(data_z), size=min(512, len(data_z) // 2), replace=False)
  in_data = float(np.median(_nearest_distance(data_z[probe],
                                              np.delete(data_z, probe, axis=0))))
  valid = np.asarray(eps.valid)
  plan_error = np.where(valid, plan_error, np.nan)  # no step after an episode's end
  data_distance = np.where(valid, data_distance, np.nan)
  lengths = valid.sum(-1)
  scores = closed_loop.normalized_scores(np.asarray(eps.returns()), metadata)
  episodes = []
  for i, n in enumerate(lengths):
    last = slice(max(0, n - window), n)
    episodes.append({
        "seed": i // e.episodes_per_seed, "score": float(scores[i]), "length": int(n),
        "fell": bool(n < valid.shape[1]),
        "plan_error_mean": float(plan_error[i, :n].mean()),
        "plan_error_last": float(plan_error[i, last].mean()),
        "data_distance_mean": float(data_distance[i, :n].mean()),
        "data_distance_last": float(data_distance[i, last].mean())})
  if "termination" in methods_lib.models_needed((method,)):
    for episode, end_p, plan_p in zip(episodes, *_termination_probabilities(
        m["termination"], params, eps, lengths, e.episodes_per_seed, window)):
      episode.update(termination_p_end=end_p, plan_termination_p_last=plan_p)
  summary = {"method": method, "beta": float(beta), "window": window,
             "in_data_distance": in_data, "episodes": episodes}
  series = {"plan_error": plan_error, "data_distance": data_distance, "valid": valid,
            "executed": executed}
  return summary, series


def _termination_probabilities(model, params: list, eps, lengths, episodes_per_seed: int,
                               window: int) -> tuple[list, list]:
  """Per episode (seed s's termination model on its episodes): p(end) at the last true
  state x_n, and the mean over the last `window` steps of max_h p(x_hat_h), h = 1..T,
  along each step's plan."""
  end_p, plan_p = [], []
  for i, n in enumerate(lengths):
    p = params[i // episodes_per_seed]["termination"]
    end_p.append(float(model.probability(p, eps.next_observations[i, n - 1])))
    steps = slice(max(0, n - window), n)
    planned = np.asarray(model.probability(p, eps.plans.states[i, steps, 1:]))  # (w, T)
    plan_p.append(float(planned.max(-1).mean()))
  return end_p, plan_p


def _nearest_distance(z: np.ndarray, data: np.ndarray, chunk: int = 1024) -> np.ndarray:
  """`distance.nearest_distance` of z (..., d) to data (N, d), in query chunks of
  `chunk` (bounded memory, one compile)."""
  flat = z.reshape(-1, z.shape[-1])
  padded = np.pad(flat, ((0, -len(flat) % chunk), (0, 0)))
  nearest = jax.jit(distance.nearest_distance)
  data = jnp.asarray(data)
  out = np.concatenate([np.asarray(nearest(jnp.asarray(padded[i:i + chunk]), data))
                        for i in range(0, len(padded), chunk)])
  return out[:len(flat)].reshape(z.shape[:-1])
