"""The receding-horizon closed loop: controllers acting on a TRUE env (SPEC A.7, B.8, E.9).

One loop runs every controller on every env of the `sgp_jax.envs.Env` protocol
(a brax env, or a pure-JAX system through `envs.SystemEnv`). An episode is a
`lax.while_loop` over env steps that stops once the episode ends (under `vmap`:
once every episode of the batch has ended); each step the controller chooses an
action from the current `EnvState` and `env.step` applies it. The steps after an
episode's end are zeros marked invalid (`Episodes.valid`).

Controllers (`Controller`: pure `init` and `act`):
  * `mpc_controller(planner)`: MPC around any initial-value planner. At every step
    the planner runs its full solve from the current observation (so the sigma
    annealing restarts on every replan) and its first action is applied. Where
    each solve starts (`warm_start`, `WARM_STARTS`): "shift" the previous solution
    shifted one step (`shift_plan`, no noise); "random" the planner's own random
    initialisation; "prior" a plan prior's actions from the current observation
    (`planning.policy_prior`: e.g. the BC policy rolled through the learned
    model); "shift+prior" the previous plan shifted one step whose new last
    action is the prior's (the policy at the model's state after the kept
    actions). With a prior, the first solve starts from the prior too.
  * `policy_controller(policy_apply)`: a feedback policy u = pi(params, obs, key),
    e.g. behaviour cloning or a data-generating behaviour policy.

Entry points:
  make_mpc_evaluator(env, planner, P)     evaluate(models, key, beta) -> Episodes
  make_policy_evaluator(env, policy, P)   evaluate(params, key) -> Episodes
  make_mpc(env, planner, N)               run(models, x0s, keys, betas) -> Episodes
                                          (MPC from given initial states)
  make_closed_loop(env, controller, P)    the general form of the first two
The evaluators reset episode i from the reset key i of `episode_keys(key, P)`, so a
policy and a planner evaluated with the same key start from the same states
(paired comparisons). They vmap over episodes and over stacked parameter sets
(`stack_models`), and shard the episodes over every device of every process
(`sgp_jax.distributed`) when the device count divides P.

Also: `normalized_scores` (the 0-100 scale of the data set's reference returns),
`score_summary`, `paired_difference` (two methods' scores on the same episodes),
`replay` (an episode's simulator states, for rendering),
`plan_vs_true` (a plan's predicted states against the true env's rollout of its
actions) and `collect_episodes` (whole episodes of several policies, for data sets).
"""
from __future__ import annotations

from typing import (Any, Callable, Dict, Mapping, NamedTuple, Optional, Sequence,
                    Tuple)

import jax
import jax.numpy as jnp
import numpy as np

from sgp_jax import distributed
from sgp_jax.data.scores import dataset_normalized_score
from sgp_jax.envs.base import Env, EnvState, PolicyApply
from sgp_jax.planning.base import Planner, check_x0, solve_traced
from sgp_jax.planning import base as planning_base
from sgp_jax.types import Array, Params, PRNGKey


class PlanRecord(NamedTuple):
  """What MPC records of each replan (leading axes (P, N) in `Episodes.plans`).

  costs: () the plan's final task cost under the planner's models.
  actions: (T, dim_u) the planned actions (actions[0] was applied).
  states: (T+1, dim_obs) the states the plan predicts, or (0,) if not recorded.
  true_states: (T+1, dim_obs) the true env's open-loop rollout of the plan's
    actions from the same state (`plan_vs_true`), or (0,).
  true_rewards: (T,) the true rewards along that rollout, or (0,).
  """
  costs: Array
  actions: Array
  states: Array
  true_states: Array
  true_rewards: Array


