"""The make_dataset launcher's run: `sgp_jax.data.generate.make_datasets`, logging to stdout."""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional

import ml_collections

from sgp_jax.data import generate


def run(config: ml_collections.ConfigDict, workdir: str,
        progress: Optional[Callable] = None) -> Dict[str, Any]:
  """`generate.make_datasets`, printing its log (`progress` is unused: SAC reports
  through the log)."""
  return generate.make_datasets(config, workdir, log=lambda msg: print(msg, flush=True))


def format_summary(summary: Dict[str, Any]) -> str:
  """The files written, one line per level."""
  return "\n".join(f"{level}: {', '.join(entry['files'])}"
                   for level, entry in summary["levels"].items())
