"""The MNIST subset: file contents, loader, digit densities, bad input."""
import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import gradnetot as gn
from gradnetot import data as gdata

ROOT = Path(__file__).resolve().parents[1]
REPO_NPZ = ROOT / "data" / "mnist_subset.npz"
PKG_NPZ = ROOT / "gradnetot" / "_data" / "mnist_subset.npz"
MNIST = ROOT.parent / "shared" / "data" / "mnist"


def _arrays(path):
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def test_subset_file_layout():
    z = _arrays(REPO_NPZ)
    assert z["images"].shape == (200, 28, 28) and z["images"].dtype == np.uint8
    assert z["labels"].dtype == np.uint8
    # 20 of each digit, sorted by digit
    assert np.array_equal(z["labels"], np.repeat(np.arange(10), 20))
    idx = z["indices"]
    assert idx.min() >= 0 and idx.max() < 10000 and len(np.unique(idx)) == 200
    for d in range(10):  # first-come order within each digit
        assert np.all(np.diff(idx[d * 20:(d + 1) * 20]) > 0)


def test_package_copy_matches_repo_copy():
    a, b = _arrays(REPO_NPZ), _arrays(PKG_NPZ)
    assert a.keys() == b.keys()
    for k in a:
        assert np.array_equal(a[k], b[k]), f"gradnetot/_data copy differs in {k!r}: rerun data/build_subset.py"


@pytest.mark.skipif(not (MNIST / "t10k-labels-idx1-ubyte.gz").is_file(), reason="raw MNIST not present")
def test_subset_matches_raw_mnist(tmp_path):
    out = tmp_path / "subset.npz"
    subprocess.run([sys.executable, str(ROOT / "data" / "build_subset.py"), "--source", str(MNIST),
                    "--out", str(out)], check=True, capture_output=True)
    # the script also refreshes the package copy; it must be byte-identical in content
    built, shipped = _arrays(out), _arrays(REPO_NPZ)
    for k in shipped:
        assert np.array_equal(built[k], shipped[k]), k


def test_read_idx_rejects_non_idx(tmp_path):
    sys.path.insert(0, str(ROOT / "data"))
    try:
        import build_subset
    finally:
        sys.path.pop(0)
    bad = tmp_path / "bad.idx"
    bad.write_bytes(b"\x01\x02\x08\x01" + b"\x00" * 8)
    with pytest.raises(ValueError, match="magic"):
        build_subset.read_idx(bad)
    short = tmp_path / "short.idx"
    short.write_bytes(b"\x00\x00\x08\x01" + (5).to_bytes(4, "big") + b"\x00" * 3)
    with pytest.raises(ValueError, match="header"):
        build_subset.read_idx(short)


def test_load_digits_types_and_range():
    images, labels = gn.load_digits()
    assert images.shape == (200, 28, 28) and images.dtype == np.float32
    assert labels.shape == (200,) and labels.dtype == np.int64
    assert images.min() == 0.0 and images.max() == 1.0
    raw = _arrays(REPO_NPZ)["images"]
    assert np.allclose(images * 255, raw)
    # each digit image has plenty of ink but is mostly background
    ink = (images > 0.5).mean(axis=(1, 2))
    assert np.all(ink > 0.02) and np.all(ink < 0.5)


def test_load_digits_returns_copies():
    images, _ = gn.load_digits()
    images[:] = 0
    again, _ = gn.load_digits()
    assert again.max() == 1.0


def test_load_digits_package_copy_and_explicit_path(tmp_path):
    a, la = gn.load_digits(PKG_NPZ)
    b, lb = gn.load_digits(str(REPO_NPZ))
    assert np.array_equal(a, b) and np.array_equal(la, lb)


def test_load_digits_bad_path(tmp_path):
    with pytest.raises(ValueError, match="path"):
        gn.load_digits(tmp_path / "missing.npz")
    with pytest.raises(TypeError, match="path"):
        gn.load_digits(42)
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, x=np.zeros(3))
    with pytest.raises(ValueError, match="images"):
        gn.load_digits(wrong)


def test_default_path_env_override(tmp_path, monkeypatch):
    small = tmp_path / "small.npz"
    np.savez(small, images=np.full((2, 28, 28), 255, np.uint8), labels=np.array([3, 3], np.uint8))
    monkeypatch.setenv("GRADNETOT_DATA", str(small))
    images, labels = gn.load_digits()
    assert images.shape == (2, 28, 28) and list(labels) == [3, 3]


def test_digit_density_is_the_right_image():
    images, labels = gn.load_digits()
    d = gn.digit_density(4, index=2, bandwidth=0.03)
    assert isinstance(d, gn.ImageDensity) and d.dim == 2
    expected = images[np.flatnonzero(labels == 4)[2]]
    assert np.allclose(d.image.numpy(), expected)
    x = d.sample(2000, generator=torch.Generator().manual_seed(0))
    assert x.shape == (2000, 2)
    # samples concentrate on the square, and log_prob is finite there
    assert float(((x > -0.1) & (x < 1.1)).all(1).float().mean()) > 0.99
    assert torch.isfinite(d.log_prob(x)).all()


def test_digit_density_differs_between_digits():
    a = gn.digit_density(0).sample(4000, generator=torch.Generator().manual_seed(0))
    b = gn.digit_density(1).sample(4000, generator=torch.Generator().manual_seed(0))
    # a "1" is thin and vertical, a "0" is wide: compare horizontal spread
    assert float(a[:, 0].std()) > 1.5 * float(b[:, 0].std())


@pytest.mark.parametrize("kwargs, exc, word", [
    (dict(label=10), ValueError, "label"),
    (dict(label=-1), ValueError, "label"),
    (dict(label=3.0), TypeError, "label"),
    (dict(label=True), TypeError, "label"),
    (dict(label=3, index=20), ValueError, "index"),
    (dict(label=3, index=-1), ValueError, "index"),
    (dict(label=3, index=1.5), TypeError, "index"),
    (dict(label=3, bandwidth=0.0), ValueError, "bandwidth"),
    (dict(label=3, bandwidth=-0.1), ValueError, "bandwidth"),
    (dict(label=3, bandwidth=float("nan")), ValueError, "bandwidth"),
])
def test_digit_density_bad_input(kwargs, exc, word):
    with pytest.raises(exc, match=word):
        gn.digit_density(**kwargs)