class Episodes(NamedTuple):
  """P closed-loop episodes padded to N steps (leading axis P on every field); the
  steps after an episode ended (valid False) hold zeros.

  observations: (P, N, dim_obs) the observation each action was chosen from.
  actions: (P, N, dim_u) the applied actions.
  rewards: (P, N) the TRUE rewards.
  next_observations: (P, N, dim_obs) the true successors (at an episode's last
    step the state it ended in, never a reset).
  terminals: (P, N) bool, the env terminated (e.g. unhealthy) at that step.
  timeouts: (P, N) bool, the env's time limit was reached at that step.
  valid: (P, N) bool, steps taken before the episode ended (a prefix of each row).
  plans: a `PlanRecord` with leading axes (P, N) for MPC; None for a policy.
  """
  observations: Array
  actions: Array
  rewards: Array
  next_observations: Array
  terminals: Array
  timeouts: Array
  valid: Array
  plans: Optional[PlanRecord]

  def returns(self) -> Array:
    """Undiscounted TRUE return of each episode, shape (P,)."""
    return jnp.sum(jnp.where(self.valid, self.rewards, 0.0), axis=-1)

  def lengths(self) -> Array:
    """Steps taken in each episode, shape (P,)."""
    return jnp.sum(self.valid, axis=-1)

  def states(self) -> Array:
    """The visited states x_0..x_N, shape (P, N+1, dim_obs) (zeros after an end)."""
    return jnp.concatenate([self.observations[..., :1, :], self.next_observations], -2)


class Controller(NamedTuple):
  """A feedback law as two pure functions (`shared` = arguments every episode shares,
  e.g. MPC's beta):

  init(params, state0: EnvState, key, *shared) -> carry
  act(params, carry, state: EnvState, key, *shared) -> (action, carry, plans)
    plans: a `PlanRecord` or None.
  """
  init: Callable
  act: Callable


def shift_plan(theta):
  """Shifts every leaf one step left along axis 0 and repeats its last element."""
  return jax.tree_util.tree_map(lambda a: jnp.concatenate([a[1:], a[-1:]], 0), theta)


def episode_keys(key: PRNGKey, num_episodes: int) -> Tuple[Array, Array]:
  """Per-episode (reset key, controller key), each (P, 2): the evaluators' key split.

  `replay` uses the reset keys to rebuild an episode's initial state exactly.
  """
  keys = jax.random.split(key, num_episodes)
  pairs = jax.vmap(jax.random.split)(keys)
  return pairs[:, 0], pairs[:, 1]


# ---------------------------------------------------------------- the planner contract
# Every call into a planner (`sgp_jax.planning.base.Planner`) is here: init (the first
# decision variables), the solve inside the loop, and the host checks.
def _plan_init(planner: Planner, models, obs: Array, key: PRNGKey):
  return planner.init(models, obs, key).theta


def _plan_solve(planner: Planner, models, obs: Array, key: PRNGKey, beta, theta_init):
  """-> (actions (T, dim_u), predicted states (T+1, dim_obs), cost (), theta)."""
  plan = solve_traced(planner, models, obs, key, beta, theta_init)
  return plan.actions, plan.states, plan.cost, plan.theta


def _check_initial_value_planner(planner: Planner) -> None:
  if not planner.initial_value:
    raise ValueError("MPC needs an initial-value planner; this planner has a fixed "
                     "x_goal (BVP), which a receding horizon cannot keep.")


def _check_plan_inputs(planner: Planner, models, x0: Array) -> None:
  check_x0(planner, x0)
  planner.check_models(models)


# ---------------------------------------------------------------- controllers
WARM_STARTS = ("shift", "random", "prior", "shift+prior")


def _warm_start_mode(warm_start, prior) -> str:
  """True -> "shift", False -> "random"; checks the mode and that a prior comes with it."""
  mode = ("shift" if warm_start else "random") if isinstance(warm_start, bool) else warm_start
  if mode not in WARM_STARTS:
    raise ValueError(f"warm_start must be True, False or one of {WARM_STARTS}, got "
                     f"{warm_start!r}.")
  if mode.endswith("prior") and prior is None:
    raise ValueError(f"warm_start={mode!r} needs a plan prior: pass prior="
                     "planning.policy_prior(policy_apply, dynamics_apply, horizon).")
  return mode


