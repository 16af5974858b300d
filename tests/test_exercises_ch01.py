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


def _meeting_ok(x0, y0, x1, y1):
    return gn.exercises.path_meeting(x0, y0, x1, y1)


def test_path_meeting_reference_on_the_crossing_example():
    s, t = gn.exercises.path_meeting((0, 0), (4, 0), (2, 1), (5, -1))
    assert abs(s - 7 / 8) < 1e-12 and abs(t - 1 / 2) < 1e-12       # they meet at (3.5, 0) at different times
    assert gn.exercises.path_meeting((0, 0), (1, 0), (0, 1), (1, 1)) is None
    with pytest.raises(ValueError):
        gn.exercises.path_meeting((0, 0, 0), (1, 0), (0, 1), (1, 1))


def test_check_path_meeting_accepts_the_reference():
    assert gn.exercises.check_path_meeting(_meeting_ok) is True


@pytest.mark.parametrize("wrong, words", [
    (lambda x0, y0, x1, y1: (lambda r: None if r is None else (r[1], r[0]))(_meeting_ok(x0, y0, x1, y1)), "swapped"),
    (lambda x0, y0, x1, y1: None, "return None"),
    (lambda x0, y0, x1, y1: (0.5, 0.5), "do not meet|expected times"),
    (lambda x0, y0, x1, y1: "yes", "pair"),
    (lambda x0, y0, x1, y1: 1 / 0, "ZeroDivisionError"),
])
def test_check_path_meeting_rejects_wrong_answers(wrong, words):
    with pytest.raises(ExerciseCheckError, match=words):
        gn.exercises.check_path_meeting(wrong)


def test_check_path_meeting_rejects_lines_instead_of_segments():
    def lines_only(x0, y0, x1, y1):   # solves for the lines, forgets the [0, 1] range
        x0, y0, x1, y1 = (torch.as_tensor(v, dtype=torch.float64) for v in (x0, y0, x1, y1))
        M = torch.stack([y0 - x0, -(y1 - x1)], 1)
        if abs(float(torch.linalg.det(M))) < 1e-12:
            return None
        return tuple(float(v) for v in torch.linalg.solve(M, x1 - x0))
    with pytest.raises(ExerciseCheckError, match="do not meet"):
        gn.exercises.check_path_meeting(lines_only)
