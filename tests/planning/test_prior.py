"""The plan's prior: a policy rolled through the learned model (planning/prior.py), and
MPC started from it (closed_loop.mpc_controller's "prior" and "shift+prior").

On the tiny linear env with its exact model and a linear-tanh "BC" policy, the prior
is the policy's open-loop rollout, computed here in numpy; a planner with nothing to
optimise (no cost, no score: zero gradients) keeps its initial plan, so every replan
of MPC is exactly the plan it started from.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from helpers import DU, LinearEnv, linear_env_prior_setup
from sgp_jax import closed_loop
from sgp_jax.planning import GradientPlannerConfig, make_single_shooting, policy_prior

T = 3


def _numpy_prior(models, x0, head=()):
  """u_t = head[t], then tanh(K x_t), along x' = 0.9 x + 0.1 B u (float64)."""
  k, b = np.asarray(models["bc"]["K"], np.float64), np.asarray(models["B"], np.float64)
  x, us = np.asarray(x0, np.float64), []
  for t in range(T):
    u = np.asarray(head[t], np.float64) if t < len(head) else np.tanh(k @ x)
    us.append(u)
    x = 0.9 * x + 0.1 * b @ u
  return np.stack(us)


def test_policy_prior_is_the_policy_rolled_through_the_model():
  problem, policy, models = linear_env_prior_setup()
  prior = policy_prior(policy, problem.dynamics, T)
  x0 = jnp.array([0.3, -0.2, 0.5])
  us = jax.jit(prior)(models, x0)
  assert us.shape == (T, DU)
  np.testing.assert_allclose(us, _numpy_prior(models, x0), rtol=1e-6, atol=1e-7)
  # a head of kept actions, completed by the policy from the state they reach
  head = jnp.array([[0.5, -0.5], [1.0, 0.2]])
  np.testing.assert_allclose(jax.jit(prior)(models, x0, head),
                             _numpy_prior(models, x0, np.asarray(head)), rtol=1e-6,
                             atol=1e-7)
  np.testing.assert_allclose(prior(models, x0, jnp.zeros((T, DU))), np.zeros((T, DU)))
  # the policy's parameters are read from `models` (not closed over)
  other = dict(models, bc={"K": -models["bc"]["K"]})
  np.testing.assert_allclose(prior(other, x0), _numpy_prior(other, x0), rtol=1e-6,
                             atol=1e-7)
  with pytest.raises(ValueError, match="head"):
    prior(models, x0, jnp.zeros((T + 1, DU)))
  with pytest.raises(ValueError, match="horizon"):
    policy_prior(policy, problem.dynamics, 0)


@pytest.mark.parametrize("warm_start", ["prior", "shift+prior"])
def test_mpc_starts_every_replan_from_the_bc_prior(warm_start):
  """Every replan's plan is the BC rollout through the model from the current state,
  so the executed actions are BC's own (the model is exact)."""
  problem, policy, models = linear_env_prior_setup()
  prior = policy_prior(policy, problem.dynamics, T)
  planner = make_single_shooting(problem, GradientPlannerConfig(
      horizon=T, num_iters=2, learning_rate=0.1, init_std=0.5, record_history=False))
  env = LinearEnv(episode_length=4)
  evaluate = closed_loop.make_mpc_evaluator(env, planner, num_episodes=2,
                                            warm_start=warm_start, prior=prior)
  eps = evaluate(models, jax.random.PRNGKey(0), 0.0)
  for p in range(2):
    for t in range(4):
      x = np.asarray(eps.observations[p, t])
      np.testing.assert_allclose(eps.plans.actions[p, t], _numpy_prior(models, x),
                                 rtol=1e-5, atol=1e-6)
      np.testing.assert_allclose(eps.actions[p, t], np.tanh(models["bc"]["K"] @ x),
                                 rtol=1e-5, atol=1e-6)
  # "shift" (the default) starts from the planner's random initial actions instead
  shifted = closed_loop.make_mpc_evaluator(env, planner, num_episodes=2)(
      models, jax.random.PRNGKey(0), 0.0)
  assert not np.allclose(shifted.plans.actions[:, 0], eps.plans.actions[:, 0], atol=1e-3)


def test_prior_modes_are_checked():
  problem, policy, models = linear_env_prior_setup()
  planner = make_single_shooting(problem, GradientPlannerConfig(horizon=T, num_iters=1))
  env = LinearEnv(episode_length=2)
  with pytest.raises(ValueError, match="needs a plan prior"):
    closed_loop.mpc_controller(planner, warm_start="prior")
  with pytest.raises(ValueError, match="warm_start"):
    closed_loop.mpc_controller(planner, warm_start="bc")
  # a prior of another horizon than the planner's
  wrong = policy_prior(policy, problem.dynamics, T + 1)
  with pytest.raises(ValueError, match="decision variables"):
    closed_loop.make_mpc_evaluator(env, planner, 1, warm_start="prior", prior=wrong)(
        models, jax.random.PRNGKey(0), 0.0)
