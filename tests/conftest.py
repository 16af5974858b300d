"""Shared fixtures for the gradnetot test suite.

The suite runs on CPU with a single torch thread: the machines it runs on are
small and shared, and one thread also keeps float reductions reproducible.
"""
import os
import tempfile

# Hypothesis keeps a cache (example database, constants) in ./.hypothesis by default: keep the
# checkout clean by storing it in the temporary directory instead (set before hypothesis is imported)
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", os.path.join(tempfile.gettempdir(), "gradnetot-hypothesis"))

import pytest  # noqa: E402
import torch  # noqa: E402

import gradnetot as gn  # noqa: E402

torch.set_num_threads(1)


def pytest_addoption(parser):
    parser.addoption("--run-fresh-env", action="store_true", default=False,
                     help="run the tests marked fresh_env (they install torch into a new venv)")


def pytest_collection_modifyitems(config, items):
    """``fresh_env`` tests download a large torch wheel: opt-in only, so `make test` stays fast."""
    if config.getoption("--run-fresh-env") or os.environ.get("GRADNETOT_TEST_FRESH_ENV") == "1":
        return
    skip = pytest.mark.skip(reason="installs torch in a fresh venv; opt in with --run-fresh-env "
                                   "or GRADNETOT_TEST_FRESH_ENV=1")
    for item in items:
        if "fresh_env" in item.keywords:
            item.add_marker(skip)


class CountingDensity:
    """Wrap a density and misbehave on purpose after a number of calls.

    ``nan_after``: ``log_prob`` returns NaN from its ``nan_after``-th call on
    (1-based; ``None`` never). ``nan_once``: only that single call is NaN.
    ``raise_on_sample``: ``sample`` raises ``exc`` on that call (1-based).
    """

    def __init__(self, base, nan_after=None, nan_once=False, raise_on_sample=None,
                 exc=KeyboardInterrupt):
        self.base = base
        self.dim = base.dim
        self.nan_after = nan_after
        self.nan_once = nan_once
        self.raise_on_sample = raise_on_sample
        self.exc = exc
        self.sample_calls = 0
        self.log_prob_calls = 0

    def sample(self, n, generator=None):
        self.sample_calls += 1
        if self.raise_on_sample is not None and self.sample_calls == self.raise_on_sample:
            raise self.exc("simulated interruption")
        return self.base.sample(n, generator=generator)

    def log_prob(self, x):
        self.log_prob_calls += 1
        out = self.base.log_prob(x)
        k = self.nan_after
        if k is not None and (self.log_prob_calls == k or (not self.nan_once and self.log_prob_calls > k)):
            out = torch.full_like(out, float("nan"))
        return out


@pytest.fixture
def gauss2():
    """A correlated 2-D source Gaussian and a standard normal target."""
    src = gn.Gaussian(torch.tensor([1.0, -0.5]), torch.tensor([[1.0, 0.6], [0.6, 0.8]]))
    tgt = gn.Gaussian(torch.zeros(2), torch.eye(2))
    return src, tgt


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(1234)


def params_finite(model):
    return all(bool(torch.isfinite(p).all()) for p in model.parameters())


def state_equal(m1, m2):
    s1, s2 = m1.state_dict(), m2.state_dict()
    return s1.keys() == s2.keys() and all(torch.equal(s1[k], s2[k]) for k in s1)
