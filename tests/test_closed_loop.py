"""The closed loop (SPEC A.7, B.8): one loop for MPC on pure-JAX systems and on envs,
and for feedback policies.

With the true linear model MPC reproduces receding-horizon LQR; the loop equals the
scan over a step function it replaced, step for step; the evaluators stop at
termination, record plans, stack model sets, and give a policy and a planner the
same initial states. Envs here are pure JAX (`SystemEnv`, `helpers.LinearEnv`); the
one brax test is slow.
"""
import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from helpers import (DU, DX, LQR_A, LQR_B, LQR_PROBLEM, LinearEnv, StaggeredEnv,
                     assert_return_replays, lqr_step, riccati)
from sgp_jax import closed_loop
from sgp_jax.envs.base import SystemEnv
from sgp_jax.planning import (ControlProblem, GradientPlannerConfig, SamplingPlannerConfig,
                              make_cem, make_collocation, make_single_shooting,
                              penalized_loss, solve_traced)

T = 8
LQR_ENV = SystemEnv(lqr_step, dim_obs=2, dim_action=1)


def test_mpc_tracks_receding_horizon_lqr():
  planner = make_single_shooting(LQR_PROBLEM, GradientPlannerConfig(
      horizon=T, num_iters=300, learning_rate=0.05, record_history=False))
  mpc = closed_loop.make_mpc(LQR_ENV, planner, num_steps=10, warm_start=True)
  x0s = jnp.array([[1.0, 0.5], [-0.5, 1.0]])
  res = mpc({}, x0s, jax.random.split(jax.random.PRNGKey(0), 2), jnp.zeros(2))
  chex.assert_shape(res.states(), (2, 11, 2))
  chex.assert_shape(res.actions, (2, 10, 1))
  chex.assert_shape(res.plans.actions, (2, 10, T, 1))
  chex.assert_shape(res.plans.costs, (2, 10))
  assert bool(res.valid.all()) and not res.terminals.any() and not res.timeouts.any()
  K, P = riccati(T)
  for i in range(2):
    x = np.asarray(x0s[i], np.float64)
    xs, us = [x], []
    for _ in range(10):  # receding horizon: always the first gain
      us.append(-K[0] @ x)
      x = LQR_A @ x + LQR_B @ us[-1]
      xs.append(x)
    np.testing.assert_allclose(res.actions[i], np.array(us), atol=5e-3)
    np.testing.assert_allclose(res.states()[i], np.array(xs), atol=5e-3)
    # each replan's cost is the LQR cost-to-go x' P_0 x of the state it started from
    want = np.einsum("ti,ij,tj->t", np.array(xs[:-1]), P[0], np.array(xs[:-1]))
    np.testing.assert_allclose(res.plans.costs[i], want, rtol=1e-3, atol=1e-4)


def scanned_mpc(planner, models, x0, key, beta, num_steps, warm_start):
  """The loop the closed loop replaced: a scan over the true step function with the
  same keys (init key, then one per step) and the shifted warm start."""
  key_init, key_steps = jax.random.split(key)
  theta0 = planner.init(models, x0, key_init).theta

  def body(carry, key_t):
    x, theta = carry
    plan = solve_traced(planner, models, x, key_t, beta, theta if warm_start else None)
    x_next = lqr_step(x, plan.actions[0])
    return (x_next, closed_loop.shift_plan(plan.theta)), (x_next, plan.actions)

  _, (xs, plans) = jax.lax.scan(body, (x0, theta0), jax.random.split(key_steps, num_steps))
  return jnp.concatenate([x0[None], xs], 0), plans


