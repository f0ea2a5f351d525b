"""Closed-loop evaluation of a planner on a TRUE environment (SPEC A.7, B.8, E.9).

`make_mpc_evaluator(env, planner, num_episodes)` builds one jitted function

  evaluate(models, key, beta) -> Episodes

whose whole episode loop is a `lax.while_loop` over environment steps with MPC inside
(the planner's full solve from the current observation, warm start = the previous
solution shifted one step, u_0 applied with `env.step`), `vmap`ped over episodes,
and sharded over the episode axis when several devices are present (those of every
process after `distributed.initialize`; every process then gets all episodes). The env is
anything with the `sgp_jax.envs.Env` protocol (reset / step, `EnvState` with
`terminal` / `truncated`); the standard protocol (terminate when unhealthy, time
limit `env.episode_length`) comes from the env. The loop stops once every episode
of the batch has ended; the steps after an episode's end are zero and marked
invalid (`valid`, as in `sgp_jax.envs.make_rollout`'s rollouts of policies, which
is what a policy baseline such as behaviour cloning uses).

`normalized_scores(returns, metadata)` puts returns on the 0-100 scale with the
data set's reference returns (`sgp_jax.data.dataset_normalized_score`);
`score_summary` gives mean +- std; `replay` re-runs an episode's actions to get the
simulator states for rendering; `plan_vs_true` compares a plan's predicted states
with the true env's open-loop rollout of the same actions (model error along a plan).
"""
from __future__ import annotations

from typing import Any, Mapping, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np

from sgp_jax import distributed
from sgp_jax.data.scores import dataset_normalized_score
from sgp_jax.planning.mpc import shift_plan
from sgp_jax.types import Array, PRNGKey


class Episodes(NamedTuple):
  """P closed-loop episodes padded to N steps (leading axis P on every field); the
  steps after an episode ended (valid False) hold zeros.

  observations: (P, N, dim_obs) the observation each action was planned from.
  actions: (P, N, dim_u) the applied actions.
  rewards: (P, N) the TRUE rewards.
  valid: (P, N) bool, steps taken before the episode ended (a prefix of each row).
  terminals: (P, N) bool, the env terminated (unhealthy) at that step.
  plan_costs: (P, N) each replan's final cost under the learned models.
  plan_states: (P, N, T+1, dim_obs) each replan's predicted states, or (P, N, 0)
    if not recorded.
  plan_true_states: (P, N, T+1, dim_obs) the true env's open-loop rollout of each
    replan's actions from the same state (`plan_vs_true`), or (P, N, 0).
  plan_true_rewards: (P, N, T) the true rewards along those rollouts, or (P, N, 0).
  """
  observations: Array
  actions: Array
  rewards: Array
  valid: Array
  terminals: Array
  plan_costs: Array
  plan_states: Array
  plan_true_states: Array
  plan_true_rewards: Array

  def returns(self) -> Array:
    """Undiscounted TRUE return of each episode, shape (P,)."""
    return jnp.sum(jnp.where(self.valid, self.rewards, 0.0), axis=-1)

  def lengths(self) -> Array:
    """Steps taken in each episode, shape (P,)."""
    return jnp.sum(self.valid, axis=-1)


def episode_keys(key: PRNGKey, num_episodes: int):
  """Per-episode (reset key, planner key), each (P, 2): the evaluator's key split.

  `replay` uses the reset keys to rebuild an episode's initial state exactly.
  """
  keys = jax.random.split(key, num_episodes)
  pairs = jax.vmap(jax.random.split)(keys)
  return pairs[:, 0], pairs[:, 1]


