"""What a downstream project does with an installed sgp-jax wheel: import it (no
brax or mujoco), plan a double integrator with SGP single shooting, and check the
plan drives the state near the origin. Run from outside the checkout."""
import sys

import jax
import jax.numpy as jnp

import sgp_jax
from sgp_jax.planning import (ControlProblem, GradientPlannerConfig, make_single_shooting,
                              solve_batch)

assert "site-packages" in sgp_jax.__file__, f"not the installed package: {sgp_jax.__file__}"
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("brax", "mujoco"))
assert not loaded, f"import sgp_jax pulled in {loaded}"

a = jnp.array([[1.0, 0.1], [0.0, 1.0]])
b = jnp.array([[0.0], [0.1]])
problem = ControlProblem(
    dim_x=2, dim_u=1, dynamics=lambda m, x, u: m["A"] @ x + m["B"] @ u,
    running_cost=lambda m, x, u, t: 0.01 * u @ u,
    terminal_cost=lambda m, x: 10.0 * x @ x,
    score=lambda m, z, level: -z)  # the score of a standard normal over (x, u)
planner = make_single_shooting(problem, GradientPlannerConfig(horizon=20, num_iters=300,
                                                              learning_rate=0.05))
x0s = jnp.array([[1.0, 0.0], [-0.5, 0.5]])
plans = solve_batch(planner, {"A": a, "B": b}, x0s,
                    jax.random.split(jax.random.PRNGKey(0), 2), jnp.array([0.0, 0.01]))
final = jnp.linalg.norm(plans.states[:, -1], axis=-1)
print(f"sgp_jax {sgp_jax.__version__} on jax {jax.__version__}: final |x_T| {final}")
assert bool(jnp.all(final < 0.2)), final
