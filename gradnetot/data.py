"""The small MNIST subset that ships with the book.

``data/mnist_subset.npz`` holds the first 20 images of every digit from the
MNIST test set (200 images, built by ``data/build_subset.py``; provenance and
licence in ``data/README.md``). A copy ships inside the package
(``gradnetot/_data/``), so ``pip install`` users, on Colab for example, have it too.
"""
from __future__ import annotations

import numbers
import os
from pathlib import Path

import numpy as np

from . import _checks
from .densities import ImageDensity

__all__ = ["load_digits", "digit_density", "default_data_path"]

_FILENAME = "mnist_subset.npz"
_PACKAGE_COPY = Path(__file__).resolve().parent / "_data" / _FILENAME
_REPO_COPY = Path(__file__).resolve().parent.parent / "data" / _FILENAME

_cache: dict = {}


def default_data_path() -> Path:
    """Where :func:`load_digits` looks by default.

    ``$GRADNETOT_DATA`` if set, else ``data/mnist_subset.npz`` in a repository
    checkout, else the copy inside the installed package.
    """
    env = os.environ.get("GRADNETOT_DATA")
    if env:
        return Path(env)
    for candidate in (_REPO_COPY, _PACKAGE_COPY):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"cannot find {_FILENAME}: looked in {_REPO_COPY} and {_PACKAGE_COPY}. "
        "Rebuild it with `python data/build_subset.py` or pass path=...")


def load_digits(path=None):
    """Load the MNIST subset.

    Parameters
    ----------
    path : str or Path, optional
        An ``.npz`` file with ``images`` (uint8, ``(n, 28, 28)``) and ``labels``.
        Defaults to :func:`default_data_path`.

    Returns
    -------
    images : np.ndarray, float32, shape ``(n, 28, 28)``, values in ``[0, 1]``
    labels : np.ndarray, int64, shape ``(n,)``
    """
    if path is None:
        path = default_data_path()
    elif not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"path {str(path)!r} does not exist or is not a file")
    key = (str(path.resolve()), path.stat().st_mtime_ns)
    if key not in _cache:
        with np.load(path) as npz:
            if "images" not in npz or "labels" not in npz:
                raise ValueError(f"path {str(path)!r} must hold arrays 'images' and 'labels'")
            raw, labels = npz["images"], npz["labels"]
        if raw.ndim != 3 or raw.shape[0] != labels.shape[0]:
            raise ValueError(f"path {str(path)!r}: images {raw.shape} and labels {labels.shape} do not match")
        scale = 255.0 if raw.dtype == np.uint8 else 1.0
        _cache[key] = (raw.astype(np.float32) / np.float32(scale), labels.astype(np.int64))
    images, labels = _cache[key]
    return images.copy(), labels.copy()


def digit_density(label, index=0, bandwidth=0.02, path=None):
    """The ``index``-th image of digit ``label`` as a :class:`gradnetot.ImageDensity` on ``[0, 1]^2``.

    >>> seven = digit_density(7)             # doctest: +SKIP
    >>> seven.sample(1000).shape             # doctest: +SKIP
    torch.Size([1000, 2])
    """
    if isinstance(label, bool) or not isinstance(label, numbers.Integral):
        raise TypeError(f"label must be an integer digit 0-9, got {type(label).__name__}")
    if not 0 <= int(label) <= 9:
        raise ValueError(f"label must be a digit 0-9, got {label}")
    if isinstance(index, bool) or not isinstance(index, numbers.Integral):
        raise TypeError(f"index must be an integer, got {type(index).__name__}")
    bandwidth = _checks.positive_float(bandwidth, "bandwidth")
    images, labels = load_digits(path)
    matches = np.flatnonzero(labels == int(label))
    if not 0 <= int(index) < matches.size:
        raise ValueError(f"index must be in [0, {matches.size - 1}] for digit {label}, got {index}")
    return ImageDensity(images[matches[int(index)]], bandwidth=bandwidth)
