"""The book-wide FAST switch: ``GRADNETOT_FAST=1`` shrinks every chapter for CI."""
import os


def _env_flag(name):
    """True when the environment variable ``name`` is set to anything but "", 0, false or no."""
    return os.environ.get(name, "0").strip().lower() not in ("", "0", "false", "no")


FAST = _env_flag("GRADNETOT_FAST")


def static_progress():
    """True when ``GRADNETOT_STATIC_PROGRESS=1`` is set (``make book`` sets it).

    A live tqdm bar in a notebook is an ipywidget; in a built, static HTML page it is an
    empty box. In this mode ``gn.fit(progress=True)`` shows no bar and prints one summary
    line when it finishes instead (steps, wall time, it/s, final loss).
    """
    return _env_flag("GRADNETOT_STATIC_PROGRESS")


def scaled(full, fast):
    """``fast`` when GRADNETOT_FAST=1 is set, else ``full``."""
    return fast if FAST else full


def set_seed(seed=0):
    """Seed Python, NumPy and torch (CPU and CUDA) in one call."""
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return seed