def make_mpc_evaluator(env, planner, num_episodes: int, num_steps: Optional[int] = None,
                       warm_start: bool = True, record_plans: bool = False,
                       num_model_sets: Optional[int] = None):
  """A jitted `evaluate(models, key, beta) -> Episodes` of MPC on the true `env`.

  Args:
    env: an `sgp_jax.envs.Env` (e.g. `envs.make_env("halfcheetah")`).
    planner: an initial-value planner with the `GradientPlanner` contract
      (single shooting, loss shooting, CEM, MPPI); its models are `models`.
    num_episodes: P parallel episodes (vmapped; sharded over the devices of all
      processes, `distributed.batch_mesh`, when the device count divides P).
    num_steps: N control steps per episode; default `env.episode_length` (the
      standard protocol). Fewer steps is a shortened, NON-standard protocol.
    warm_start: start each solve from the previous solution shifted by one step.
    record_plans: also return every replan's predicted states and the true
      open-loop rollout of its actions (T extra env steps per control step;
      memory 2 P N (T+1) dim_obs floats): a diagnostic of model error.
    num_model_sets: None: `models` is one set of parameters shared by all P
      episodes. S: every leaf of `models` has a leading axis S (independently
      trained model sets, e.g. training seeds, stacked with `stack_models`); set s
      runs episodes s*P .. (s+1)*P - 1, all S*P in one vmapped call, and the
      returned `Episodes` have S*P rows in that order.

  Returns:
    evaluate(models, key, beta): models the planner's model pytree, key a PRNG
    key (split into per-episode reset and planner keys by `episode_keys`), beta
    the penalty weight (scalar). One compile serves every key, beta and set of
    model parameters of the same shapes.
  """
  num_steps = int(env.episode_length if num_steps is None else num_steps)
  if num_steps < 1 or num_episodes < 1:
    raise ValueError(f"num_steps and num_episodes must be >= 1, got {num_steps}, "
                     f"{num_episodes}.")

  def episode(models, key_reset, key_plan, beta) -> Episodes:
    state0 = env.reset(key_reset)
    key_init, key_steps = jax.random.split(key_plan)
    theta0 = planner.init(models, state0.obs, key_init).theta
    step_keys = jax.random.split(key_steps, num_steps)

    def control_step(state, theta_init, key_t):
      plan = planner.solve_traced(models, state.obs, key_t, beta,
                                  theta_init if warm_start else None)
      u = plan.actions[0]
      nxt = env.step(state, u)
      if record_plans:
        true_states, true_rewards = plan_vs_true(env, state, plan.actions)
        plans = (plan.states, true_states, true_rewards)
      else:
        plans = (jnp.zeros((0,)),) * 3
      record = Episodes(state.obs, u, nxt.reward, jnp.ones((), bool), nxt.terminal,
                        plan.cost, *plans)
      return nxt, shift_plan(plan.theta), record

    # The loop stops when the episode ends (under vmap: when every episode of the
    # batch has ended), so episodes that fall early cost only the steps they take.
    shapes = jax.eval_shape(control_step, state0, theta0, step_keys[0])[2]
    buffers = jax.tree.map(lambda s: jnp.zeros((num_steps,) + s.shape, s.dtype), shapes)

    def not_done(carry):
      t, _, _, alive, _ = carry
      return alive & (t < num_steps)

    def body(carry):
      t, state, theta_init, _, records = carry
      nxt, theta_next, record = control_step(state, theta_init, step_keys[t])
      records = jax.tree.map(
          lambda buf, r: jax.lax.dynamic_update_index_in_dim(buf, r, t, 0), records, record)
      return t + 1, nxt, theta_next, ~nxt.done, records

    carry = (jnp.zeros((), jnp.int32), state0, theta0, jnp.ones((), bool), buffers)
    return jax.lax.while_loop(not_done, body, carry)[-1]

  per_set = jax.vmap(episode, in_axes=(None, 0, 0, None))
  if num_model_sets is None:
    batched = jax.jit(per_set)
    total = num_episodes
  else:
    sets = int(num_model_sets)
    if sets < 1:
      raise ValueError(f"num_model_sets must be >= 1, got {sets}.")
    total = sets * num_episodes
    stacked = jax.vmap(per_set, in_axes=(0, 0, 0, None))

    @jax.jit
    def batched(models, keys_reset, keys_plan, beta):  # keys (S, P, 2)
      eps = stacked(models, keys_reset, keys_plan, beta)
      return jax.tree.map(lambda a: a.reshape((total,) + a.shape[2:]), eps)

  def evaluate(models, key: PRNGKey, beta) -> Episodes:
    keys, axis = episode_keys(key, total), 0
    if num_model_sets is not None:
      _check_model_sets(models, num_model_sets)
      keys, axis = jax.tree.map(
          lambda k: k.reshape((num_model_sets, num_episodes) + k.shape[1:]), keys), 1
    beta = jnp.asarray(beta, jnp.float32)
    mesh = distributed.batch_mesh("episodes")
    if mesh.size == 1 or num_episodes % mesh.size:
      return batched(models, *keys, beta)
    episodes = batched(distributed.replicate(models, mesh),
                       *distributed.shard_batch(keys, mesh, axis),
                       distributed.replicate(beta, mesh))
    return distributed.gather(episodes)

  return evaluate


