"""Choosing a planner's beta on held-out episodes, before the reported ones.

  select_beta(evaluate, betas, key) -> BetaSelection

`evaluate(beta, key) -> scores (P,)` runs P held-out episodes at one beta (e.g. a
`closed_loop.make_mpc_evaluator`'s returns); every beta of the grid runs the same
episodes (the same key: the same reset states and planner noise), so the sweep costs
len(betas) x P episodes for every method it is applied to, and the comparison
between betas is paired. The key must be the held-out one, never the key of the
episodes that are then reported at the chosen beta.
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Sequence

import numpy as np

from sgp_jax.types import PRNGKey


class BetaSelection(NamedTuple):
  """The result of a beta sweep.

  beta: the chosen beta (the best mean score; ties go to the earlier grid entry).
  betas: (K,) the grid, in the order given.
  mean_scores, stderrs: (K,) mean and standard error of each beta's held-out scores
    (the error is NaN for one episode; None in `to_dict`).
  scores: (K, P) every held-out episode's score.
  """
  beta: float
  betas: np.ndarray
  mean_scores: np.ndarray
  stderrs: np.ndarray
  scores: np.ndarray

  def to_dict(self) -> dict:
    """A JSON-able table: {"beta", "betas", "mean_scores", "stderrs", "num_episodes"}."""
    return {"beta": self.beta, "betas": self.betas.tolist(),
            "mean_scores": self.mean_scores.tolist(),
            "stderrs": [float(v) if np.isfinite(v) else None for v in self.stderrs],
            "num_episodes": int(self.scores.shape[1])}


def select_beta(evaluate: Callable[[float, PRNGKey], np.ndarray], betas: Sequence[float],
                key: PRNGKey) -> BetaSelection:
  """Evaluates every beta of the grid on the held-out episodes of `key`; the best wins.

  Args:
    evaluate: evaluate(beta, key) -> per-episode scores (P,), higher is better.
    betas: the grid (K >= 1 values).
    key: the held-out evaluation key (distinct from the reported episodes' key).
  """
  betas = np.asarray([float(b) for b in betas], np.float64)
  if betas.ndim != 1 or betas.size == 0:
    raise ValueError(f"select_beta needs a non-empty grid of betas, got {betas}.")
  if not np.all(np.isfinite(betas)):
    raise ValueError(f"select_beta: the grid {betas.tolist()} has NaN or inf.")
  scores = []
  for beta in betas:
    s = np.asarray(evaluate(float(beta), key), np.float64).reshape(-1)
    if s.size == 0 or not np.all(np.isfinite(s)):
      raise ValueError(f"select_beta: evaluate({beta}) gave {s.size} scores, not all "
                       "finite; it must return one finite score per episode.")
    if scores and s.size != len(scores[0]):
      raise ValueError(f"select_beta: evaluate({beta}) gave {s.size} scores, the first "
                       f"beta {len(scores[0])}; every beta must run the same episodes.")
    scores.append(s)
  scores = np.stack(scores)
  means = scores.mean(1)
  p = scores.shape[1]
  stderrs = (scores.std(1, ddof=1) / np.sqrt(p)) if p > 1 else np.full(len(betas), np.nan)
  best = int(np.argmax(means))
  return BetaSelection(float(betas[best]), betas, means, stderrs, scores)


__all__ = ["BetaSelection", "select_beta"]
