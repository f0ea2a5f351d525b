"""The env protocol of our own, and pure-JAX systems behind it.

The protocol (`Env`) is what the closed loop (`sgp_jax.closed_loop`) and data
generation use, so a backend (brax today, MJX/Playground tomorrow, a pure-JAX
system from `sgp_jax.systems`) can be swapped behind it:

  env.reset(key) -> EnvState              # pure, jittable
  env.step(state, action) -> EnvState     # pure, jittable, never auto-resets
  env.dim_obs, env.dim_action, env.episode_length

An env ends an episode by setting `EnvState.terminal` (it failed, e.g. fell) or
`EnvState.truncated` (its time limit); `state.obs` at that step is the true
successor, never the first observation of a new episode. Brax envs also give
`step_true(obs, action)` and `metadata()` (`sgp_jax.envs.brax_env`).

`SystemEnv` makes any pure-JAX system x' = f(x, u) an `Env` (the observation is the
state x), so MPC on a toy system and the brax evaluator run one loop. Importing
this module does not import brax.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Dict, Optional, Protocol, Tuple

import chex
import flax.struct
import jax
import jax.numpy as jnp

from sgp_jax.types import Array, Params, PRNGKey

# A policy: (params, obs (dim_obs,), key) -> action (dim_action,).
PolicyApply = Callable[[Params, Array, PRNGKey], Array]


@flax.struct.dataclass
class EnvState:
  """State of one episode.

  Attributes:
    sim: the backend's own state (a brax `envs.State`; the state x of a `SystemEnv`).
    obs: observation, shape (dim_obs,).
    reward: reward of the step that led here, shape ().
    terminal: bool (), the environment terminated (e.g. unhealthy) at that step.
    truncated: bool (), the time limit was reached at that step (and it did not
      terminate).
    t: int32 (), number of steps taken in this episode.
  """
  sim: Any
  obs: Array
  reward: Array
  terminal: Array
  truncated: Array
  t: Array

  @property
  def done(self) -> Array:
    return self.terminal | self.truncated


class Env(Protocol):
  """What the closed loop and data generation need from an environment."""
  dim_obs: int
  dim_action: int
  episode_length: int

  def reset(self, key: PRNGKey) -> EnvState: ...

  def step(self, state: EnvState, action: Array) -> EnvState: ...


@dataclasses.dataclass(frozen=True)
class SystemEnv:
  """A pure-JAX system x' = step_fn(x, u) behind the `Env` protocol.

  The observation is the state x (dim_obs,); nothing is clipped or rescaled.

  Attributes:
    step_fn: the true system, (x (dim_obs,), u (dim_action,)) -> x' (dim_obs,).
    dim_obs, dim_action: the state and action sizes.
    episode_length: the time limit (`EnvState.truncated` at step episode_length).
    reward_fn: (x, u, x') -> reward (); None: zero reward (e.g. MPC whose
      objective lives in the planner's problem). A cost c is reward_fn = -c.
    reset_fn: key -> x_0 (dim_obs,), the initial-state distribution of `reset`;
      None: `reset` refuses, start episodes from given states (`state_at`).
    terminal_fn: x' -> bool (), the system failed at that step (e.g. left its
      box); None: never terminates.
  """
  step_fn: Callable[[Array, Array], Array]
  dim_obs: int
  dim_action: int
  episode_length: int = 1000
  reward_fn: Optional[Callable[[Array, Array, Array], Array]] = None
  reset_fn: Optional[Callable[[PRNGKey], Array]] = None
  terminal_fn: Optional[Callable[[Array], Array]] = None

  def __post_init__(self):
    if self.dim_obs < 1 or self.dim_action < 1:
      raise ValueError(f"dim_obs and dim_action must be >= 1, got {self.dim_obs}, "
                       f"{self.dim_action}.")
    if self.episode_length < 1:
      raise ValueError(f"episode_length must be >= 1, got {self.episode_length}.")

  def state_at(self, x: Array) -> EnvState:
    """The first state of an episode that starts at x (dim_obs,)."""
    x = jnp.asarray(x, jnp.float32)
    chex.assert_shape(x, (self.dim_obs,))
    no = jnp.zeros((), bool)
    return EnvState(sim=x, obs=x, reward=jnp.zeros(()), terminal=no, truncated=no,
                    t=jnp.zeros((), jnp.int32))

  def reset(self, key: PRNGKey) -> EnvState:
    """A fresh episode from x_0 = reset_fn(key)."""
    if self.reset_fn is None:
      raise ValueError("this SystemEnv has no reset_fn (initial-state distribution); "
                       "give one, or start episodes from given states with "
                       "closed_loop.make_mpc / SystemEnv.state_at.")
    return self.state_at(self.reset_fn(key))

  def step(self, state: EnvState, action: Array) -> EnvState:
    """One control step; action (dim_action,). Never resets."""
    chex.assert_shape(action, (self.dim_action,))
    x_next, reward, terminal = self.step_true(state.obs, action)
    t = state.t + 1
    return EnvState(sim=x_next, obs=x_next, reward=reward, terminal=terminal,
                    truncated=(t >= self.episode_length) & ~terminal, t=t)

  def step_true(self, obs: Array, action: Array) -> Tuple[Array, Array, Array]:
    """The true one-step map: (x', reward (), terminal bool ())."""
    x_next = self.step_fn(obs, action)
    chex.assert_shape(x_next, (self.dim_obs,))
    reward = (jnp.zeros((), x_next.dtype) if self.reward_fn is None
              else jnp.asarray(self.reward_fn(obs, action, x_next), x_next.dtype))
    terminal = (jnp.zeros((), bool) if self.terminal_fn is None
                else jnp.asarray(self.terminal_fn(x_next), bool))
    return x_next, reward, terminal

  def metadata(self) -> Dict[str, Any]:
    return {"env": "system", "episode_length": self.episode_length,
            "auto_reset": False, "dim_obs": self.dim_obs, "dim_action": self.dim_action}


__all__ = ["EnvState", "Env", "PolicyApply", "SystemEnv"]