def _check_prior_shape(planner: Planner, models, obs: Array, key: PRNGKey, actions):
  theta = jax.eval_shape(lambda: _plan_init(planner, models, obs, key))
  if getattr(theta, "shape", None) != actions.shape:
    raise ValueError(f"a plan prior gives actions {actions.shape}, but this planner's "
                     f"decision variables are {jax.tree.map(lambda a: a.shape, theta)}: "
                     "a prior needs a planner whose decision variables are its actions "
                     "(T, dim_u) (single or loss shooting, CEM, MPPI) of the same T.")


def mpc_controller(planner: Planner, warm_start=True, true_env: Optional[Env] = None,
                   prior=None) -> Controller:
  """MPC around an initial-value planner; params = the planner's models, shared = (beta,).

  Args:
    planner: an initial-value `sgp_jax.planning.Planner` (single or loss shooting,
      collocation / transcription without x_goal, CEM, MPPI).
    warm_start: where each solve starts, one of `WARM_STARTS` (see the module
      docstring): "shift" (or True) the previous solution shifted one step;
      "random" (or False) the planner's random initialisation; "prior" the prior's
      actions at every step; "shift+prior" the shifted previous plan completed by
      the prior.
    true_env: if given, also record each replan's predicted states and the true
      open-loop rollout of its actions on this env (T extra env steps per step).
    prior: with the prior modes, `prior(models, x0, head=None) -> actions (T,
      dim_u)` (`sgp_jax.planning.policy_prior`); it reads its parameters from the
      planner's models. The planner's decision variables must be its actions.
  """
  _check_initial_value_planner(planner)
  mode = _warm_start_mode(warm_start, prior)

  def init(models, state0: EnvState, key: PRNGKey, beta):
    del beta
    if mode in ("prior", "shift+prior"):
      actions = prior(models, state0.obs)
      _check_prior_shape(planner, models, state0.obs, key, actions)
      return actions
    return _plan_init(planner, models, state0.obs, key)

  def start(models, carry, obs):
    if mode == "shift":
      return carry
    if mode == "prior":
      return prior(models, obs)
    if mode == "shift+prior":
      return prior(models, obs, carry[:-1])  # carry = previous plan shifted
    return None

  def act(models, theta_init, state: EnvState, key: PRNGKey, beta):
    actions, states, cost, theta = _plan_solve(
        planner, models, state.obs, key, beta, start(models, theta_init, state.obs))
    if true_env is not None:
      plans = PlanRecord(cost, actions, states, *plan_vs_true(true_env, state, actions))
    else:
      none = jnp.zeros((0,))
      plans = PlanRecord(cost, actions, none, none, none)
    return actions[0], shift_plan(theta), plans

  return Controller(init=init, act=act)


def policy_controller(policy_apply: PolicyApply) -> Controller:
  """A feedback policy u = policy_apply(params, obs, key); no carry, no plans."""

  def init(params, state0: EnvState, key: PRNGKey):
    del params, state0, key
    return ()

  def act(params, carry, state: EnvState, key: PRNGKey):
    return policy_apply(params, state.obs, key), carry, None

  return Controller(init=init, act=act)


