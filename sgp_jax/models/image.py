"""Dynamics, score and ensemble models of image states and image actions.

The library's models on `networks.UNet`: an image of size x size pixels is a flat
vector of size^2 intensities in [0, 1], normalised as 2 I - 1 (SPEC B.7), so the
existing DSM loss, one-step loss, training loop, checkpoints (`sgp_jax.models.save`)
and planners apply to images unchanged.

  make_image_score_model       xu (2 channels) or xux (3) score on sigma levels:
                               NCSNv2's output / sigma_l or a denoiser's Tweedie
                               score; train with `score.dsm_loss(..., per_sample=True)`
  make_image_dynamics_model    residual U-Net (x-image, u-image) -> x'-image
  make_image_dynamics_ensemble K such models, stacked and vmapped
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from sgp_jax import networks
from sgp_jax.models.dynamics import DynamicsModel
from sgp_jax.models.ensemble import DynamicsEnsemble, ensemble_of
from sgp_jax.models.score import ScoreModel, make_score_model
from sgp_jax.normalization import Normalizer


def pixel_normalizer(size: int) -> Normalizer:
  """Intensities in [0, 1] to [-1, 1]: scale 1/2, offset 1/2 on each of size^2 pixels."""
  if size < 1:
    raise ValueError(f"image size must be >= 1, got {size}.")
  return Normalizer.from_scale(0.5, 0.5, dim=size * size)


def make_image_score_model(kind: str, size: int, sigmas: Sequence[float],
                           features: Sequence[int] = (8, 16, 32),
                           parameterization: str = "noise") -> ScoreModel:
  """An xu or xux score of stacked images (x, u[, x']) with a U-Net: "noise" is NCSNv2's
  output / sigma_l, "denoiser" Tweedie's (D(z, l) - z) / sigma_l^2 (`networks.UNet`)."""
  template = make_score_model(kind, pixel_normalizer(size), pixel_normalizer(size),
                              sigmas, hidden=(1,))  # checks kind and sigmas
  channels = 3 if kind == "xux" else 2
  net = networks.UNet(size=size, in_channels=channels, out_channels=channels,
                      features=tuple(features),
                      sigmas=tuple(float(s) for s in np.asarray(template.sigmas)),
                      parameterization=parameterization)
  return template.replace(net=net)


def make_image_dynamics_model(size: int, features: Sequence[int] = (8, 16, 32)
                              ) -> DynamicsModel:
  """Residual U-Net dynamics: x_bar' = x_bar + UNet(x_bar, u_bar), images of size^2."""
  net = networks.UNet(size=size, in_channels=2, out_channels=1, features=tuple(features))
  return DynamicsModel(net=net, x_normalizer=pixel_normalizer(size),
                       u_normalizer=pixel_normalizer(size))


def make_image_dynamics_ensemble(size: int, num_members: int,
                                 features: Sequence[int] = (8, 16, 32)
                                 ) -> DynamicsEnsemble:
  """K residual U-Net dynamics models with stacked parameters (vmapped)."""
  return ensemble_of(make_image_dynamics_model(size, features), num_members)


__all__ = ["pixel_normalizer", "make_image_score_model", "make_image_dynamics_model",
           "make_image_dynamics_ensemble"]
