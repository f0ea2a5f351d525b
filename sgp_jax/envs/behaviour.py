"""Behaviour policies for D4RL-style data: brax SAC training, checkpoints, selection.

One SAC run (brax's own `brax.training.agents.sac.train`) gives every level:
  * expert: the checkpoint with the highest evaluation return (the final one when
    training improves to the end; SAC on hopper peaks and then degrades, so "fully
    trained" is read as "best", `select_expert_step`);
  * medium: the checkpoint before the expert whose evaluation return is closest to
    `medium_fraction` (1/3) of the expert's (`select_medium_step`);
  * medium-replay: the checkpoints up to medium, plus the uniform policy that
    stands for SAC's initial random phase (an approximation of D4RL's replay
    buffer; see `replay_steps`);
  * random: `uniform_policy`, no checkpoint.

All SAC policies act stochastically (SAC's tanh-Gaussian samples, the exploration
noise it trains with), and training evaluates them the same way
(`deterministic_eval=False`) so that the curve used to pick "medium" matches the
data.

Layout of a policy directory:
  config.json                 ours: env metadata, SAC settings, seed, eval curve,
                              checkpoint steps, medium/expert steps, train time
  checkpoints/<step:012d>/    brax orbax checkpoint of (normaliser, policy)
                              params plus `sac_network_config.json`
A directory whose config.json matches the requested env, SAC settings and seed is
reused instead of retrained.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import time
from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Sequence, Tuple

import jax

from sgp_jax.envs import compat
from sgp_jax.envs.base import PolicyApply
from sgp_jax.envs.brax_env import BraxEnv
from sgp_jax.types import Array, Params, PRNGKey

CONFIG_FILE = "config.json"
CHECKPOINT_DIR = "checkpoints"


class BehaviourPolicies(NamedTuple):
  """The checkpoints of one SAC run, loaded.

  Attributes:
    apply: stochastic SAC policy (params, obs (dim_obs,), key) -> action, one
      function object for every checkpoint (so rollouts compile once).
    params: step -> (normaliser params, policy params).
    checkpoint_dirs: step -> checkpoint directory.
    curve: ((step, eval return), ...) for the checkpointed steps, in order.
    medium_step: the step chosen as "medium".
    expert_step: the step of the best evaluation return ("expert").
  """
  apply: PolicyApply
  params: Dict[int, Params]
  checkpoint_dirs: Dict[int, str]
  curve: Tuple[Tuple[int, float], ...]
  medium_step: int
  expert_step: int

  def replay_steps(self) -> Tuple[int, ...]:
    """Checkpoint steps whose rollouts stand for the medium-replay buffer."""
    return tuple(s for s, _ in self.curve if s <= self.medium_step)


def uniform_policy(dim_action: int) -> PolicyApply:
  """The random behaviour policy: actions ~ U[-1, 1]^dim_action; params unused."""

  def apply(params: Params, obs: Array, key: PRNGKey) -> Array:
    del params, obs
    return jax.random.uniform(key, (dim_action,), minval=-1.0, maxval=1.0)

  return apply


def select_expert_step(curve: Sequence[Tuple[int, float]]) -> int:
  """The step with the highest evaluation return; ties go to the later step.

  curve: (step, eval return) pairs of the saved checkpoints, in training order.
  """
  if not curve:
    raise ValueError("Empty training curve: no checkpoints were saved.")
  best = max(r for _, r in curve)
  return [s for s, r in curve if r == best][-1]


def select_medium_step(curve: Sequence[Tuple[int, float]],
                       fraction: float = 1.0 / 3.0) -> int:
  """The step before the expert's whose return is closest to `fraction` x the expert's.

  Args:
    curve: (step, eval return) pairs of the saved checkpoints, in training order;
      the expert is `select_expert_step(curve)`.
    fraction: target fraction of the expert return.

  Returns:
    The chosen step; ties go to the earlier step. Never the expert step unless
    the expert is the first checkpoint.
  """
  expert = select_expert_step(curve)
  candidates = [sr for sr in curve if sr[0] < expert] or [sr for sr in curve
                                                         if sr[0] == expert]
  target = fraction * dict(curve)[expert]
  return min(candidates, key=lambda sr: abs(sr[1] - target))[0]


def checkpoint_sha256(path: str) -> str:
  """sha256 over a checkpoint directory: every file's relative path and bytes."""
  if not os.path.isdir(path):
    raise FileNotFoundError(f"No checkpoint directory at '{path}'.")
  h = hashlib.sha256()
  for root, dirs, files in os.walk(path):
    dirs.sort()
    for name in sorted(files):
      full = os.path.join(root, name)
      h.update(os.path.relpath(full, path).encode())
      with open(full, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
          h.update(chunk)
  return h.hexdigest()


def train_behaviour(env: BraxEnv, sac: Mapping[str, Any], policy_dir: str,
                    seed: int, medium_fraction: float = 1.0 / 3.0,
                    log: Callable[[str], None] = print) -> BehaviourPolicies:
  """Trains (or reuses) a brax SAC run on `env` and loads its checkpoints.

  Args:
    env: the env (its brax env is trained with brax's own episode wrappers).
    sac: keyword arguments of `brax.training.agents.sac.train` (num_timesteps,
      num_envs, num_evals, batch_size, ...), plus optional `hidden_layer_sizes`.
    policy_dir: where checkpoints and config.json go.
    seed: SAC seed.
    medium_fraction: target fraction of the expert return for "medium".
    log: progress printer.
  """
  sac = dict(sac)
  wanted = {"algorithm": "brax_sac", "env": env.metadata(), "sac": sac, "seed": seed}
  wanted = json.loads(json.dumps(wanted))  # tuples -> lists, as read back
  config_path = os.path.join(policy_dir, CONFIG_FILE)
  if os.path.isfile(config_path):
    with open(config_path) as f:
      saved = json.load(f)
    if all(saved.get(k) == v for k, v in wanted.items()):
      log(f"Reusing behaviour policies in {policy_dir}")
      return load_behaviour(policy_dir, medium_fraction)
    log(f"{config_path} was made with other settings; retraining.")

  compat.ensure_device_put_replicated()  # brax's SAC on jax >= 0.10
  from brax.training.agents.sac import networks as sac_networks
  from brax.training.agents.sac import train as sac_train
  ckpt_root = os.path.abspath(os.path.join(policy_dir, CHECKPOINT_DIR))
  os.makedirs(ckpt_root, exist_ok=True)
  curve: List[Tuple[int, float]] = []
  start = time.time()

  def progress(step: int, metrics: Mapping[str, Any]) -> None:
    ret = float(metrics["eval/episode_reward"])
    log(f"  sac step {step:>9d}  eval return {ret:10.1f}  "
        f"({time.time() - start:6.0f} s)")
    if step > 0:  # brax checkpoints after each epoch, not before training
      curve.append((int(step), ret))

  kwargs = dict(sac)
  hidden = tuple(kwargs.pop("hidden_layer_sizes", (256, 256)))
  sac_train.train(
      environment=env.brax_env, episode_length=env.episode_length, seed=seed,
      deterministic_eval=False, progress_fn=progress, checkpoint_logdir=ckpt_root,
      network_factory=functools.partial(sac_networks.make_sac_networks,
                                        hidden_layer_sizes=hidden),
      **kwargs)
  record = dict(wanted, curve=curve, train_seconds=time.time() - start,
                medium_fraction=medium_fraction)
  with open(config_path, "w") as f:
    json.dump(record, f, indent=2)
  return load_behaviour(policy_dir, medium_fraction)


def load_behaviour(policy_dir: str, medium_fraction: float = 1.0 / 3.0
                   ) -> BehaviourPolicies:
  """Loads every checkpoint of a policy directory written by `train_behaviour`."""
  from brax.training import checkpoint as brax_checkpoint
  from brax.training.agents.sac import checkpoint as sac_checkpoint
  from brax.training.agents.sac import networks as sac_networks
  policy_dir = os.path.abspath(policy_dir)  # orbax restores from absolute paths only
  config_path = os.path.join(policy_dir, CONFIG_FILE)
  if not os.path.isfile(config_path):
    raise FileNotFoundError(f"No behaviour-policy config at '{config_path}'.")
  with open(config_path) as f:
    record = json.load(f)
  curve = tuple((int(s), float(r)) for s, r in record["curve"])
  dirs = {s: os.path.join(policy_dir, CHECKPOINT_DIR, f"{s:012d}") for s, _ in curve}
  missing = [d for d in dirs.values() if not os.path.isdir(d)]
  if missing:
    raise FileNotFoundError(f"Behaviour checkpoints missing: {missing}.")
  first = dirs[curve[0][0]]
  network = brax_checkpoint.get_network(sac_checkpoint.load_config(first),
                                        sac_networks.make_sac_networks)
  make_policy = sac_networks.make_inference_fn(network)

  def apply(params: Params, obs: Array, key: PRNGKey) -> Array:
    return make_policy(params, deterministic=False)(obs, key)[0]

  params = {s: tuple(sac_checkpoint.load(d)) for s, d in dirs.items()}
  return BehaviourPolicies(apply=apply, params=params, checkpoint_dirs=dirs,
                           curve=curve,
                           medium_step=select_medium_step(curve, medium_fraction),
                           expert_step=select_expert_step(curve))
