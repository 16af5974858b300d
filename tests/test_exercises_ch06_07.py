"""The chapter 7 and 8 exercise checks accept correct answers and reject typical mistakes."""
import numpy as np
import pytest
import torch

import gradnetot as gn
from gradnetot.exercises import ExerciseCheckError


# --- chapter 7: training step ----------------------------------------------------------

def good_step(model, optimizer, source, target, batch_size, generator):
    x = source.sample(batch_size, generator=generator)
    loss = gn.monge_ampere_loss(model, x, source, target)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.detach()


def test_training_step_accepts_correct_answer():
    assert gn.exercises.check_training_step(good_step) is True


def test_training_step_rejects_item_call():
    def step(*args):
        out = good_step(*args)
        out.item()
        return out

    with pytest.raises(ExerciseCheckError, match=r"\.item\(\)"):
        gn.exercises.check_training_step(step)


def test_training_step_rejects_float_return():
    def step(*args):
        return float(good_step(*args))

    with pytest.raises(ExerciseCheckError, match="torch.Tensor"):
        gn.exercises.check_training_step(step)


def test_training_step_rejects_no_update():
    def step(model, optimizer, source, target, batch_size, generator):
        x = source.sample(batch_size, generator=generator)
        return gn.monge_ampere_loss(model, x, source, target).detach()

    with pytest.raises(ExerciseCheckError, match="did not change"):
        gn.exercises.check_training_step(step)


def test_training_step_rejects_attached_loss():
    def step(model, optimizer, source, target, batch_size, generator):
        x = source.sample(batch_size, generator=generator)
        loss = gn.monge_ampere_loss(model, x, source, target)
        optimizer.zero_grad()
        loss.backward(retain_graph=True)
        optimizer.step()
        return loss

    with pytest.raises(ExerciseCheckError, match="detach"):
        gn.exercises.check_training_step(step)


def test_training_step_rejects_unseeded_batch():
    def step(model, optimizer, source, target, batch_size, generator):
        x = source.sample(batch_size)  # ignores the generator
        loss = gn.monge_ampere_loss(model, x, source, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.detach()

    with pytest.raises(ExerciseCheckError, match="Monge"):
        gn.exercises.check_training_step(step)


# --- chapter 7: Cholesky log-det --------------------------------------------------------

def test_logdet_accepts_cholesky():
    def logdet(J):
        L = torch.linalg.cholesky(J)
        return 2 * torch.log(torch.diagonal(L, dim1=-2, dim2=-1)).sum(-1)

    assert gn.exercises.check_logdet_cholesky(logdet) is True
    assert gn.exercises.check_logdet_cholesky(gn.logdet_spd) is True


def test_logdet_rejects_missing_factor_two():
    def logdet(J):
        L = torch.linalg.cholesky(J)
        return torch.log(torch.diagonal(L, dim1=-2, dim2=-1)).sum(-1)

    with pytest.raises(ExerciseCheckError, match="factor 2"):
        gn.exercises.check_logdet_cholesky(logdet)


def test_logdet_rejects_float32():
    def logdet(J):
        return torch.linalg.slogdet(J.float())[1]

    with pytest.raises(ExerciseCheckError, match="dtype"):
        gn.exercises.check_logdet_cholesky(logdet)


# --- chapter 8 --------------------------------------------------------------------------

def test_barycentric_projection():
    def good(plan, xt):
        return plan @ xt / plan.sum(1, keepdims=True)

    assert gn.exercises.check_barycentric_projection(good) is True
    with pytest.raises(ExerciseCheckError, match="divide"):
        gn.exercises.check_barycentric_projection(lambda plan, xt: plan @ xt)
    with pytest.raises(ExerciseCheckError, match="shape"):
        gn.exercises.check_barycentric_projection(lambda plan, xt: xt)


def _render(points, size, flip=True, transpose=False):
    p = np.asarray(points, dtype=np.float64)
    inside = ((p >= 0) & (p < 1)).all(1)
    p = p[inside]
    cols = np.floor(p[:, 0] * size).astype(int)
    rows = np.floor(((1 - p[:, 1]) if flip else p[:, 1]) * size).astype(int)
    img = np.zeros((size, size))
    np.add.at(img, (rows, cols), 1.0)
    img = img / img.sum()
    return img.T if transpose else img


def test_particle_image():
    assert gn.exercises.check_particle_image(_render) is True
    with pytest.raises(ExerciseCheckError, match="flipped"):
        gn.exercises.check_particle_image(lambda p, s: _render(p, s, flip=False))
    with pytest.raises(ExerciseCheckError, match="swapped"):
        gn.exercises.check_particle_image(lambda p, s: _render(p, s, transpose=True))
    with pytest.raises(ExerciseCheckError, match="sum to 1"):
        gn.exercises.check_particle_image(lambda p, s: 2 * _render(p, s))


def test_particle_image_inverts_image_density():
    # rendering many samples of an ImageDensity gives back (roughly) the image
    img = torch.zeros(8, 8)
    img[1, 2], img[6, 5] = 1.0, 3.0
    dens = gn.ImageDensity(img, bandwidth=0.005)
    pts = dens.sample(20000, generator=torch.Generator().manual_seed(0))
    out = _render(pts.numpy(), 8)
    assert np.abs(out - (img / img.sum()).numpy()).max() < 0.02


def test_exports():
    for name in ("check_training_step", "check_logdet_cholesky", "check_barycentric_projection",
                 "check_particle_image"):
        assert name in gn.exercises.__all__
