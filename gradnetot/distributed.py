"""Data-parallel training with ``torch.distributed``: what ``gn.fit`` needs under ``torchrun``.

Launch one process per device, start the process group, and call ``gn.fit`` as usual::

    # train.py, run with:  torchrun --nproc_per_node=2 train.py
    import gradnetot as gn
    device = gn.distributed.init()            # gloo on a CPU, NCCL on GPUs (one per rank)
    result = gn.fit(model, source, target, steps=2000, batch_size=1000, seed=0, device=device)
    gn.distributed.shutdown()

Under an initialised process group ``gn.fit``

* draws every batch from a per-rank stream derived from ``seed`` (rank 0's stream is the
  single-process one, rank ``r``'s is seeded by :func:`rank_seed`), so ``batch_size`` is the
  per-rank batch and a step sees ``world_size * batch_size`` fresh samples;
* wraps a small module whose ``forward`` computes the mean Monge–Ampère residual (map, log det
  through the model's cheapest exact path, target log-density: the training loss itself) in
  :class:`torch.nn.parallel.DistributedDataParallel`, which averages the gradients across ranks
  during ``backward`` and broadcasts rank 0's weights and buffers when it is built. Every rank therefore
  ends with the same weights; the model itself is never replaced by the wrapper;
* records the loss averaged over ranks (the loss of the union of the ranks' batches), so NaN
  checks and early stops are decided identically everywhere;
* lets rank 0 alone print progress and write checkpoints (all ranks' generator states go into
  the one file, with a barrier after the write; the file stays ``weights_only``-loadable and its
  configuration records the number of processes); every rank resumes from that file and takes its
  own generator state back.

Nothing here reimplements communication: it is ``torch.distributed`` collectives and DDP.
"""
from __future__ import annotations

import datetime
import os

import numpy as np
import torch
from torch import nn

from .loss import _mean_residual, _residual

__all__ = ["available", "is_active", "rank", "world_size", "is_main", "rank_seed", "init", "shutdown",
           "barrier", "ResidualModule", "wrap", "unwrap"]


def available():
    """True when this torch build ships ``torch.distributed``."""
    return torch.distributed.is_available()


def is_active():
    """True inside an initialised process group (e.g. a script started by ``torchrun``)."""
    return available() and torch.distributed.is_initialized()


def rank():
    """This process's rank (0 outside a process group)."""
    return torch.distributed.get_rank() if is_active() else 0


def world_size():
    """Number of processes in the group (1 outside a process group)."""
    return torch.distributed.get_world_size() if is_active() else 1


def is_main():
    """True on rank 0, and in a single process."""
    return rank() == 0


