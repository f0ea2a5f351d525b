"""Choosing among candidates on held-out episodes, before the reported ones.

  select(evaluate, candidates, key) -> Selection      any candidates (e.g. planner variants)
  select_beta(evaluate, betas, key) -> BetaSelection  a planner's beta from a grid

`evaluate(candidate, key) -> scores (P,)` runs P held-out episodes of one candidate
(e.g. a `closed_loop.make_mpc_evaluator`'s returns); every candidate runs the same
episodes (the same key: the same reset states and planner noise), so a selection
costs len(candidates) x P episodes, and the comparison between candidates is
paired. The key must be the held-out one, never the key of the episodes that are
then reported for the chosen candidate.
"""
from __future__ import annotations

from typing import Any, Callable, Hashable, NamedTuple, Sequence

import numpy as np

from sgp_jax.types import PRNGKey


class Selection(NamedTuple):
  """The result of a selection on held-out episodes.

  choice: the chosen candidate (the best mean score; ties go to the earlier one).
  candidates: (K,) the candidates, in the order given.
  mean_scores, stderrs: (K,) mean and standard error of each candidate's held-out
    scores (the error is NaN for one episode; None in `to_dict`).
  scores: (K, P) every held-out episode's score.
  """
  choice: Any
  candidates: tuple
  mean_scores: np.ndarray
  stderrs: np.ndarray
  scores: np.ndarray

  def to_dict(self) -> dict:
    """A JSON-able table: {"choice", "candidates", "mean_scores", "stderrs",
    "num_episodes"}."""
    return {"choice": self.choice, "candidates": list(self.candidates),
            "mean_scores": self.mean_scores.tolist(),
            "stderrs": [float(v) if np.isfinite(v) else None for v in self.stderrs],
            "num_episodes": int(self.scores.shape[1])}


class BetaSelection(NamedTuple):
  """The result of a beta sweep (`select_beta`): `Selection`'s fields with the
  candidates a float grid.

  beta: the chosen beta. betas: (K,) the grid, in the order given.
  mean_scores, stderrs, scores: as `Selection`'s.
  """
  beta: float
  betas: np.ndarray
  mean_scores: np.ndarray
  stderrs: np.ndarray
  scores: np.ndarray

  def to_dict(self) -> dict:
    """A JSON-able table: {"beta", "betas", "mean_scores", "stderrs", "num_episodes"}."""
    table = Selection(self.beta, tuple(self.betas.tolist()), self.mean_scores,
                      self.stderrs, self.scores).to_dict()
    return {"beta": table.pop("choice"), "betas": table.pop("candidates"), **table}


def select(evaluate: Callable[[Any, PRNGKey], np.ndarray],
           candidates: Sequence[Hashable], key: PRNGKey) -> Selection:
  """Evaluates every candidate on the held-out episodes of `key`; the best wins.

  Args:
    evaluate: evaluate(candidate, key) -> per-episode scores (P,), higher is better.
    candidates: K >= 1 candidates (names, betas, configs: anything hashable).
    key: the held-out evaluation key (distinct from the reported episodes' key).
  """
  candidates = tuple(candidates)
  if not candidates:
    raise ValueError("select needs a non-empty list of candidates.")
  scores = []
  for candidate in candidates:
    s = np.asarray(evaluate(candidate, key), np.float64).reshape(-1)
    if s.size == 0 or not np.all(np.isfinite(s)):
      raise ValueError(f"select: evaluate({candidate!r}) gave {s.size} scores, not all "
                       "finite; it must return one finite score per episode.")
    if scores and s.size != len(scores[0]):
      raise ValueError(f"select: evaluate({candidate!r}) gave {s.size} scores, the first "
                       f"candidate {len(scores[0])}; every candidate must run the same "
                       "episodes.")
    scores.append(s)
  scores = np.stack(scores)
  p = scores.shape[1]
  stderrs = (scores.std(1, ddof=1) / np.sqrt(p)) if p > 1 else np.full(len(scores), np.nan)
  means = scores.mean(1)
  return Selection(candidates[int(np.argmax(means))], candidates, means, stderrs, scores)


def select_beta(evaluate: Callable[[float, PRNGKey], np.ndarray], betas: Sequence[float],
                key: PRNGKey) -> BetaSelection:
  """`select` over a grid of betas: evaluate(beta, key) -> per-episode scores (P,).

  Args:
    evaluate: evaluate(beta, key) -> per-episode scores (P,), higher is better.
    betas: the grid (K >= 1 finite values).
    key: the held-out evaluation key (distinct from the reported episodes' key).
  """
  betas = np.asarray([float(b) for b in betas], np.float64)
  if betas.ndim != 1 or betas.size == 0:
    raise ValueError(f"select_beta needs a non-empty grid of betas, got {betas}.")
  if not np.all(np.isfinite(betas)):
    raise ValueError(f"select_beta: the grid {betas.tolist()} has NaN or inf.")
  chosen = select(evaluate, betas.tolist(), key)
  return BetaSelection(float(chosen.choice), betas, chosen.mean_scores, chosen.stderrs,
                       chosen.scores)


__all__ = ["BetaSelection", "Selection", "select", "select_beta"]