@pytest.mark.parametrize("warm_start", [True, False])
def test_mpc_on_a_system_env_equals_the_scanned_loop_and_its_own_plans(warm_start):
  # 4 iterations: the plans are far from converged, so the warm start shows.
  planner = make_single_shooting(LQR_PROBLEM, GradientPlannerConfig(
      horizon=4, num_iters=4, learning_rate=0.05, record_history=False))
  x0s = jnp.array([[1.0, 0.5], [-0.5, 1.0]])
  keys = jax.random.split(jax.random.PRNGKey(3), 2)
  eps = closed_loop.make_mpc(LQR_ENV, planner, num_steps=5, warm_start=warm_start)(
      {}, x0s, keys, 0.0)
  for i in range(2):
    want_states, want_plans = jax.jit(scanned_mpc, static_argnums=(0, 5, 6))(
        planner, {}, x0s[i], keys[i], 0.0, 5, warm_start)
    np.testing.assert_allclose(eps.states()[i], want_states, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(eps.plans.actions[i], want_plans, rtol=1e-5, atol=1e-6)
  # the applied action is each plan's first, and the states are the true system's
  # rollout of the applied actions (float64 by hand)
  np.testing.assert_array_equal(eps.actions, eps.plans.actions[:, :, 0])
  for i in range(2):
    x = np.asarray(x0s[i], np.float64)
    for t in range(5):
      np.testing.assert_allclose(eps.observations[i, t], x, rtol=1e-5, atol=1e-6)
      x = LQR_A.astype(np.float64) @ x + LQR_B.astype(np.float64) @ np.asarray(
          eps.actions[i, t], np.float64)
      np.testing.assert_allclose(eps.next_observations[i, t], x, rtol=1e-5, atol=1e-6)
  np.testing.assert_array_equal(eps.rewards, 0.0)  # no reward_fn: zero rewards


def test_warm_start_changes_the_replans():
  planner = make_single_shooting(LQR_PROBLEM, GradientPlannerConfig(
      horizon=4, num_iters=4, learning_rate=0.05, record_history=False))
  x0s, keys = jnp.array([[1.0, 0.5]]), jax.random.PRNGKey(3)[None]
  warm, cold = (closed_loop.make_mpc(LQR_ENV, planner, num_steps=3, warm_start=w)(
      {}, x0s, keys, 0.0) for w in (True, False))
  assert not np.allclose(warm.plans.actions[:, 1:], cold.plans.actions[:, 1:])


def test_shift_plan_repeats_last():
  theta = {"us": jnp.arange(4.0)[:, None], "xs": jnp.arange(8.0).reshape(4, 2)}
  out = closed_loop.shift_plan(theta)
  np.testing.assert_array_equal(out["us"][:, 0], [1, 2, 3, 3])
  np.testing.assert_array_equal(out["xs"], [[2, 3], [4, 5], [6, 7], [6, 7]])


def test_mpc_runs_a_sampling_planner_and_rejects_bad_inputs():
  cem = make_cem(LQR_PROBLEM, penalized_loss(LQR_PROBLEM), SamplingPlannerConfig(
      horizon=T, num_iters=5, num_samples=16, num_elites=4, record_history=False))
  res = closed_loop.make_mpc(LQR_ENV, cem, num_steps=3, warm_start=False)(
      {}, jnp.array([[1.0, 0.0]]), jax.random.PRNGKey(0)[None], 0.0)
  chex.assert_shape(res.states(), (1, 4, 2))
  chex.assert_tree_all_finite(res)
  with pytest.raises(ValueError, match="NaN"):
    closed_loop.make_mpc(LQR_ENV, cem, num_steps=3)(
        {}, jnp.array([[jnp.nan, 0.0]]), jax.random.PRNGKey(0)[None], 0.0)
  with pytest.raises(ValueError, match="batch size"):
    closed_loop.make_mpc(LQR_ENV, cem, num_steps=3)(
        {}, jnp.zeros((2, 2)), jax.random.PRNGKey(0)[None], 0.0)
  with pytest.raises(ValueError, match="num_steps"):
    closed_loop.make_mpc(LQR_ENV, cem, num_steps=0)
  with pytest.raises(ValueError, match="state_at"):
    closed_loop.make_mpc(LinearEnv(), cem, num_steps=3)
  bvp = make_collocation(LQR_PROBLEM._replace(score=lambda m, z, l: -z,
                                              score_sigma=lambda m, l: 1.0),
                         GradientPlannerConfig(horizon=T), x_goal=jnp.zeros(2))
  with pytest.raises(ValueError, match="x_goal"):
    closed_loop.make_mpc(LQR_ENV, bvp, num_steps=3)
  with pytest.raises(ValueError, match="x_goal"):
    closed_loop.make_mpc_evaluator(LinearEnv(), bvp, 1)


# ---------------------------------------------------------------- the evaluators
# The true dynamics of helpers.LinearEnv as the planner's model (models = {"b": B}).
LINEAR_PROBLEM = ControlProblem(
    dim_x=DX, dim_u=DU, dynamics=lambda m, x, u: 0.9 * x + 0.1 * m["b"] @ u,
    running_cost=lambda m, x, u, t: -u[0] + 0.1 * x @ x + 0.5 * u @ u)
LINEAR_MODELS = {"b": LinearEnv().b}


def linear_planner(horizon=3):
  return make_single_shooting(LINEAR_PROBLEM, GradientPlannerConfig(
      horizon=horizon, num_iters=3, learning_rate=0.1, action_low=-1.0, action_high=1.0,
      record_history=False))


def test_mpc_evaluator_stops_terminated_episodes_and_records_plans():
  planner = linear_planner()
  num, steps, key = 6, 5, jax.random.PRNGKey(1)
  env = StaggeredEnv(episode_length=steps)
  eps = jax.device_get(closed_loop.make_mpc_evaluator(env, planner, num, record_plans=True)(
      LINEAR_MODELS, key, 0.5))
  keys_reset, _ = closed_loop.episode_keys(key, num)
  deadlines = np.array([int(env.reset(k).sim[1]) for k in keys_reset])
  assert len(set(deadlines)) > 1, deadlines  # episodes of the batch end at different steps
  np.testing.assert_array_equal(eps.lengths(), deadlines)
  for i, n in enumerate(deadlines):
    assert eps.valid[i, :n].all() and not eps.valid[i, n:].any()
    assert eps.terminals[i, n - 1] and not eps.terminals[i, :n - 1].any()
    assert not np.any(eps.actions[i, n:]) and not np.any(eps.plans.states[i, n:])
  assert not eps.timeouts.any()  # every deadline (<= 4) comes before the time limit 5
  t = planner.config.horizon
  assert eps.plans.states.shape == (num, steps, t + 1, DX)
  assert eps.plans.true_states.shape == (num, steps, t + 1, DX)
  assert eps.plans.true_rewards.shape == (num, steps, t)
  # plan and truth start from the same state; with the true model they agree all along
  np.testing.assert_allclose(eps.plans.states[:, :, 0], eps.plans.true_states[:, :, 0])
  np.testing.assert_allclose(eps.plans.states[eps.valid], eps.plans.true_states[eps.valid],
                             rtol=1e-5, atol=1e-6)
  # the true rewards along a plan are LinearEnv's: u_0 - 0.1 |x'|^2
  u0 = eps.plans.actions[..., 0]
  x_next = eps.plans.true_states[..., 1:, :]
  np.testing.assert_allclose(eps.plans.true_rewards[eps.valid],
                             (u0 - 0.1 * np.sum(x_next ** 2, -1))[eps.valid],
                             rtol=1e-5, atol=1e-6)
  # until its end, each episode is the one a never-terminating env runs (same keys)
  full = closed_loop.make_mpc_evaluator(LinearEnv(episode_length=steps), planner, num)(
      LINEAR_MODELS, key, 0.5)
  assert bool(jnp.all(full.valid))
  assert full.timeouts[:, -1].all() and not full.timeouts[:, :-1].any()
  for i, n in enumerate(deadlines):
    np.testing.assert_allclose(eps.actions[i, :n], full.actions[i, :n], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(eps.rewards[i, :n], full.rewards[i, :n], rtol=1e-5, atol=1e-6)
  # an episode's return is its reward up to its end, not beyond
  np.testing.assert_allclose(eps.returns(), [full.rewards[i, :n].sum() for i, n in
                                             enumerate(deadlines)], rtol=1e-5, atol=1e-6)


def test_mpc_evaluator_model_sets_equal_one_set_each():
  planner = linear_planner()
  env = LinearEnv(episode_length=4)
  other = jax.tree.map(lambda a: a * 1.1, LINEAR_MODELS)
  stacked = closed_loop.stack_models([LINEAR_MODELS, other])
  evaluate = closed_loop.make_mpc_evaluator(env, planner, num_episodes=1, num_model_sets=2)
  eps = evaluate(stacked, jax.random.PRNGKey(0), 0.5)
  assert eps.actions.shape == (2, 4, DU)
  assert bool(jnp.all(jnp.abs(eps.actions) <= 1.0))  # the action box
  for s, ms in enumerate((LINEAR_MODELS, other)):  # set s runs episode s
    single = closed_loop.make_mpc_evaluator(env, planner, num_episodes=2)(
        ms, jax.random.PRNGKey(0), 0.5)
    np.testing.assert_allclose(single.actions[s], eps.actions[s], rtol=1e-5, atol=1e-6)
  assert not np.allclose(eps.actions[0], eps.actions[1])
  with pytest.raises(ValueError, match="leading axis"):
    evaluate(LINEAR_MODELS, jax.random.PRNGKey(0), 0.5)
  with pytest.raises(ValueError, match="different pytree structures"):
    closed_loop.stack_models([LINEAR_MODELS, {"c": LINEAR_MODELS["b"]}])
  # the episodes' true rewards are the env's: replaying the actions reproduces them
  keys_reset = assert_return_replays(env, eps, jax.random.PRNGKey(0), episode=1)
  sims = closed_loop.replay(env, keys_reset[1], eps.actions[1])
  assert len(sims) == 5
  np.testing.assert_allclose(np.stack(sims[1:]), eps.next_observations[1], rtol=1e-5,
                             atol=1e-6)


def tanh_policy(params, obs, key):
  del key
  return jnp.tanh(params["k"] @ obs)


def test_policy_and_planner_episodes_are_paired():
  """BC-style policies and planners run through one loop with the same reset keys:
  episode s*P + i of both starts from env.reset(keys_reset[s*P + i])."""
  env = LinearEnv(episode_length=4)
  key = jax.random.PRNGKey(7)
  gains = [np.full((DU, DX), 2.0, np.float32), np.full((DU, DX), -3.0, np.float32)]
  policy_params = closed_loop.stack_models([{"k": jnp.asarray(g)} for g in gains])
  pol = jax.device_get(closed_loop.make_policy_evaluator(
      env, tanh_policy, 2, num_param_sets=2)(policy_params, key))
  mpc = jax.device_get(closed_loop.make_mpc_evaluator(env, linear_planner(), 2,
                                                      num_model_sets=2)(
      closed_loop.stack_models([LINEAR_MODELS, LINEAR_MODELS]), key, 0.5))
  keys_reset, _ = closed_loop.episode_keys(key, 4)
  x0s = np.stack([np.asarray(env.reset(k).obs) for k in keys_reset])
  assert np.ptp(x0s, axis=0).max() > 0  # reset states differ between episodes
  np.testing.assert_allclose(pol.observations[:, 0], x0s, rtol=1e-6, atol=1e-8)
  np.testing.assert_allclose(mpc.observations[:, 0], x0s, rtol=1e-6, atol=1e-8)
  # the policy is the feedback law of its own set at every step, on the true system
  assert pol.plans is None and bool(pol.valid.all())
  for p in range(4):
    k = gains[p // 2]
    np.testing.assert_allclose(pol.actions[p], np.tanh(pol.observations[p] @ k.T),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(pol.next_observations[p],
                               0.9 * pol.observations[p] + 0.1 * pol.actions[p] @
                               np.asarray(env.b).T, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(pol.states()[:, 1:], pol.next_observations)
  assert np.all(np.abs(pol.actions) < 1)


def test_bc_policy_runs_in_the_loop_inside_its_action_box():
  """Behaviour cloning's `policy_apply` (sgp_jax.models) is a policy of the loop."""
  from sgp_jax.models import make_bc_policy
  from sgp_jax.normalization import Normalizer
  bc = make_bc_policy(Normalizer.from_box(-np.ones(DX), np.ones(DX)),
                      Normalizer.from_box(-np.ones(DU), np.ones(DU)), (16, 16))
  params = bc.init(jax.random.PRNGKey(0))
  r = closed_loop.make_policy_evaluator(LinearEnv(episode_length=4), bc.policy_apply, 2)(
      params, jax.random.PRNGKey(0))
  assert r.actions.shape == (2, 4, DU) and bool(jnp.all(jnp.abs(r.actions) < 1))
  assert np.abs(r.actions).max() > 1e-3
  np.testing.assert_allclose(r.actions, bc(params, r.observations), rtol=1e-5, atol=1e-6)


def test_normalized_scores_and_summary():
  scores = closed_loop.normalized_scores(np.array([0.0, 50.0, 100.0]),
                                         {"ref_min_score": 0.0, "ref_max_score": 100.0})
  np.testing.assert_allclose(scores, [0, 50, 100])
  s = closed_loop.score_summary(scores)
  assert s["mean"] == 50 and s["num_episodes"] == 3
  np.testing.assert_allclose(s["std"], np.std([0, 50, 100]))
  assert s["min"] == 0 and s["max"] == 100


def test_collect_episodes_keeps_whole_episodes():
  """Data collection: a random policy on a system that fails when |x| > 1."""
  env = SystemEnv(lambda x, u: x + u, dim_obs=1, dim_action=1, episode_length=5,
                  reward_fn=lambda x, u, x_next: 1.0 - x_next[0] ** 2,
                  reset_fn=lambda key: jax.random.uniform(key, (1,), minval=-0.5,
                                                          maxval=0.5),
                  terminal_fn=lambda x: jnp.abs(x[0]) > 1.0)
  uniform = lambda params, obs, key: jax.random.uniform(key, (1,), minval=-1.0, maxval=1.0)
  rollout = closed_loop.make_policy_evaluator(env, uniform, 4)
  arrays, returns = closed_loop.collect_episodes([(rollout, None)], jax.random.PRNGKey(0),
                                                 min_transitions=12)
  ends = np.flatnonzero(arrays["terminals"] | arrays["timeouts"])
  assert len(ends) == len(returns) and ends[-1] == len(arrays["rewards"]) - 1
  assert not (arrays["terminals"] & arrays["timeouts"]).any()
  assert arrays["terminals"].any() and arrays["timeouts"].any()
  starts = np.concatenate([[0], ends[:-1] + 1])
  assert np.all(ends - starts + 1 <= 5) and len(arrays["rewards"]) >= 12
  for a, b, ret in zip(starts, ends, returns):
    np.testing.assert_allclose(arrays["next_observations"][a:b],
                               arrays["observations"][a + 1:b + 1])
    np.testing.assert_allclose(arrays["rewards"][a:b + 1].sum(), ret, rtol=1e-5)
    np.testing.assert_allclose(arrays["rewards"][a:b + 1],
                               1.0 - arrays["next_observations"][a:b + 1, 0] ** 2, rtol=1e-5)
    assert arrays["terminals"][b] == (abs(arrays["next_observations"][b, 0]) > 1.0)
  assert set(arrays) == set(closed_loop.D4RL_FIELDS)


@pytest.mark.slow  # compiles a MuJoCo model (about 1-2 min on 2 shared cores)
def test_one_mpc_step_and_a_policy_on_brax_halfcheetah():
  """The brax path: one MPC step and a policy, paired, on positional halfcheetah."""
  from sgp_jax import envs
  env = envs.make_env("halfcheetah", "positional", episode_length=2)
  problem = ControlProblem(dim_x=env.dim_obs, dim_u=env.dim_action,
                           dynamics=lambda m, x, u: x,
                           running_cost=lambda m, x, u, t: u @ u)
  planner = make_single_shooting(problem, GradientPlannerConfig(
      horizon=2, num_iters=2, learning_rate=0.1, action_low=-1.0, action_high=1.0,
      record_history=False))
  key = jax.random.PRNGKey(0)
  eps = closed_loop.make_mpc_evaluator(env, planner, 1)({}, key, 0.0)
  assert eps.actions.shape == (1, 2, env.dim_action)
  assert np.all(np.isfinite(np.asarray(eps.returns())))
  assert eps.timeouts[0, -1] and not eps.terminals.any()
  keys_reset, _ = closed_loop.episode_keys(key, 1)
  states = closed_loop.replay(env, keys_reset[0], eps.actions[0])
  assert len(states) == 3
  zero = lambda params, obs, k: jnp.zeros((env.dim_action,))
  pol = closed_loop.make_policy_evaluator(env, zero, 1)(None, key)
  np.testing.assert_array_equal(pol.observations[:, 0], eps.observations[:, 0])


def test_paired_difference_by_hand():
  """d = (1, 2, 3, -2): mean 1, stderr std(d, ddof=1) / 2 = 2.16 / 2; mean + 2 SE > 0."""
  a, b = np.array([3.0, 4.0, 5.0, 0.0]), np.array([2.0, 2.0, 2.0, 2.0])
  out = closed_loop.paired_difference(a, b)
  se = np.std([1.0, 2.0, 3.0, -2.0], ddof=1) / 2
  assert out["num_episodes"] == 4 and out["at_least_matches"] is True
  np.testing.assert_allclose([out["mean"], out["stderr"]], [1.0, se])
  # clearly below on every episode: significantly negative
  worse = closed_loop.paired_difference(b - 1.0 + np.array([0, 0.1, 0.2, 0.3]), b)
  assert worse["mean"] < 0 and worse["at_least_matches"] is False
  # below on average but within 2 SE: still "at least matches"
  close = closed_loop.paired_difference(np.array([1.0, -1.5, 2.0, -2.0]), np.zeros(4))
  assert close["mean"] < 0 and close["at_least_matches"] is True
  one = closed_loop.paired_difference([1.0], [2.0])
  assert one["stderr"] is None and one["at_least_matches"] is None
  with pytest.raises(ValueError, match="same episodes"):
    closed_loop.paired_difference([1.0, 2.0], [1.0])
