"""The light-dark single integrator observed as images (SPEC B.7).

The world is B.4's (`light_dark`): x' = x + u, |u_i| <= u_max, no data in the disk
of radius `hole_radius` at the origin. A state is an N x N image of the position on
the field of view [-fov, fov]^2; an action is an N x N image of u on its own field
of view [-u_fov, u_fov]^2. So dim x = dim u = N^2 (1024 at the default N = 32).

Renderer: a Gaussian blob of standard deviation `blob_px` pixels and peak
intensity 1 at the position (smooth and differentiable in the position; it stands
in for the SPEC's box-blurred disk, which is not differentiable in the position).
Images are flat, row-major vectors of N^2 intensities; row i is the world
coordinate y_i = fov (1 - (2i + 1) / N) (top row = +y), column j is x_j =
-fov + fov (2j + 1) / N.

Decoding: the intensity-weighted centroid of max(I, 0). The true dynamics decode u
from its image, clip it to the action bound, step the integrator and re-render.
"""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from sgp_jax.systems import light_dark
from sgp_jax.types import Array, PRNGKey, Transitions


@dataclasses.dataclass(frozen=True)
class PixelWorld:
  """The image world.

  Attributes:
    size: N, pixels per side (dim x = dim u = N^2).
    fov: the state image covers [-fov, fov]^2.
    u_fov: the action image covers [-u_fov, u_fov]^2.
    blob_px: the blob's standard deviation in pixels (the same in both images).
    u_max, hole_radius, x_max: B.4's action bound, data hole and data box.
  """
  size: int = 32
  fov: float = 1.2
  u_fov: float = 0.2
  blob_px: float = 0.7
  u_max: float = 0.1
  hole_radius: float = 0.4
  x_max: float = 1.0

  def __post_init__(self):
    if self.size < 2:
      raise ValueError(f"image size must be >= 2 pixels, got {self.size}.")
    if not (self.fov > self.x_max > 0 and self.u_fov > self.u_max > 0):
      raise ValueError(f"the fields of view must contain the data: need fov={self.fov} "
                       f"> x_max={self.x_max} > 0 and u_fov={self.u_fov} > "
                       f"u_max={self.u_max} > 0.")
    if not self.blob_px > 0:
      raise ValueError(f"blob_px must be > 0, got {self.blob_px}.")

  @property
  def dim(self) -> int:
    return self.size * self.size

  @property
  def light_dark(self) -> light_dark.LightDarkParams:
    return light_dark.LightDarkParams(x_max=self.x_max, u_max=self.u_max,
                                      hole_radius=self.hole_radius)


def pixel_coordinates(size: int, fov: float) -> tuple[Array, Array]:
  """World (x, y) of every pixel centre, each shape (size^2,), row-major, +y up."""
  c = fov * ((2 * np.arange(size) + 1) / size - 1)
  xs, ys = np.meshgrid(c, c[::-1])
  return jnp.asarray(xs.ravel(), jnp.float32), jnp.asarray(ys.ravel(), jnp.float32)


def render(position: Array, size: int, fov: float, blob_px: float) -> Array:
  """Images (..., size^2) of positions (..., 2) on [-fov, fov]^2."""
  px, py = pixel_coordinates(size, fov)
  std = blob_px * 2 * fov / size
  d2 = (position[..., :1] - px) ** 2 + (position[..., 1:2] - py) ** 2
  return jnp.exp(-0.5 * d2 / std ** 2)


def decode(image: Array, size: int, fov: float) -> Array:
  """Intensity-weighted centroids (..., 2) of max(image, 0), images (..., size^2)."""
  px, py = pixel_coordinates(size, fov)
  w = jnp.maximum(image, 0.0)
  total = jnp.sum(w, -1, keepdims=True)
  centroid = jnp.stack([w @ px, w @ py], -1) / jnp.maximum(total, 1e-6)
  return jnp.where(total > 1e-6, centroid, 0.0)  # a blank image decodes to the centre


def render_state(world: PixelWorld, x: Array) -> Array:
  return render(x, world.size, world.fov, world.blob_px)


def render_action(world: PixelWorld, u: Array) -> Array:
  return render(u, world.size, world.u_fov, world.blob_px)


def decode_state(world: PixelWorld, image: Array) -> Array:
  return decode(image, world.size, world.fov)


def decode_action(world: PixelWorld, image: Array) -> Array:
  """The commanded displacement of action images, clipped to |u_i| <= u_max."""
  return jnp.clip(decode(image, world.size, world.u_fov), -world.u_max, world.u_max)


def true_step(world: PixelWorld, x_image: Array, u_image: Array) -> Array:
  """The true image dynamics: decode x and u, x' = x + clip(u), re-render."""
  return render_state(world, decode_state(world, x_image) + decode_action(world, u_image))


def true_rollout(world: PixelWorld, x0: Array, u_images: Array) -> Array:
  """True positions (T+1, 2) from position x0 (2,) under action images (T, N^2)."""
  steps = decode_action(world, u_images)
  return jnp.concatenate([x0[None], x0 + jnp.cumsum(steps, 0)], 0)


def make_dataset(key: PRNGKey, num_samples: int, world: PixelWorld,
                 chunk: int = 4096) -> tuple[Transitions, Transitions]:
  """B.4 transitions outside the hole, rendered: (image Transitions, positions).

  Draws candidates until `num_samples` remain outside the hole, then renders them
  in chunks (the images of 200k samples at N = 32 take 2.5 GB).
  """
  if num_samples < 1:
    raise ValueError(f"num_samples must be >= 1, got {num_samples}.")
  hole_fraction = np.pi * world.hole_radius ** 2 / (2 * world.x_max) ** 2
  candidates = int(np.ceil(num_samples / (1 - hole_fraction) * 1.05)) + 16
  pos = light_dark.make_dataset(key, candidates, world.light_dark)
  while pos.num < num_samples:  # rare: top up with a fresh draw
    key, sub = jax.random.split(key)
    more = light_dark.make_dataset(sub, candidates, world.light_dark)
    pos = jax.tree_util.tree_map(lambda a, b: jnp.concatenate([a, b]), pos, more)
  pos = jax.tree_util.tree_map(lambda a: a[:num_samples], pos)
  render_x = jax.jit(lambda p: render_state(world, p))
  render_u = jax.jit(lambda p: render_action(world, p))

  def chunked(fn, a):
    return jnp.concatenate([fn(a[i:i + chunk]) for i in range(0, a.shape[0], chunk)])
  images = Transitions(x=chunked(render_x, pos.x), u=chunked(render_u, pos.u),
                       x_next=chunked(render_x, pos.x_next))
  return images, pos


__all__ = ["PixelWorld", "pixel_coordinates", "render", "decode", "render_state",
           "render_action", "decode_state", "decode_action", "true_step",
           "true_rollout", "make_dataset"]