# ---------------------------------------------------------------- the loop
def make_episode(env: Env, controller: Controller, num_steps: Optional[int] = None
                 ) -> Callable[..., Episodes]:
  """The one closed loop: `episode(params, state0, key, *shared) -> Episodes` of one
  episode (no leading P axis; not jitted) from the EnvState state0.

  key splits into the controller's init key and one key per step. The loop runs
  num_steps steps (default `env.episode_length`) or until the episode ends.
  """
  num_steps = int(env.episode_length if num_steps is None else num_steps)
  if num_steps < 1:
    raise ValueError(f"num_steps must be >= 1, got {num_steps}.")

  def episode(params, state0: EnvState, key: PRNGKey, *shared) -> Episodes:
    key_init, key_steps = jax.random.split(key)
    carry0 = controller.init(params, state0, key_init, *shared)
    step_keys = jax.random.split(key_steps, num_steps)

    def control_step(state, carry, key_t):
      u, carry, plans = controller.act(params, carry, state, key_t, *shared)
      nxt = env.step(state, u)
      record = Episodes(state.obs, u, nxt.reward, nxt.obs, nxt.terminal, nxt.truncated,
                        jnp.ones((), bool), plans)
      return nxt, carry, record

    # The loop stops when the episode ends (under vmap: when every episode of the
    # batch has ended), so episodes that end early cost only the steps they take.
    shapes = jax.eval_shape(control_step, state0, carry0, step_keys[0])[2]
    buffers = jax.tree.map(lambda s: jnp.zeros((num_steps,) + s.shape, s.dtype), shapes)

    def not_done(loop):
      t, _, _, alive, _ = loop
      return alive & (t < num_steps)

    def body(loop):
      t, state, carry, _, records = loop
      nxt, carry, record = control_step(state, carry, step_keys[t])
      records = jax.tree.map(
          lambda buf, r: jax.lax.dynamic_update_index_in_dim(buf, r, t, 0), records, record)
      return t + 1, nxt, carry, ~nxt.done, records

    loop = (jnp.zeros((), jnp.int32), state0, carry0, jnp.ones((), bool), buffers)
    return jax.lax.while_loop(not_done, body, loop)[-1]

  return episode


def make_closed_loop(env: Env, controller: Controller, num_episodes: int,
                     num_steps: Optional[int] = None,
                     num_param_sets: Optional[int] = None) -> Callable[..., Episodes]:
  """`run(params, key, *shared) -> Episodes` of num_episodes episodes reset by the env.

  Args:
    env: an `sgp_jax.envs.Env`.
    controller: a `Controller` (`mpc_controller`, `policy_controller`).
    num_episodes: P parallel episodes (vmapped; sharded over the devices of all
      processes, `distributed.batch_mesh`, when the device count divides P).
    num_steps: N control steps per episode; default `env.episode_length` (the
      standard protocol). Fewer steps is a shortened, NON-standard protocol.
    num_param_sets: None: `params` is one parameter pytree shared by all P
      episodes. S: every leaf of `params` has a leading axis S (independently
      trained sets, e.g. training seeds, stacked with `stack_models`); set s runs
      episodes s*P .. (s+1)*P - 1, all S*P in one vmapped call, and the returned
      `Episodes` have S*P rows in that order.

  Returns:
    run(params, key, *shared): episode i starts from `env.reset(keys_reset[i])` and
    its controller uses keys_control[i], (keys_reset, keys_control) =
    `episode_keys(key, S*P)`; `shared` goes to every episode unbatched. Jitted: one
    compile serves every key and parameter set of the same shapes.
  """
  if num_episodes < 1:
    raise ValueError(f"num_episodes must be >= 1, got {num_episodes}.")
  episode = make_episode(env, controller, num_steps)

  def from_reset(params, key_reset, key_control, shared):
    return episode(params, env.reset(key_reset), key_control, *shared)

  per_set = jax.vmap(from_reset, in_axes=(None, 0, 0, None))
  if num_param_sets is None:
    batched = jax.jit(per_set)
    total = num_episodes
  else:
    sets = int(num_param_sets)
    if sets < 1:
      raise ValueError(f"num_param_sets must be >= 1, got {sets}.")
    total = sets * num_episodes
    stacked = jax.vmap(per_set, in_axes=(0, 0, 0, None))

    @jax.jit
    def batched(params, keys_reset, keys_control, shared):  # keys (S, P, 2)
      eps = stacked(params, keys_reset, keys_control, shared)
      return jax.tree.map(lambda a: a.reshape((total,) + a.shape[2:]), eps)

  def run(params, key: PRNGKey, *shared) -> Episodes:
    keys, axis = episode_keys(key, total), 0
    if num_param_sets is not None:
      _check_param_sets(params, num_param_sets)
      keys, axis = jax.tree.map(
          lambda k: k.reshape((num_param_sets, num_episodes) + k.shape[1:]), keys), 1
    mesh = distributed.batch_mesh("episodes")
    if mesh.size == 1 or num_episodes % mesh.size:
      return batched(params, *keys, shared)
    episodes = batched(distributed.replicate(params, mesh),
                       *distributed.shard_batch(keys, mesh, axis),
                       distributed.replicate(shared, mesh))
    return distributed.gather(episodes)

  return run