def rank_seed(seed, rank_=None):
    """Seed of rank ``rank_``'s sample stream, derived from ``seed``.

    Rank 0 keeps ``seed`` itself, so its stream is the one a single process would draw;
    rank ``r > 0`` gets a 63-bit seed from NumPy's ``SeedSequence(seed, spawn_key=(r,))``,
    a hash built so that the streams of different ranks do not overlap in practice.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    r = rank() if rank_ is None else rank_
    if isinstance(r, bool) or not isinstance(r, (int, np.integer)) or r < 0:
        raise ValueError(f"rank must be a non-negative int, got {r!r}")
    if r == 0:
        return int(seed)
    words = np.random.SeedSequence(abs(int(seed)), spawn_key=(int(r),)).generate_state(2, np.uint32)
    return (int(words[0]) << 31 | int(words[1]) >> 1) & ((1 << 63) - 1)


def init(backend=None, timeout=None):
    """Start the default process group from ``torchrun``'s environment; return this rank's device.

    ``backend=None`` picks NCCL when CUDA is available (one GPU per rank, chosen by
    ``LOCAL_RANK``) and gloo otherwise. Already initialised: nothing is started, the device is
    returned. ``timeout`` (seconds) bounds every collective, so a lost rank fails instead of hanging.
    """
    if not available():
        raise RuntimeError("this torch build has no torch.distributed")
    if backend is not None and backend not in ("gloo", "nccl"):
        raise ValueError(f"backend must be None, 'gloo' or 'nccl', got {backend!r}")
    if backend is None:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    cuda = backend == "nccl"
    if cuda and not torch.cuda.is_available():
        raise ValueError("backend='nccl' needs CUDA, which is not available")
    device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0))) if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    if not torch.distributed.is_initialized():
        kwargs = {} if timeout is None else {"timeout": datetime.timedelta(seconds=float(timeout))}
        if cuda:
            kwargs["device_id"] = device
        torch.distributed.init_process_group(backend=backend, **kwargs)
    return device


def shutdown():
    """Destroy the default process group if there is one."""
    if is_active():
        torch.distributed.destroy_process_group()


def barrier():
    """``torch.distributed.barrier()`` inside a process group, nothing otherwise."""
    if is_active():
        torch.distributed.barrier()


class ResidualModule(nn.Module):
    """``forward(x, log_p)`` -> the per-sample Monge–Ampère residual of ``model``, or with
    ``p`` (1 or 2) the loss ``mean |residual|^p`` that ``gn.fit`` minimises.

    DDP averages gradients only for a forward that goes through the wrapped module; the
    closed-form Jacobian and log-det paths call the model's internals, not its ``forward``.
    This module makes the whole residual one forward (through :func:`gradnetot.loss._residual`,
    the one implementation of the residual, low-rank log det included), so wrapping it in DDP
    puts every parameter the loss touches under gradient averaging.
    """

    def __init__(self, model, target, p=None):
        super().__init__()
        if p not in (None, 1, 2):
            raise ValueError(f"p must be None, 1 or 2, got {p!r}")
        self.model = model
        self.target = target  # a density, not a module: not part of the state
        self.p = p

    def forward(self, x, log_p):
        if self.p is None:
            return _residual(self.model, x, log_p, self.target)
        return _mean_residual(self.model, x, log_p, self.target, self.p)


def wrap(model, target, device=None, p=None):
    """``DistributedDataParallel(ResidualModule(model, target, p))`` for the current group.

    Building it broadcasts rank 0's parameters and buffers to every rank (so a warm start
    done on each rank's own samples ends as rank 0's), and each forward re-broadcasts the
    buffers (DDP's default ``broadcast_buffers=True``: a model that updates buffers in its
    forward stays consistent; mGradNets' whitening buffers are d² + d numbers).
    """
    if not is_active():
        raise RuntimeError("gn.distributed.wrap needs an initialised process group")
    device = torch.device(device) if device is not None else next(model.parameters()).device
    ids = [device.index if device.index is not None else torch.cuda.current_device()] \
        if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(ResidualModule(model, target, p), device_ids=ids)


def unwrap(module):
    """The user's model inside a DDP / :class:`ResidualModule` wrapper (itself otherwise)."""
    if isinstance(module, nn.parallel.DistributedDataParallel):
        module = module.module
    if isinstance(module, ResidualModule):
        module = module.model
    return module


class _Context:
    """The few decisions ``gn.fit`` takes differently under DDP; all no-ops in a single process."""

    def __init__(self, active):
        self.active = bool(active)
        self.rank = rank() if self.active else 0
        self.world = world_size() if self.active else 1
        self.is_main = self.rank == 0

    def device(self, dev):
        """Under DDP a bare ``cuda`` means this rank's GPU (``LOCAL_RANK``)."""
        if self.active and dev.type == "cuda" and dev.index is None:
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", torch.cuda.current_device())))
        return dev

    def run_seed(self, seed):
        """The run's seed, the same on every rank: ``None`` draws one (from torch's global RNG,
        as a single process does) on rank 0 and broadcasts it."""
        if seed is None:
            seed = int(torch.randint(0, 2**62, (1,)))
            if self.active and self.world > 1:
                box = [seed]
                torch.distributed.broadcast_object_list(box, src=0)
                seed = int(box[0])
        return seed

    def stream_seed(self, run_seed):
        """Seed of this rank's generator: the run's seed on rank 0 (and in a single process)."""
        return rank_seed(run_seed, self.rank) if self.active else run_seed

    def loss(self, model, target, dev, p):
        """The function ``(x, log_p) -> mean |residual|^p`` that training differentiates; under DDP
        it is the DDP-wrapped :class:`ResidualModule` (built here: rank 0's weights are broadcast)."""
        if self.active:
            return wrap(model, target, dev, p=p)
        return ResidualModule(model, target, p).forward

    def mean(self, value):
        """Average a tensor over ranks (for the loss history: the union batch's loss)."""
        if self.active and self.world > 1:
            value = value.clone()
            torch.distributed.all_reduce(value)
            value = value / self.world
        return value

    def any(self, flag):
        """True on every rank when ``flag`` is true on any rank."""
        if not self.active or self.world == 1:
            return bool(flag)
        box = [None] * self.world
        torch.distributed.all_gather_object(box, bool(flag))
        return any(box)

    def checkpoint_exists(self, path):
        """Whether to resume; every rank must see the same file, else a clear error."""
        here = os.path.exists(path)
        if not self.active or self.world == 1:
            return here
        box = [None] * self.world
        torch.distributed.all_gather_object(box, here)
        if len(set(box)) > 1:
            raise RuntimeError(f"checkpoint {path!s} exists on ranks {[r for r, b in enumerate(box) if b]} "
                               "but not on the others: put it on a file system every rank can read")
        return here

    def generator_states(self, generator):
        """Every rank's generator state (a list of uint8 tensors, rank order) under DDP, else ``None``.
        A collective: every rank calls it at every checkpoint."""
        if not self.active:
            return None
        states = [None] * self.world
        torch.distributed.all_gather_object(states, generator.get_state().cpu())
        return states

    def write(self, write_fn, path, state):
        """Rank 0 alone calls ``write_fn(path, state)``; then every rank waits for the file."""
        if self.is_main:
            write_fn(path, state)
        if self.active:
            torch.distributed.barrier()

    def own_generator(self, state, path, error=ValueError):
        """Under DDP put this rank's saved generator state into ``state["generator"]``."""
        if not self.active:
            return state
        gens = state.get("generators")
        if not isinstance(gens, (list, tuple)) or len(gens) != self.world or \
                not all(isinstance(g, torch.Tensor) and g.dtype == torch.uint8 for g in gens):
            raise error(f"checkpoint {path!s} does not hold one generator state per process "
                        f"({self.world}); delete it")
        return dict(state, generator=gens[self.rank])


def context(distributed=None):
    """How ``gn.fit`` runs: ``None`` detects a process group, ``True`` requires one, ``False`` ignores it."""
    if distributed is None or distributed == "auto":
        return _Context(is_active())
    if distributed is True:
        if not is_active():
            raise ValueError("distributed=True needs an initialised process group: start the script with "
                             "torchrun and call gn.distributed.init() (or torch.distributed.init_process_group)")
        return _Context(True)
    if distributed is False:
        return _Context(False)
    raise ValueError(f"distributed must be None, 'auto', True or False, got {distributed!r}")
