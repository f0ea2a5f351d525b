"""beta chosen on held-out episodes (`sgp_jax.selection`)."""
import jax
import numpy as np
import pytest

from sgp_jax import selection


def test_select_beta_finds_the_known_best_and_runs_the_same_episodes():
  """Scores -(beta - 1)^2 plus per-episode noise shared by every beta (the same
  held-out episodes): beta = 1 is best; every beta gets the held-out key."""
  calls = []

  def evaluate(beta, key):
    calls.append((beta, np.asarray(key)))
    noise = np.asarray(jax.random.normal(key, (6,)))
    return -(beta - 1.0) ** 2 + noise

  held_out = jax.random.PRNGKey(7)
  grid = (0.0, 0.3, 1.0, 3.0, 10.0)
  result = selection.select_beta(evaluate, grid, held_out)
  assert result.beta == 1.0
  assert [b for b, _ in calls] == list(grid)
  assert all(np.array_equal(k, np.asarray(held_out)) for _, k in calls)
  noise = np.asarray(jax.random.normal(held_out, (6,)))
  np.testing.assert_allclose(result.mean_scores,
                             [-(b - 1.0) ** 2 + noise.mean() for b in grid], atol=1e-6)
  np.testing.assert_allclose(result.stderrs, noise.std(ddof=1) / np.sqrt(6), rtol=1e-5)
  assert result.scores.shape == (5, 6)
  table = result.to_dict()
  assert table["beta"] == 1.0 and table["betas"] == list(grid)
  assert table["num_episodes"] == 6 and len(table["stderrs"]) == 5
  # ties go to the earlier grid entry; one episode has no error estimate
  tie = selection.select_beta(lambda b, k: np.array([1.0]), (2.0, 0.5), held_out)
  assert tie.beta == 2.0 and tie.to_dict()["stderrs"] == [None, None]


def test_select_beta_rejects_bad_inputs():
  key = jax.random.PRNGKey(0)
  with pytest.raises(ValueError, match="non-empty grid"):
    selection.select_beta(lambda b, k: np.zeros(2), (), key)
  with pytest.raises(ValueError, match="finite"):
    selection.select_beta(lambda b, k: np.array([np.nan]), (1.0,), key)
  with pytest.raises(ValueError, match="same episodes"):
    selection.select_beta(lambda b, k: np.zeros(int(b)), (1.0, 2.0), key)


def test_select_picks_the_known_best_variant_on_paired_held_out_episodes():
  """Named candidates whose held-out scores differ by a known offset plus noise shared
  by every candidate (the same episodes): the best offset wins, even where a single
  episode would rank them otherwise; the table names every candidate."""
  held_out = jax.random.PRNGKey(3)
  offsets = {"sgp": 0.0, "sgp+prior": 0.5, "sgp+prior+value": 0.2}

  def evaluate(name, key):
    return offsets[name] + 10.0 * np.asarray(jax.random.normal(key, (4,)))

  result = selection.select(evaluate, tuple(offsets), held_out)
  assert result.choice == "sgp+prior"
  assert result.candidates == tuple(offsets)
  noise = 10.0 * np.asarray(jax.random.normal(held_out, (4,)))
  np.testing.assert_allclose(result.mean_scores, [o + noise.mean() for o in offsets.values()],
                             rtol=1e-6)
  table = result.to_dict()
  assert table["choice"] == "sgp+prior" and table["candidates"] == list(offsets)
  assert table["num_episodes"] == 4
  with pytest.raises(ValueError, match="non-empty"):
    selection.select(evaluate, (), held_out)
  with pytest.raises(ValueError, match="'sgp'.*finite"):
    selection.select(lambda n, k: np.array([np.inf]), ("sgp",), held_out)