def make_mpc_evaluator(env: Env, planner: Planner, num_episodes: int,
                       num_steps: Optional[int] = None, warm_start=True,
                       record_plans: bool = False,
                       num_model_sets: Optional[int] = None,
                       prior=None) -> Callable[..., Episodes]:
  """A jitted `evaluate(models, key, beta) -> Episodes` of MPC on the true `env`.

  Args:
    env: an `sgp_jax.envs.Env` (e.g. `envs.make_env("halfcheetah")`).
    planner: an initial-value planner (`mpc_controller`); its models are `models`.
    num_episodes, num_steps: as `make_closed_loop`.
    warm_start, prior: where each solve starts (`mpc_controller`): "shift" (True)
      the previous solution shifted by one step, "random" (False), "prior" or
      "shift+prior" with a plan prior (`planning.policy_prior`).
    record_plans: also record every replan's predicted states and the true
      open-loop rollout of its actions (`Episodes.plans`; T extra env steps per
      control step; memory 2 P N (T+1) dim_obs floats): a diagnostic of model error.
    num_model_sets: `make_closed_loop`'s num_param_sets (stacked model sets).

  Returns:
    evaluate(models, key, beta): beta the penalty weight (scalar), the same for
    every episode. Reset keys as `make_closed_loop` (shared with
    `make_policy_evaluator`, so a policy gets the same initial states).
  """
  run = make_closed_loop(env, mpc_controller(planner, warm_start,
                                             env if record_plans else None, prior),
                         num_episodes, num_steps, num_model_sets)

  def evaluate(models, key: PRNGKey, beta) -> Episodes:
    return run(models, key, jnp.asarray(beta, jnp.float32))

  return evaluate


def make_policy_evaluator(env: Env, policy_apply: PolicyApply, num_episodes: int,
                          num_steps: Optional[int] = None,
                          num_param_sets: Optional[int] = None
                          ) -> Callable[[Params, PRNGKey], Episodes]:
  """A jitted `evaluate(params, key) -> Episodes` of a feedback policy on `env`.

  The same loop, episode keys and parameter-set stacking as `make_mpc_evaluator`:
  with the same key, episode i starts from the same state as the planners' episode i.
  Build it once per (env, policy) and call it with different params (e.g. several
  checkpoints of one network) without recompiling.
  """
  return make_closed_loop(env, policy_controller(policy_apply), num_episodes, num_steps,
                          num_param_sets)


