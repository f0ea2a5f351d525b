"""Networks: MLP, noise-conditioned MLP, an image U-Net, and ensembles of stacked
parameters.

Every network maps flat vectors (..., d) to flat vectors, so the models built on
them (dynamics, score, reward) and the planners never see the difference between a
state vector and an image: `UNet` reshapes its flat input into channel images
internally.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from sgp_jax.types import Array, PRNGKey

ACTIVATIONS: dict[str, Callable[[Array], Array]] = {
    "elu": nn.elu,
    "relu": nn.relu,
    "leaky_relu": nn.leaky_relu,
    "tanh": jnp.tanh,
    "gelu": nn.gelu,
    "swish": nn.swish,
}


def get_activation(name: str) -> Callable[[Array], Array]:
  try:
    return ACTIVATIONS[name]
  except KeyError:
    raise ValueError(
        f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}") from None


class MLP(nn.Module):
  """Multi-layer perceptron; LayerNorm (optional) after every hidden layer but the first."""
  hidden: Sequence[int]
  out_dim: int
  activation: str = "elu"
  layer_norm: bool = False

  @nn.compact
  def __call__(self, z: Array) -> Array:
    act = get_activation(self.activation)
    for i, width in enumerate(self.hidden):
      z = nn.Dense(width)(z)
      if self.layer_norm and i > 0:
        z = nn.LayerNorm()(z)
      z = act(z)
    return nn.Dense(self.out_dim)(z)


class NoiseConditionedMLP(nn.Module):
  """MLP conditioned on an integer noise level by a multiplicative embedding.

  Linear -> act, then (len(hidden) - 1) blocks of
  [Linear(h) * Embedding(level) -> LayerNorm -> act], then Linear out (SPEC A.4.2).
  All hidden widths must be equal.
  """
  hidden: Sequence[int]
  out_dim: int
  num_levels: int
  activation: str = "elu"

  @nn.compact
  def __call__(self, z: Array, level: Array) -> Array:
    if len(set(self.hidden)) != 1:
      raise ValueError(f"NoiseConditionedMLP needs equal hidden widths, got {self.hidden}.")
    act = get_activation(self.activation)
    width = self.hidden[0]
    level = jnp.broadcast_to(jnp.asarray(level, jnp.int32), z.shape[:-1])
    z = act(nn.Dense(width)(z))
    for _ in self.hidden[1:]:
      emb = nn.Embed(self.num_levels, width,
                     embedding_init=nn.initializers.ones)(level)
      z = act(nn.LayerNorm()(nn.Dense(width)(z) * emb))
    return nn.Dense(self.out_dim)(z)


class Conv3x3(nn.Module):
  """A 3x3 convolution, 'SAME' padding, stride 1 or 2, on (B, H, W, C) images.

  Written as one matmul over the nine shifted copies of the input (im2col by
  slicing): XLA:CPU runs `lax.conv` inside a loop body (a `lax.scan` of training
  steps or planner iterations) more than ten times slower than outside one
  (jax-ml/jax#12868); slices and a matmul run at full speed everywhere, and a vmap
  over stacked kernels becomes a batched matmul.
  """
  features: int
  stride: int = 1
  zero_init: bool = False

  @nn.compact
  def __call__(self, x: Array) -> Array:
    h, w, c = x.shape[-3:]
    init = nn.initializers.zeros if self.zero_init else nn.initializers.lecun_normal()
    kernel = self.param("kernel", init, (9 * c, self.features))
    bias = self.param("bias", nn.initializers.zeros, (self.features,))
    padded = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    s = self.stride
    patches = [padded[:, i:i + h:s, j:j + w:s, :] for i in range(3) for j in range(3)]
    return jnp.concatenate(patches, -1) @ kernel + bias


class Upsample2x(nn.Module):
  """A 2x2, stride-2 transposed convolution: a Dense to 4 features per pixel, then
  each pixel's 2x2 block laid out in space."""
  features: int

  @nn.compact
  def __call__(self, x: Array) -> Array:
    b, h, w, _ = x.shape
    y = nn.Dense(4 * self.features)(x).reshape(b, h, w, 2, 2, self.features)
    return y.transpose(0, 1, 3, 2, 4, 5).reshape(b, 2 * h, 2 * w, self.features)


class UNet(nn.Module):
  """A small U-Net on flat stacks of square images, optionally noise-conditioned.

  The input (..., in_channels * size * size) is a concatenation of channel blocks,
  each a row-major size x size image (e.g. (x-image, u-image) for an xu score); the
  output is laid out the same way with `out_channels` blocks. The pixel coordinates
  join the input as two more channels (positions matter: where the data are, where
  an action image's blob sits). One resolution per entry of `features`: a 3x3 conv
  -> GroupNorm -> swish per level, a stride-2 conv down; a global code (a Dense over
  every pixel of the coarsest level) that scales and shifts the features of every
  decoder level (FiLM); a 2x2 transposed conv up with skip connections; and a final
  zero-initialised 3x3 conv plus an
  affine map of the input (a 1x1 conv and a bias per pixel: the normalisation layers
  remove the input's scale, and at a large sigma a score is about
  (mean image - z) / sigma^2).

  With `sigmas` the network is a score of noise levels sigmas[level] (`level` a
  scalar or one index per leading element), in one of two parameterisations:
    "noise"     NCSNv2 (SPEC B.7): unconditional normalisation, the noise level
                enters only through the output, divided by sigma_l;
    "denoiser"  the network D(z, l) estimates the clean input and the score is
                Tweedie's (D(z, l) - z) / sigma_l^2; the level joins the global code.
                Where the data are exactly constant (an image's empty background)
                D only has to output that constant, while the noise parameterisation
                has to output (z - constant) / sigma_l, which a normalised network
                learns poorly at small sigma.
  Without `sigmas`, `level` is ignored.
  """
  size: int
  in_channels: int
  out_channels: int
  features: Sequence[int] = (8, 16, 32)
  sigmas: Optional[Sequence[float]] = None
  parameterization: str = "noise"

  @property
  def num_levels(self) -> int:
    return len(self.sigmas) if self.sigmas is not None else 1

  @nn.compact
  def __call__(self, z: Array, level: Array | int = 0) -> Array:
    n, c = self.size, self.in_channels
    if z.shape[-1] != c * n * n:
      raise ValueError(f"UNet expects inputs of {c} channels of {n}x{n} images, flat "
                       f"({c * n * n},), got shape {z.shape}.")
    if n % 2 ** (len(self.features) - 1):
      raise ValueError(f"image size {n} is not divisible by 2^{len(self.features) - 1} "
                       f"for {len(self.features)} U-Net levels; use fewer features.")
    lead = z.shape[:-1]
    inputs = jnp.moveaxis(z.reshape((-1, c, n, n)), 1, -1)  # (B, n, n, c)
    coords = jnp.linspace(-1.0, 1.0, n)
    grid = jnp.stack(jnp.meshgrid(coords, -coords), -1)  # (n, n, 2): pixel (x, y)
    h = jnp.concatenate([inputs, jnp.broadcast_to(grid, inputs.shape[:-1] + (2,))], -1)

    def block(h, width):
      return nn.swish(nn.GroupNorm(num_groups=min(4, width))(Conv3x3(width)(h)))

    skips = []
    for i, width in enumerate(self.features):
      if i:
        h = Conv3x3(width, stride=2)(h)
      h = block(h, width)
      skips.append(h)
    # A global code of the coarsest level (a Dense over all its pixels) scales and
    # shifts every decoder level's features (FiLM): where something is in one channel
    # (the blob of an action image) can then act anywhere in the others.
    code = nn.Dense(4 * self.features[-1])(h.reshape(h.shape[0], -1))
    denoiser = self.sigmas is not None and self.parameterization == "denoiser"
    if self.parameterization not in ("noise", "denoiser"):
      raise ValueError(f"parameterization must be 'noise' or 'denoiser', got "
                       f"{self.parameterization!r}.")
    if denoiser and self.out_channels != c:
      raise ValueError("a denoiser U-Net outputs its input's channels: out_channels="
                       f"{self.out_channels} != in_channels={c}.")
    if denoiser:  # the level joins the global code
      levels = jnp.broadcast_to(jnp.asarray(level, jnp.int32), lead).reshape(-1)
      code = code + nn.Embed(self.num_levels, code.shape[-1])(levels)
    code = nn.swish(code)

    def film(h, width):
      scale, shift = jnp.split(nn.Dense(2 * width)(code), 2, -1)
      return h * (1 + scale[:, None, None, :]) + shift[:, None, None, :]

    h = film(h, self.features[-1])
    for width, skip in zip(self.features[-2::-1], skips[-2::-1]):
      h = film(block(jnp.concatenate([Upsample2x(width)(h), skip], -1), width), width)
    bias = self.param("output_bias", nn.initializers.zeros, (n, n, self.out_channels))
    # Zero-initialised output layers: a residual model starts at the identity.
    h = (Conv3x3(self.out_channels, zero_init=True)(h) + bias +
         nn.Dense(self.out_channels, kernel_init=nn.initializers.zeros)(inputs))
    out = jnp.moveaxis(h, -1, 1).reshape(lead + (self.out_channels * n * n,))
    if self.sigmas is None:
      return out
    sigma = jnp.asarray(self.sigmas, out.dtype)[jnp.asarray(level, jnp.int32)]
    sigma = jnp.broadcast_to(sigma, lead)[..., None]
    if denoiser:  # out estimates the clean input: Tweedie, s = (D(z) - z) / sigma^2
      return (out - z) / sigma ** 2
    return out / sigma


def init_ensemble(init_fn: Callable[[PRNGKey], object], key: PRNGKey,
                  num_members: int):
  """Stacked parameters of `num_members` independently initialised networks."""
  return jax.vmap(init_fn)(jax.random.split(key, num_members))
