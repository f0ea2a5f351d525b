"""Progress bars with ETA for the launchers (tqdm), fed by training's progress_fn."""
from __future__ import annotations

import sys

from tqdm.auto import tqdm


class TrainingProgress:
  """Callable as progress(name, epoch, metrics): one bar per model being trained."""

  def __init__(self, file=sys.stderr):
    self._bars = {}
    self._file = file

  def __call__(self, name: str, epoch: int, metrics: dict) -> None:
    bar = self._bars.get(name)
    if bar is None:
      bar = tqdm(total=metrics["epochs"], desc=f"train {name}", unit="epoch",
                 file=self._file, dynamic_ncols=True)
      bar.start_t = bar._time() - metrics.get("elapsed_s", 0.0)  # ETA from the real start
      self._bars[name] = bar
    bar.update(epoch - bar.n)
    bar.set_postfix(train=f"{metrics['train_loss']:.4g}", val=f"{metrics['val_loss']:.4g}")
    if epoch >= metrics["epochs"]:
      bar.close()

  def close(self) -> None:
    for bar in self._bars.values():
      bar.close()
