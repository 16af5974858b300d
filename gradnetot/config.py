"""The book-wide FAST switch: ``GRADNETOT_FAST=1`` shrinks every chapter for CI."""
import os

FAST = os.environ.get("GRADNETOT_FAST", "0").strip().lower() not in ("", "0", "false", "no")


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
