"""Build the small MNIST subset that ships with the book.

Reads the gzipped IDX files of the MNIST *test* set, keeps the first
``PER_DIGIT`` images of every digit (in file order), and writes
``data/mnist_subset.npz`` plus a copy inside the package
(``gradnetot/_data/mnist_subset.npz``) so that ``pip install`` users get it too
(the copy is refreshed only when writing to the default ``--out``).

Run from the repository root::

    python data/build_subset.py                       # default source ../shared/data/mnist
    python data/build_subset.py --source /path/to/mnist --per-digit 20
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import shutil
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "data" / "mnist_subset.npz"
IMAGES = "t10k-images-idx3-ubyte.gz"
LABELS = "t10k-labels-idx1-ubyte.gz"


def read_idx(path: Path) -> np.ndarray:
    """Parse one (gzipped) IDX file into a numpy array.

    IDX header: two zero bytes, a type code (0x08 = unsigned byte), the number
    of dimensions, then one big-endian uint32 per dimension.
    """
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        raw = fh.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path} is not an IDX file (bad magic number)")
    if raw[2] != 0x08:
        raise ValueError(f"{path}: only unsigned-byte IDX files are supported, type code {raw[2]:#x}")
    ndim = raw[3]
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    offset = 4 + 4 * ndim
    data = np.frombuffer(raw, dtype=np.uint8, offset=offset)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header says {shape} but holds {data.size} values")
    return data.reshape(shape)


def select(labels: np.ndarray, per_digit: int) -> np.ndarray:
    """Indices of the first ``per_digit`` examples of each digit, sorted by digit then file order."""
    idx = []
    for digit in range(10):
        found = np.flatnonzero(labels == digit)[:per_digit]
        if found.size < per_digit:
            raise ValueError(f"only {found.size} examples of digit {digit}")
        idx.append(found)
    return np.concatenate(idx)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=ROOT.parent / "shared" / "data" / "mnist")
    parser.add_argument("--per-digit", type=int, default=20)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    images = read_idx(args.source / IMAGES)
    labels = read_idx(args.source / LABELS)
    if images.shape[0] != labels.shape[0] or images.shape[1:] != (28, 28):
        raise ValueError(f"unexpected shapes: images {images.shape}, labels {labels.shape}")
    idx = select(labels, args.per_digit)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, images=images[idx].astype(np.uint8),
                        labels=labels[idx].astype(np.uint8), indices=idx.astype(np.int32))
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"wrote {args.out}: "
          f"{idx.size} images ({args.per_digit} per digit) from {images.shape[0]} test images; "
          f"sha256 {digest[:16]}...")
    if args.out.resolve() == DEFAULT_OUT:  # refresh the copy shipped inside the package
        pkg_copy = ROOT / "gradnetot" / "_data" / args.out.name
        pkg_copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(args.out, pkg_copy)
        print(f"copied to {pkg_copy.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
