"""Brax locomotion envs behind our own `Env` protocol (`sgp_jax.envs.base`).

`BraxEnv` wraps `brax.envs.get_environment(name, backend=...)` WITHOUT brax's
training wrappers (EpisodeWrapper, AutoResetWrapper): at the step where an episode
ends, `state.obs` is the true successor, not the first observation of a new
episode. Episode-length truncation is done here (`EnvState.truncated`).
Termination when unhealthy (hopper, walker2d, ant) is brax's default and the
standard protocol; it is recorded in `metadata()`. Beyond the protocol a `BraxEnv`
gives `step_true(obs, action) -> (obs_next, reward, terminal)`, the true dynamics
as a function of the observation (like a learned model), and `metadata()`.

brax is imported only when a `BraxEnv` is built. Episodes of policies and planners
on these envs run in `sgp_jax.closed_loop`.
"""
from __future__ import annotations

from typing import Any, Dict, Tuple

import chex
import jax
import jax.numpy as jnp

from sgp_jax.envs.base import EnvState
from sgp_jax.types import Array, PRNGKey

ENV_NAMES = ("halfcheetah", "hopper", "walker2d", "ant")
# Leading generalised coordinates left out of the observation (x; x and y for ant).
_EXCLUDED_COORDS = {"halfcheetah": 1, "hopper": 1, "walker2d": 1, "ant": 2}
_HAS_HEALTH = {"halfcheetah": False, "hopper": True, "walker2d": True, "ant": True}


class BraxEnv:
  """A brax locomotion env behind the `Env` protocol (no auto-reset).

  Actions live in [-1, 1]^dim_action (brax's actuator range).
  """

  def __init__(self, name: str, backend: str = "positional",
               episode_length: int = 1000, terminate_when_unhealthy: bool = True):
    from brax import envs as brax_envs
    if name not in ENV_NAMES:
      raise ValueError(f"Unknown env '{name}'; supported: {ENV_NAMES}.")
    if episode_length < 1:
      raise ValueError(f"episode_length must be >= 1, got {episode_length}.")
    kwargs = {"backend": backend}
    if _HAS_HEALTH[name]:
      kwargs["terminate_when_unhealthy"] = terminate_when_unhealthy
    self.name = name
    self.backend = backend
    self.episode_length = int(episode_length)
    self.terminate_when_unhealthy = bool(terminate_when_unhealthy and _HAS_HEALTH[name])
    self.brax_env = brax_envs.get_environment(name, **kwargs)
    self.dim_obs = int(self.brax_env.observation_size)
    self.dim_action = int(self.brax_env.action_size)

  def reset(self, key: PRNGKey) -> EnvState:
    """A fresh episode from brax's randomised initial state."""
    sim = self.brax_env.reset(key)
    false = jnp.zeros((), bool)
    return EnvState(sim=sim, obs=sim.obs, reward=sim.reward, terminal=false,
                    truncated=false, t=jnp.zeros((), jnp.int32))

  def step(self, state: EnvState, action: Array) -> EnvState:
    """One control step; action shape (dim_action,). Never resets."""
    chex.assert_shape(action, (self.dim_action,))
    sim = self.brax_env.step(state.sim, action)
    t = state.t + 1
    terminal = sim.done > 0.5
    truncated = (t >= self.episode_length) & ~terminal
    return EnvState(sim=sim, obs=sim.obs, reward=sim.reward, terminal=terminal,
                    truncated=truncated, t=t)

  def step_true(self, obs: Array, action: Array) -> Tuple[Array, Array, Array]:
    """True one-step dynamics from an observation: (obs_next, reward, terminal).

    Rebuilds the simulator state from `obs` (the excluded x / xy root position is
    set to 0; the dynamics and rewards of these envs do not depend on it) and
    steps it. Shapes: obs (dim_obs,), action (dim_action,) -> (dim_obs,), (), ().

    Exact (to float32 round-off) with the `generalized` backend, whose state is
    (q, qd), up to hopper/walker2d clipping observed joint velocities to
    [-10, 10]. The `positional` and `spring` backends also carry maximal
    coordinates that drift slightly off the joint constraints; the observation
    does not record that drift, so there `step_true` is an approximation (close
    in positions, velocities can differ by ~0.1-0.5 in contact).
    """
    chex.assert_shape([obs, action], [(self.dim_obs,), (self.dim_action,)])
    env = self.brax_env
    n_ex = _EXCLUDED_COORDS[self.name]
    nq = env.sys.q_size()
    init_q = env.sys.init_q
    # Observed positions = q[n_ex:] + offset (hopper/walker report the torso's
    # world height instead of the root slide joint); the offset is constant.
    ref = env.pipeline_init(init_q, jnp.zeros(env.sys.qd_size()))
    offset = env._get_obs(ref)[:nq - n_ex] - init_q[n_ex:]  # pylint: disable=protected-access
    q = jnp.concatenate([jnp.zeros(n_ex), obs[:nq - n_ex] - offset])
    qd = obs[nq - n_ex:]
    template = env.reset(jax.random.PRNGKey(0))
    sim = template.replace(pipeline_state=env.pipeline_init(q, qd), obs=obs)
    nxt = env.step(sim, action)
    return nxt.obs, nxt.reward, nxt.done > 0.5

  def metadata(self) -> Dict[str, Any]:
    """What a data set must record about the env and its protocol."""
    import brax
    return {"env": self.name, "backend": self.backend,
            "episode_length": self.episode_length,
            "terminate_when_unhealthy": self.terminate_when_unhealthy,
            "auto_reset": False, "dt": float(self.brax_env.dt),
            "dim_obs": self.dim_obs, "dim_action": self.dim_action,
            "action_range": [-1.0, 1.0], "brax_version": brax.__version__}


def make_env(name: str, backend: str = "positional", episode_length: int = 1000,
             terminate_when_unhealthy: bool = True) -> BraxEnv:
  """The brax env `name` (halfcheetah, hopper, walker2d, ant) behind `Env`."""
  return BraxEnv(name, backend, episode_length, terminate_when_unhealthy)


__all__ = ["ENV_NAMES", "BraxEnv", "make_env"]
