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
* wraps a small module whose ``forward`` computes the per-sample Monge–Ampère residual (map,
  Jacobian, log det and target log-density) in
  :class:`torch.nn.parallel.DistributedDataParallel`, which averages the gradients across ranks
  during ``backward`` and broadcasts rank 0's weights and buffers when it is built. Every rank therefore
  ends with the same weights; the model itself is never replaced by the wrapper;
* records the loss averaged over ranks (the loss of the union of the ranks' batches), so NaN
  checks and early stops are decided identically everywhere;
* lets rank 0 alone print progress and write checkpoints (all ranks' generator states go into
  the one file, with a barrier after the write); every rank resumes from that file.

Nothing here reimplements communication: it is ``torch.distributed`` collectives and DDP.
"""
from __future__ import annotations

import datetime
import os

import numpy as np
import torch
from torch import nn

from .densities import log_prob_of
from .loss import _logdet, map_and_jacobian

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
    """``forward(x, log_p)`` -> the per-sample Monge–Ampère residual of ``model``.

    DDP averages gradients only for a forward that goes through the wrapped module; the
    closed-form Jacobian path calls the model's internals (``map_and_jacobian``), not its
    ``forward``. This module makes the whole residual one forward, so wrapping it in DDP puts
    every parameter the loss touches under gradient averaging.
    """

    def __init__(self, model, target):
        super().__init__()
        self.model = model
        self.target = target  # a density, not a module: not part of the state

    def forward(self, x, log_p):
        T, J = map_and_jacobian(self.model, x)
        return _logdet(self.model, J) - log_p + log_prob_of(self.target, T)


def wrap(model, target, device=None):
    """``DistributedDataParallel(ResidualModule(model, target))`` for the current group.

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
    return nn.parallel.DistributedDataParallel(ResidualModule(model, target), device_ids=ids)


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

    def seed(self, seed):
        """This rank's stream seed; ``None`` becomes one random seed agreed by all ranks."""
        if not self.active:
            return seed
        if seed is None:
            box = [int(torch.randint(0, 2**62, (1,)))]
            torch.distributed.broadcast_object_list(box, src=0)
            seed = box[0]
        return rank_seed(seed, self.rank)

    def residual(self, model, target, dev):
        """The function ``(x, log_p) -> residual`` that training differentiates."""
        if self.active:
            return wrap(model, target, dev)
        return ResidualModule(model, target).forward

    def mean(self, value):
        """Average a tensor over ranks (for the loss history: the union batch's loss)."""
        if self.active and self.world > 1:
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

    def save(self, path, state, generator):
        """Rank 0 writes ``state`` (+ every rank's generator state) atomically; then a barrier."""
        if self.active:
            gens = [None] * self.world
            torch.distributed.all_gather_object(gens, generator.get_state())
            state = dict(state, world_size=self.world, generators=gens)
        if self.is_main:
            tmp = f"{path}.tmp"
            torch.save(state, tmp)
            os.replace(tmp, path)
        if self.active:
            torch.distributed.barrier()

    def load(self, path, dev):
        """Read a checkpoint; under DDP ``state["generator"]`` becomes this rank's own state."""
        state = torch.load(path, map_location=dev, weights_only=False)
        saved = state.get("world_size", 1)
        if saved != self.world:
            raise ValueError(f"checkpoint {path!s} was written by {saved} process(es) but this run has "
                             f"{self.world}: resume with the same number of processes (or delete it)")
        if self.active and "generators" in state:
            state["generator"] = state["generators"][self.rank]
        return state


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
