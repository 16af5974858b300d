"""Chapter 1 exercise check: the radial disk -> Gaussian map."""
import pytest
import torch

import gradnetot as gn
from gradnetot.exercises import ExerciseCheckError, check_disk_to_gaussian_map


def good(x, R=1.0, sigma=0.5):
    r = x.norm(dim=1, keepdim=True)
    return sigma * torch.sqrt(-2 * torch.log1p(-(r / R) ** 2)) * x / r.clamp_min(1e-12)


def test_accepts_the_right_map():
    assert check_disk_to_gaussian_map(good) is True
    assert gn.exercises.check_disk_to_gaussian_map(lambda x: good(x, 2.0, 1.0), radius=2.0, std=1.0)


@pytest.mark.parametrize("wrong, words", [
    (lambda x: 2 * good(x), "constant factor"),
    (lambda x: good(x).flip(1), "not radial"),
    (lambda x: x, "radius is wrong"),
    (lambda x: good(x)[:, :1], "shape"),
    (lambda x: good(x) / 0 * 0, "NaN"),
    (lambda x: (1 - x.norm(dim=1, keepdim=True)) * x / x.norm(dim=1, keepdim=True), "increase"),
    (lambda x: 1 / 0, "ZeroDivisionError"),
])
def test_rejects_wrong_maps_with_a_reason(wrong, words):
    with pytest.raises(ExerciseCheckError, match=words):
        check_disk_to_gaussian_map(wrong)


def test_rejects_non_callable():
    with pytest.raises(ExerciseCheckError, match="function"):
        check_disk_to_gaussian_map(3.0)
