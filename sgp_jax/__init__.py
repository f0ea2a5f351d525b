"""sgp-jax: Score-Guided Planning for offline model-based RL, in JAX."""
from sgp_jax.types import Transitions, validate_transitions

__version__ = "0.1.0"