def make_mpc(env: Env, planner: Planner, num_steps: Optional[int] = None,
             warm_start=True, record_plans: bool = False,
             prior=None) -> Callable[..., Episodes]:
  """MPC from given initial states: `run(models, x0s, keys, betas) -> Episodes`.

  env: an env that can start an episode at a given state (`envs.SystemEnv`, whose
  observation is the state; e.g. `SystemEnv(step_fn, dim_x, dim_u)` for a
  pure-JAX system). x0s (B, dim_obs), keys (B, 2) (each split as `make_episode`
  does), betas (B,) or a scalar. `Episodes.states()` is the executed trajectory
  (B, N+1, dim_obs) and `Episodes.plans` every replan's cost and actions. Jitted.
  warm_start, prior: as `mpc_controller`.
  """
  if not hasattr(env, "state_at"):
    raise ValueError(f"make_mpc needs an env that starts at given states (state_at), "
                     f"e.g. envs.SystemEnv; got {type(env).__name__}. Use "
                     f"make_mpc_evaluator for envs that only reset.")
  episode = make_episode(env, mpc_controller(planner, warm_start,
                                             env if record_plans else None, prior),
                         num_steps)
  batched = jax.jit(jax.vmap(lambda models, x0, key, beta: episode(
      models, env.state_at(x0), key, beta), in_axes=(None, 0, 0, 0)))

  def run(models, x0s: Array, keys: Array, betas) -> Episodes:
    x0s = jnp.asarray(x0s, jnp.float32)
    if x0s.ndim != 2:
      raise ValueError(f"x0s must have shape (B, dim_x), got {x0s.shape}.")
    if not bool(jnp.all(jnp.isfinite(x0s))):
      raise ValueError("x0s contains NaN or inf.")
    _check_plan_inputs(planner, models, x0s[0])
    betas = jnp.asarray(betas, jnp.float32)
    betas = jnp.broadcast_to(betas, x0s.shape[:1]) if betas.ndim == 0 else betas
    if betas.shape != x0s.shape[:1] or keys.shape[0] != x0s.shape[0]:
      raise ValueError(f"keys {keys.shape} and betas {betas.shape} must have the batch "
                       f"size {x0s.shape[0]} of x0s.")
    return batched(models, x0s, keys, betas)

  return run


# ---------------------------------------------------------------- parameter sets
def stack_models(model_sets: Sequence[Any]):
  """[params_0, ..., params_{S-1}] (same structure and shapes) -> one pytree with a
  leading axis S on every leaf, for `num_model_sets=S` / `num_param_sets=S`."""
  model_sets = list(model_sets)
  if not model_sets:
    raise ValueError("stack_models needs at least one set of models.")
  structs = [jax.tree_util.tree_structure(m) for m in model_sets]
  if any(s != structs[0] for s in structs[1:]):
    raise ValueError("stack_models: the model sets have different pytree structures.")
  return jax.tree.map(lambda *leaves: jnp.stack(leaves), *model_sets)


def _check_param_sets(params, num_sets: int) -> None:
  for path, leaf in jax.tree_util.tree_leaves_with_path(params):
    if jnp.ndim(leaf) < 1 or jnp.shape(leaf)[0] != num_sets:
      raise ValueError(
          f"{num_sets} stacked parameter sets (num_model_sets / num_param_sets): every "
          f"leaf of the models or params needs a leading axis of that size (use "
          f"closed_loop.stack_models), but "
          f"{jax.tree_util.keystr(path)} has shape {jnp.shape(leaf)}.")


# ---------------------------------------------------------------- scores, diagnostics
def normalized_scores(returns, metadata: Mapping[str, Any]) -> np.ndarray:
  """Returns (P,) -> scores (P,) on the 0-100 scale with the data set's references."""
  return np.asarray(dataset_normalized_score(np.asarray(returns), metadata))


def score_summary(scores) -> dict:
  """mean, std (population, over episodes), min, max and count of scores (P,)."""
  s = np.asarray(scores, np.float64).reshape(-1)
  return {"mean": float(s.mean()), "std": float(s.std()), "min": float(s.min()),
          "max": float(s.max()), "num_episodes": int(s.size)}


def paired_difference(scores, baseline_scores) -> dict:
  """Two methods' scores on the SAME episodes (same reset keys): their paired difference.

  d_i = scores_i - baseline_scores_i over the P episodes. Returns {"mean": mean d,
  "stderr": std(d, ddof=1) / sqrt(P), "num_episodes": P, "at_least_matches":
  mean + 2 stderr >= 0} (the difference is not significantly negative); with one
  episode stderr and at_least_matches are None (no error estimate).
  """
  a = np.asarray(scores, np.float64).reshape(-1)
  b = np.asarray(baseline_scores, np.float64).reshape(-1)
  if a.shape != b.shape or a.size == 0:
    raise ValueError(f"paired_difference needs scores of the same episodes, got "
                     f"{a.size} and {b.size} scores.")
  d = a - b
  mean = float(d.mean())
  if d.size < 2:
    return {"mean": mean, "stderr": None, "num_episodes": 1, "at_least_matches": None}
  stderr = float(d.std(ddof=1) / np.sqrt(d.size))
  return {"mean": mean, "stderr": stderr, "num_episodes": int(d.size),
          "at_least_matches": bool(mean + 2.0 * stderr >= 0.0)}


