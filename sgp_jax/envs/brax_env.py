"""A small env protocol of our own, its brax implementation, and batched rollouts.

The protocol (`Env`) is what data generation and closed-loop evaluation use, so a
backend (brax today, MJX/Playground tomorrow) can be swapped behind it:

  env.reset(key) -> EnvState              # pure, jittable
  env.step(state, action) -> EnvState     # pure, jittable, never auto-resets
  env.step_true(obs, action) -> (obs_next, reward, terminal)
                                          # the true dynamics as a function of
                                          # the observation, like a learned model
  env.dim_obs, env.dim_action, env.episode_length, env.metadata()

`BraxEnv` wraps `brax.envs.get_environment(name, backend=...)` WITHOUT brax's
training wrappers (EpisodeWrapper, AutoResetWrapper): at the step where an episode
ends, `state.obs` is the true successor, not the first observation of a new
episode. Episode-length truncation is done here (`EnvState.truncated`).
Termination when unhealthy (hopper, walker2d, ant) is brax's default and the
standard protocol; it is recorded in `metadata()`.

`make_rollout` builds the one jitted collector (`vmap` over parallel episodes of a
`lax.scan` over the episode's steps); `collect_episodes` keeps whole episodes.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, NamedTuple, Optional, Protocol, Sequence, Tuple

import chex
import flax.struct
import jax
import jax.numpy as jnp
import numpy as np

from sgp_jax.types import Array, Params, PRNGKey

ENV_NAMES = ("halfcheetah", "hopper", "walker2d", "ant")
# Leading generalised coordinates left out of the observation (x; x and y for ant).
_EXCLUDED_COORDS = {"halfcheetah": 1, "hopper": 1, "walker2d": 1, "ant": 2}
_HAS_HEALTH = {"halfcheetah": False, "hopper": True, "walker2d": True, "ant": True}

# A policy: (params, obs (dim_obs,), key) -> action (dim_action,) in [-1, 1].
PolicyApply = Callable[[Params, Array, PRNGKey], Array]


@flax.struct.dataclass
class EnvState:
  """State of one episode.

  Attributes:
    sim: the backend's own state (a brax `envs.State`).
    obs: observation, shape (dim_obs,).
    reward: reward of the step that led here, shape ().
    terminal: bool (), the environment terminated (unhealthy) at that step.
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
  """What data generation and evaluation need from an environment."""
  dim_obs: int
  dim_action: int
  episode_length: int

  def reset(self, key: PRNGKey) -> EnvState: ...

  def step(self, state: EnvState, action: Array) -> EnvState: ...

  def step_true(self, obs: Array, action: Array) -> Tuple[Array, Array, Array]: ...

  def metadata(self) -> Dict[str, Any]: ...


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


class Rollout(NamedTuple):
  """A batch of P episodes padded to T = episode_length steps.

  Attributes:
    observations, next_observations: (P, T, dim_obs).
    actions: (P, T, dim_action).
    rewards: (P, T).
    terminals, timeouts: (P, T) bool.
    valid: (P, T) bool; True for steps taken before the episode ended (a prefix
      of each row). Invalid steps hold frozen copies and must be dropped.
  """
  observations: Array
  actions: Array
  rewards: Array
  next_observations: Array
  terminals: Array
  timeouts: Array
  valid: Array

  def returns(self) -> Array:
    """Undiscounted return of each episode, shape (P,)."""
    return jnp.sum(jnp.where(self.valid, self.rewards, 0.0), axis=1)


def make_episode(env: Env, policy: PolicyApply
                 ) -> Callable[[Params, PRNGKey, PRNGKey], Rollout]:
  """`episode(params, key_reset, key_steps) -> Rollout` of one episode (not jitted).

  The episode runs for `env.episode_length` steps (`lax.scan`) from
  `env.reset(key_reset)`; once it ends its state is frozen and its steps are marked
  invalid. Passing the planners' reset keys (`evaluation.episode_keys`) gives a
  policy the same initial states as the planners, for paired comparisons.
  """

  def episode(params: Params, key_reset: PRNGKey, key_steps: PRNGKey) -> Rollout:

    def body(carry, key_t):
      state, alive = carry
      action = policy(params, state.obs, key_t)
      nxt = env.step(state, action)
      record = (state.obs, action, nxt.reward, nxt.obs, nxt.terminal,
                nxt.truncated, alive)
      nxt = jax.tree.map(lambda new, old: jnp.where(alive, new, old), nxt, state)
      return (nxt, alive & ~nxt.done), record

    init = (env.reset(key_reset), jnp.ones((), bool))
    _, record = jax.lax.scan(body, init,
                             jax.random.split(key_steps, env.episode_length))
    return Rollout(*record)

  return episode


def make_rollout(env: Env, policy: PolicyApply, num_episodes: int
                 ) -> Callable[[Params, PRNGKey], Rollout]:
  """A jitted `rollout(params, key) -> Rollout` of `num_episodes` parallel episodes.

  Episodes (`make_episode`) are vmapped. Build it once per (env, policy) pair and
  call it with different params (e.g. several checkpoints of one network) without
  recompiling.
  """
  episode = make_episode(env, policy)

  @jax.jit
  def rollout(params: Params, key: PRNGKey) -> Rollout:
    keys = jax.random.split(key, num_episodes)
    pairs = jax.vmap(jax.random.split)(keys)
    return jax.vmap(episode, in_axes=(None, 0, 0))(params, pairs[:, 0], pairs[:, 1])

  return rollout


def collect_episodes(sources: Sequence[Tuple[Callable[[Params, PRNGKey], Rollout], Params]],
                     key: PRNGKey, min_transitions: int = 0, min_episodes: int = 0,
                     log: Optional[Callable[[str], None]] = None
                     ) -> Tuple[Dict[str, np.ndarray], np.ndarray]:
  """Whole episodes from several (rollout, params) sources, in order.

  Each source (e.g. the random policy, then a sequence of checkpoints) contributes
  whole episodes until it holds at least `ceil(min_transitions / K)` transitions
  and `ceil(min_episodes / K)` episodes (K = len(sources)); the unused episodes
  of its last batch are discarded.

  Returns:
    arrays: D4RL field -> host array with leading axis M (the steps of all kept
      episodes, episode-major; every episode ends with a terminal or timeout).
    returns: undiscounted return of each kept episode, shape (E,).
  """
  k = len(sources)
  share_t = -(-min_transitions // k)
  share_e = -(-min_episodes // k)
  if share_t <= 0 and share_e <= 0:
    raise ValueError("Ask for min_transitions > 0 or min_episodes > 0.")
  fields = Rollout._fields[:-1]  # the D4RL fields, without `valid`
  pieces = {f: [] for f in fields}
  returns = []
  for i, (rollout, params) in enumerate(sources):
    got_t = got_e = calls = 0
    while got_t < share_t or got_e < share_e:
      batch = jax.device_get(rollout(params, jax.random.fold_in(key, i * 100_003 + calls)))
      calls += 1
      batch_returns = np.asarray(batch.returns())
      for p in range(batch.valid.shape[0]):
        length = int(batch.valid[p].sum())
        for f in fields:
          pieces[f].append(np.asarray(getattr(batch, f)[p, :length]))
        returns.append(float(batch_returns[p]))
        got_t += length
        got_e += 1
        if got_t >= share_t and got_e >= share_e:
          break
    if log is not None:
      log(f"    source {i + 1}/{k}: {got_e} episodes, {got_t} steps, mean return "
          f"{np.mean(returns[-got_e:]):.1f}")
  arrays = {f: np.concatenate(pieces[f]) for f in fields}
  return arrays, np.asarray(returns)