def stack_models(model_sets):
  """[models_0, ..., models_{S-1}] (same structure and shapes) -> one pytree with a
  leading axis S on every leaf, for `make_mpc_evaluator(..., num_model_sets=S)`."""
  model_sets = list(model_sets)
  if not model_sets:
    raise ValueError("stack_models needs at least one set of models.")
  structs = [jax.tree_util.tree_structure(m) for m in model_sets]
  if any(s != structs[0] for s in structs[1:]):
    raise ValueError("stack_models: the model sets have different pytree structures.")
  return jax.tree.map(lambda *leaves: jnp.stack(leaves), *model_sets)


def _check_model_sets(models, num_model_sets: int) -> None:
  for path, leaf in jax.tree_util.tree_leaves_with_path(models):
    if jnp.ndim(leaf) < 1 or jnp.shape(leaf)[0] != num_model_sets:
      raise ValueError(
          f"num_model_sets={num_model_sets}: every leaf of `models` needs a leading axis "
          f"of that size (use evaluation.stack_models), but "
          f"{jax.tree_util.keystr(path)} has shape {jnp.shape(leaf)}.")


def normalized_scores(returns, metadata: Mapping[str, Any]) -> np.ndarray:
  """Returns (P,) -> scores (P,) on the 0-100 scale with the data set's references."""
  return np.asarray(dataset_normalized_score(np.asarray(returns), metadata))


def score_summary(scores) -> dict:
  """mean, std (population, over episodes), min, max and count of scores (P,)."""
  s = np.asarray(scores, np.float64).reshape(-1)
  return {"mean": float(s.mean()), "std": float(s.std()), "min": float(s.min()),
          "max": float(s.max()), "num_episodes": int(s.size)}


def replay(env, key_reset: PRNGKey, actions: Array, num_steps: Optional[int] = None):
  """Simulator states of an episode re-run from its reset key with the given actions.

  actions: (N, dim_u). Returns the list of the backend's states (brax
  `pipeline_state`s, N_valid + 1 of them; stops at termination), e.g. for
  `brax.io.html.render(env.brax_env.sys, states)`. Deterministic envs reproduce
  the evaluated episode exactly.
  """
  actions = jnp.asarray(actions)
  n = actions.shape[0] if num_steps is None else int(num_steps)

  def body(state, u):
    nxt = env.step(state, u)
    return nxt, (nxt.sim, nxt.done)

  state0 = env.reset(key_reset)
  _, (sims, done) = jax.jit(lambda s, a: jax.lax.scan(body, s, a))(state0, actions[:n])
  done = np.asarray(done)
  last = int(np.argmax(done)) + 1 if done.any() else n
  sims = jax.device_get(sims)
  return [state0.sim] + [jax.tree.map(lambda a, i=i: a[i], sims) for i in range(last)]


def plan_vs_true(env, state, actions: Array):
  """The true env's open-loop rollout of a plan's actions from `state` (an EnvState).

  actions: (T, dim_u). Returns (observations (T+1, dim_obs), rewards (T,)), to
  compare with the plan's predicted states (model error along the plan).
  """
  def body(s, u):
    nxt = env.step(s, u)
    return nxt, (nxt.obs, nxt.reward)
  _, (obs, rewards) = jax.lax.scan(body, state, actions)
  return jnp.concatenate([state.obs[None], obs], 0), rewards


__all__ = ["Episodes", "episode_keys", "make_mpc_evaluator", "stack_models",
           "normalized_scores",
           "score_summary", "replay", "plan_vs_true"]