def replay(env: Env, key_reset: PRNGKey, actions: Array, num_steps: Optional[int] = None):
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


def plan_vs_true(env: Env, state: EnvState, actions: Array) -> Tuple[Array, Array]:
  """The true env's open-loop rollout of a plan's actions from `state` (an EnvState).

  actions: (T, dim_u). Returns (observations (T+1, dim_obs), rewards (T,)), to
  compare with the plan's predicted states (model error along the plan).
  """
  def body(s, u):
    nxt = env.step(s, u)
    return nxt, (nxt.obs, nxt.reward)
  _, (obs, rewards) = jax.lax.scan(body, state, actions)
  return jnp.concatenate([state.obs[None], obs], 0), rewards


# ---------------------------------------------------------------- data collection
D4RL_FIELDS = ("observations", "actions", "rewards", "next_observations", "terminals",
               "timeouts")


def collect_episodes(sources: Sequence[Tuple[Callable[[Params, PRNGKey], Episodes], Params]],
                     key: PRNGKey, min_transitions: int = 0, min_episodes: int = 0,
                     log: Optional[Callable[[str], None]] = None
                     ) -> Tuple[Dict[str, np.ndarray], np.ndarray]:
  """Whole episodes from several (rollout, params) sources, in order.

  Each source (e.g. `make_policy_evaluator` of the random policy, then a sequence of
  checkpoints) contributes whole episodes until it holds at least
  `ceil(min_transitions / K)` transitions and `ceil(min_episodes / K)` episodes
  (K = len(sources)); the unused episodes of its last batch are discarded.

  Returns:
    arrays: D4RL field -> host array with leading axis M (the steps of all kept
      episodes, episode-major; every episode ends with a terminal or timeout when
      the rollout runs the env's full episode length).
    returns: undiscounted return of each kept episode, shape (E,).
  """
  k = len(sources)
  share_t = -(-min_transitions // k)
  share_e = -(-min_episodes // k)
  if share_t <= 0 and share_e <= 0:
    raise ValueError("Ask for min_transitions > 0 or min_episodes > 0.")
  pieces = {f: [] for f in D4RL_FIELDS}
  returns = []
  for i, (rollout, params) in enumerate(sources):
    got_t = got_e = calls = 0
    while got_t < share_t or got_e < share_e:
      batch = jax.device_get(rollout(params, jax.random.fold_in(key, i * 100_003 + calls)))
      calls += 1
      batch_returns = np.asarray(batch.returns())
      for p in range(batch.valid.shape[0]):
        length = int(batch.valid[p].sum())
        for f in D4RL_FIELDS:
          pieces[f].append(np.asarray(getattr(batch, f)[p, :length]))
        returns.append(float(batch_returns[p]))
        got_t += length
        got_e += 1
        if got_t >= share_t and got_e >= share_e:
          break
    if log is not None:
      log(f"    source {i + 1}/{k}: {got_e} episodes, {got_t} steps, mean return "
          f"{np.mean(returns[-got_e:]):.1f}")
  arrays = {f: np.concatenate(pieces[f]) for f in D4RL_FIELDS}
  return arrays, np.asarray(returns)


__all__ = ["PlanRecord", "Episodes", "Controller", "shift_plan", "episode_keys",
           "WARM_STARTS", "mpc_controller", "policy_controller", "make_episode",
           "make_closed_loop", "make_mpc_evaluator", "make_policy_evaluator", "make_mpc",
           "stack_models", "normalized_scores", "score_summary", "paired_difference",
           "replay", "plan_vs_true", "D4RL_FIELDS", "collect_episodes"]
