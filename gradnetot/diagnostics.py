"""Checks of a learned map that depend on training.

Structural checks (monotonicity, no blocking pairs, collision-free paths) hold for every
mGradNet, trained or not. Whether a map pushes the source onto the target does depend on
training; :func:`pushforward_check` measures it against the sampling noise of the target.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from . import _checks
from .metrics import energy_distance

__all__ = ["PushforwardCheck", "pushforward_check"]


@dataclass(frozen=True)
class PushforwardCheck:
    """Energy distance of mapped points to fresh target samples, against the noise floor."""

    statistic: float     # mean energy distance between the mapped points and fresh target samples
    floor: float         # mean energy distance between two fresh target samples of the same size
    floor_std: float     # its standard deviation over the repeats
    threshold: float     # floor + z * floor_std
    passes: bool         # statistic <= threshold

    def __str__(self):
        verdict = "indistinguishable from" if self.passes else "distinguishable from"
        return (f"energy distance {self.statistic:.2e} vs noise floor {self.floor:.2e} ± {self.floor_std:.2e}: "
                f"the mapped points are {verdict} the target at this sample size")


def pushforward_check(mapped, target, repeats=5, z=3.0, generator=None):
    """Is ``mapped`` (points T(x), x ~ source) statistically indistinguishable from ``target``?

    Compares the energy distance between ``mapped`` and ``repeats`` fresh target samples of the
    same size with the energy distance between two independent target samples (the noise floor),
    and passes when the mean statistic is within ``z`` standard deviations of the floor's mean.
    ``target`` needs a ``sample(n, generator=...)`` method.
    """
    if not isinstance(mapped, torch.Tensor) or mapped.dim() != 2 or mapped.shape[0] < 2:
        raise ValueError("mapped must be a tensor of shape (n, d) with n >= 2")
    if not callable(getattr(target, "sample", None)):
        raise TypeError("target must have a sample(n, generator=...) method")
    repeats = _checks.positive_int(repeats, "repeats")
    if repeats < 2:
        raise ValueError("repeats must be at least 2 (the floor's spread needs two draws)")
    z = _checks.positive_float(z, "z")
    mapped = mapped.detach().cpu()
    n = mapped.shape[0]
    stats, floors = [], []
    for _ in range(repeats):
        y1 = target.sample(n, generator=generator).detach().cpu()
        y2 = target.sample(n, generator=generator).detach().cpu()
        stats.append(energy_distance(mapped, y1))
        floors.append(energy_distance(y2, y1))
    stats, floors = torch.tensor(stats), torch.tensor(floors)
    floor, spread = float(floors.mean()), float(floors.std())
    threshold = floor + z * spread
    return PushforwardCheck(float(stats.mean()), floor, spread, threshold, bool(stats.mean() <= threshold))
