"""``fit``: train a map on the Monge–Ampère loss from fresh source samples.

``fit`` is built from named parts, each a small function or class below:

* argument validation (:func:`_validate`) and the first-batch density check;
* sampling (:func:`_draw_chunk`): every random number comes from fit's own generator;
* the optimiser and learning-rate schedule (:func:`_make_optimizer`, :func:`_make_schedule`);
* checkpoints (:func:`_load_checkpoint`, :func:`_write_checkpoint`): tensors, numbers and
  strings only, loaded with ``weights_only=True``, with the run's configuration compared on
  resume;
* the NaN guard (:class:`_NanGuard`): checks, snapshots, and the diagnosis of a divergence;
* progress display (:class:`_Progress`);
* data-parallel training under ``torchrun`` (:mod:`gradnetot.distributed`): per-rank sample
  streams, the DDP-wrapped loss, rank-0 checkpoints and progress, losses averaged over ranks.
"""
from __future__ import annotations

import copy
import math
import numbers
import os
import time
import warnings
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np
import torch
from torch import nn

from . import _checks
from . import distributed as _distributed
from .config import static_progress
from .densities import log_prob_of, place_density, sample_from
from .loss import _logdet, check_problem, map_and_jacobian

__all__ = ["fit", "FitResult", "TrainingDivergedError", "CheckpointError", "resolve_device"]

_CKPT_FORMAT = "gradnetot.fit checkpoint v2"


class TrainingDivergedError(FloatingPointError):
    """Raised when training produced NaN/inf; the model keeps its last finite weights.

    ``.result`` holds the :class:`FitResult` up to the last finite step.
    """

    def __init__(self, message, result=None):
        super().__init__(message)
        self.result = result


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used: unsafe or unreadable content, another
    run's configuration, or another model."""


@dataclass
class FitResult:
    """What :func:`fit` returns, including what it actually did.

    Beyond the loss history and timings, the fields record the run's set-up so that a
    benchmark can print it from the result: ``seed`` (the seed of fit's generator, drawn
    when none was given), ``warm_start`` (whether the moment-matched warm start was
    applied), ``strongly_convex`` (the model has the affine ``(L Lᵀ + εI) x`` term; None
    for a model without that option), ``clip_grad``, ``schedule`` (in words), ``p``,
    ``dtype`` and ``device``, and ``world_size`` (the number of data-parallel processes;
    ``batch_size`` is per process). :meth:`describe` turns them into one line.
    """

    model: nn.Module
    losses: np.ndarray
    steps: int
    wall_time: float
    time_per_step: float
    device: str
    lr: float
    batch_size: int
    resumed_from: int = 0
    history: dict = field(default_factory=dict)
    seed: int | None = None
    warm_start: bool = False
    strongly_convex: bool | None = None
    clip_grad: float | None = None
    schedule: str = ""
    p: int = 1
    dtype: str = "float32"
    stopped_early: bool = False
    world_size: int = 1

    @property
    def final_loss(self):
        tail = self.losses[-max(1, len(self.losses) // 20):]
        return float(np.mean(tail))

    @property
    def steps_per_second(self):
        return 1.0 / self.time_per_step if self.time_per_step > 0 else float("inf")

    @property
    def extras(self):
        """The options that change the method, as a benchmark row would name them:
        e.g. ``"+ warm start + affine term"`` (empty when neither was used)."""
        parts = []
        if self.warm_start:
            parts.append("+ warm start")
        if self.strongly_convex:
            parts.append("+ affine term")
        return " ".join(parts)

    def describe(self):
        """One line: model, extras, optimiser settings, dtype, device and seed."""
        clip = "no clipping" if self.clip_grad is None else f"clip {self.clip_grad:g}"
        extras = f" {self.extras}" if self.extras else ""
        ranks = f" x {self.world_size} processes" if self.world_size > 1 else ""
        return (f"{type(self.model).__name__}{extras}; {self.steps} steps x {self.batch_size}{ranks}, "
                f"lr {self.lr:g} ({self.schedule}), {clip}, L{self.p} loss, {self.dtype} on "
                f"{self.device}, seed {self.seed}")

    def __repr__(self):
        return (f"FitResult(steps={self.steps}, final_loss={self.final_loss:.4g}, "
                f"time_per_step={1e3 * self.time_per_step:.2f} ms, device={self.device!r}, "
                f"dtype={self.dtype!r}, seed={self.seed}, warm_start={self.warm_start}, "
                f"strongly_convex={self.strongly_convex})")


def resolve_device(device="auto"):
    """``"auto"`` -> CUDA when present, else CPU."""
    if device is None or (isinstance(device, str) and device == "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or a torch.device, got {device!r}") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was requested but CUDA is not available")
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be a CPU or CUDA device, got {device!r}")
    return dev


# --------------------------------------------------------------------------- validation
def _fraction(value, name, *, upper_open=True):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    value = float(value)
    if not (0.0 <= value < 1.0 if upper_open else 0.0 <= value <= 1.0):
        raise ValueError(f"{name} must be a fraction in [0, {'1)' if upper_open else '1]'}, got {value}")
    return value


def _model_dtype(model):
    dtypes = {t.dtype for t in model.parameters() if t.is_floating_point()}
    if not dtypes:
        raise ValueError("model has no trainable parameters")
    if len(dtypes) > 1:
        raise ValueError(f"model parameters have mixed dtypes {sorted(str(t) for t in dtypes)}: "
                         "convert it with model.float() or model.double()")
    (dtype,) = dtypes
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"fit trains float32 or float64 models, got {dtype} "
                         "(use model.float() or model.double())")
    return dtype


def _validate(model, source, target, steps, batch_size, lr, device, seed, progress, checkpoint,
              checkpoint_every, p, warm_start, warm_start_samples, clip_grad, warmup, final_lr, compile,
              check_every, presample, desc, callback):
    """Check every argument of :func:`fit`; return them normalised."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    d = check_problem(model, source, target)
    c = SimpleNamespace(d=d)
    c.steps = _checks.positive_int(steps, "steps")
    c.batch_size = _checks.positive_int(batch_size, "batch_size")
    c.lr = _checks.positive_float(lr, "lr")
    c.check_every = _checks.positive_int(check_every, "check_every")
    c.clip_grad = None if clip_grad is None else _checks.positive_float(clip_grad, "clip_grad")
    c.warmup = _fraction(warmup, "warmup")
    c.final_lr = _fraction(final_lr, "final_lr", upper_open=False)
    c.warm_start_samples = _checks.positive_int(warm_start_samples, "warm_start_samples")
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or p not in (1, 2):
        raise ValueError(f"p must be 1 or 2, got {p!r}")
    c.p = int(p)
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise TypeError(f"seed must be an int or None, got {type(seed).__name__}")
        if not 0 <= seed < 2**63:
            raise ValueError(f"seed must be in [0, 2**63), got {seed}")
        seed = int(seed)
    c.seed = seed
    if not (warm_start is None or isinstance(warm_start, (bool, str))) or \
            warm_start not in ("auto", True, False, None):
        raise ValueError(f"warm_start must be 'auto', True or False, got {warm_start!r}")
    c.warm_start = False if warm_start is None else warm_start
    if checkpoint is not None and not isinstance(checkpoint, (str, os.PathLike)):
        raise TypeError(f"checkpoint must be a path or None, got {type(checkpoint).__name__}")
    c.checkpoint = None if checkpoint is None else os.fspath(checkpoint)
    if c.checkpoint is not None and os.path.isdir(c.checkpoint):
        raise ValueError(f"checkpoint must be a file path, got the directory {c.checkpoint!r}")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable or None, got {type(callback).__name__}")
    c.callback = callback
    if desc is not None and not isinstance(desc, str):
        raise TypeError(f"desc must be a string or None, got {type(desc).__name__}")
    c.label = desc or type(model).__name__
    c.progress = bool(progress)
    c.compile = bool(compile)
    c.device = resolve_device(device)
    c.dtype = _model_dtype(model)
    # chunking: draw many batches in one call (few host syncs); checkpoints fall on chunk
    # boundaries so that a resumed run replays the same sample stream
    if presample is None:
        presample = max(1, min(c.check_every, (1 << 21) // (c.batch_size * d)))
    c.chunk = _checks.positive_int(presample, "presample")
    if checkpoint_every is None:
        checkpoint_every = max(c.chunk, (c.steps // 10) // c.chunk * c.chunk)
    c.checkpoint_every = max(c.chunk, _checks.positive_int(checkpoint_every, "checkpoint_every")
                             // c.chunk * c.chunk)
    return c


def _check_densities(source, target, d, batch_size, gen):
    """Validate both densities on a first batch, before any training; return the largest
    |coordinate| of the target's samples (a scale for the divergence diagnosis)."""
    with torch.no_grad():
        x0 = sample_from(source, min(batch_size, 256), gen)
        if not isinstance(x0, torch.Tensor) or x0.ndim != 2 or x0.shape[1] != d:
            raise ValueError(f"source.sample(n) must return shape (n, {d}), got "
                             f"{tuple(x0.shape) if isinstance(x0, torch.Tensor) else type(x0).__name__}")
        if not bool(torch.isfinite(x0).all()):
            raise ValueError("source.sample returned NaN or infinite values")
        lp0 = log_prob_of(source, x0)
        if lp0.shape != (x0.shape[0],):
            raise ValueError(f"source.log_prob must return shape (n,), got {tuple(lp0.shape)}")
        if not bool(torch.isfinite(lp0).all()):
            raise ValueError("source.log_prob returned NaN or infinite values on source samples")
        y0 = sample_from(target, min(batch_size, 256), gen)
        if not isinstance(y0, torch.Tensor) or y0.ndim != 2 or y0.shape[1] != d:
            raise ValueError(f"target.sample(n) must return shape (n, {d}), got "
                             f"{tuple(y0.shape) if isinstance(y0, torch.Tensor) else type(y0).__name__}")
        lq0 = log_prob_of(target, y0)
        if lq0.shape != (y0.shape[0],):
            raise ValueError(f"target.log_prob must return shape (n,), got {tuple(lq0.shape)}")
        if not bool(torch.isfinite(lq0).all()):
            raise ValueError("target.log_prob returned NaN or infinite values on target samples")
    return float(y0.abs().max())


# --------------------------------------------------------------------------- sampling
def _draw_chunk(source, n, batch_size, d, gen):
    """``n`` batches of source samples and their log-densities, from fit's generator ``gen``."""
    with torch.no_grad():
        xb = sample_from(source, n * batch_size, gen)
        if tuple(xb.shape) != (n * batch_size, d):
            raise ValueError(f"source.sample({n * batch_size}) returned shape {tuple(xb.shape)}")
        lpb = log_prob_of(source, xb)
        if tuple(lpb.shape) != (n * batch_size,):
            raise ValueError(f"source.log_prob returned shape {tuple(lpb.shape)} for {n * batch_size} points")
    return xb.view(n, batch_size, d), lpb.view(n, batch_size)


def _warm_start(model, source, target, gen, d, mode, n_samples):
    """Apply the model's moment-matched warm start if asked; return whether it was applied."""
    has = callable(getattr(model, "warm_start", None))
    if mode is True and not has:
        raise ValueError(f"warm_start=True but {type(model).__name__} has no warm_start method")
    if not has or mode is False or (mode == "auto" and bool(getattr(model, "warm_started", False))):
        return False
    with torch.no_grad():
        n_ws = max(2 * d + 2, n_samples)
        model.warm_start(sample_from(source, n_ws, gen), sample_from(target, n_ws, gen))
    return True


# --------------------------------------------------------------------------- optimiser, schedule
def _make_optimizer(params, lr, dev):
    if dev.type == "cuda":
        # one fused kernel for the whole Adam update instead of several per parameter (GPU
        # steps at d = 2 are launch-bound); same update rule, falls back where unsupported
        try:
            return torch.optim.Adam(params, lr=lr, fused=True)
        except (RuntimeError, TypeError, ValueError):
            pass
    return torch.optim.Adam(params, lr=lr)


def _make_schedule(opt, steps, warmup, final_lr):
    """Linear warm-up over ``warmup·steps`` steps, then cosine decay to ``final_lr·lr``."""
    n_warm = int(warmup * steps)

    def lr_factor(k):
        if k < n_warm:
            return (k + 1) / n_warm
        t = (k - n_warm) / max(1, steps - n_warm)
        return final_lr + (1 - final_lr) * 0.5 * (1 + math.cos(math.pi * min(1.0, t)))

    text = (f"{n_warm} warm-up steps + " if n_warm else "") + f"cosine to {final_lr:g}·lr"
    return torch.optim.lr_scheduler.LambdaLR(opt, lr_factor), text


# --------------------------------------------------------------------------- checkpoints
def _run_config(c, model, seed, world_size=1):
    """Everything that determines the numbers of a run: stored in the checkpoint and
    compared on resume (plain numbers and strings only). ``world_size``: the number of
    data-parallel processes (``batch_size`` is per process)."""
    return {
        "model": type(model).__name__,
        "parameter_shapes": ";".join(f"{k}:{tuple(v.shape)}" for k, v in model.state_dict().items()),
        "dim": c.d, "steps": c.steps, "batch_size": c.batch_size, "lr": c.lr, "p": c.p, "seed": seed,
        "clip_grad": c.clip_grad, "warmup": c.warmup, "final_lr": c.final_lr,
        "warm_start": str(c.warm_start), "warm_start_samples": c.warm_start_samples,
        "presample": c.chunk, "dtype": str(c.dtype).replace("torch.", ""), "world_size": int(world_size),
    }


def _plain(obj, where="checkpoint"):
    """Check that ``obj`` holds only tensors, numbers, strings, None and containers of them."""
    if obj is None or isinstance(obj, (torch.Tensor, bool, int, float, str)):
        return obj
    if isinstance(obj, (list, tuple)):
        for v in obj:
            _plain(v, where)
        return obj
    if isinstance(obj, dict):
        for k, v in obj.items():
            if not isinstance(k, (str, int)):
                raise TypeError(f"{where}: key {k!r} is not a string or an integer")
            _plain(v, f"{where}[{k!r}]")
        return obj
    raise TypeError(f"{where} holds a {type(obj).__name__}; a checkpoint stores only tensors, "
                    "numbers and strings")


def _checkpoint_state(model, opt, sched, gen, k, losses, config, warm, generators=None):
    """The checkpoint's content; ``generators``: every rank's generator state under DDP
    (``"generator"`` is then rank 0's)."""
    sched_state = {key: v for key, v in sched.state_dict().items() if key != "lr_lambdas"}
    extra = {} if generators is None else {"generators": list(generators)}
    return _plain({**extra,
        "format": _CKPT_FORMAT, "config": config, "step": int(k), "warm_start_applied": bool(warm),
        "model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched_state,
        "generator": gen.get_state(), "losses": losses[:k].detach().cpu(),
    })


def _write_checkpoint(path, state):
    """Write ``state`` atomically (a temporary file, then ``os.replace``)."""
    tmp = f"{path}.tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)


def _load_checkpoint(path, dev):
    """Read a checkpoint with ``weights_only=True``: nothing in the file is executed."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's notes on foreign pickle protocols
            state = torch.load(path, map_location=dev, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure means: not a usable checkpoint
        # torch's own text suggests weights_only=False: quote only the reason, never that advice
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        why = next((ln for ln in lines if ("unsupported" in ln.lower() or "WeightsUnpickler error:" in ln)
                    and "file an issue" not in ln), None)
        if why is None:
            why = next((ln for ln in lines if "weights_only" not in ln and "torch.load" not in ln),
                       type(exc).__name__)
        raise CheckpointError(
            f"checkpoint {path!s} cannot be loaded safely: a checkpoint may hold only tensors, numbers "
            f"and strings, and nothing in this file was run ({why[:300]}). It is not a checkpoint "
            "written by gradnetot.fit, or it was tampered with: delete it or give fit another "
            "checkpoint path.") from exc
    if not isinstance(state, dict) or state.get("format") != _CKPT_FORMAT:
        raise CheckpointError(f"checkpoint {path!s} is not a gradnetot.fit checkpoint of this version "
                              "(delete it or give fit another checkpoint path)")
    for key in ("config", "step", "model", "optimizer", "scheduler", "generator", "losses"):
        if key not in state:
            raise CheckpointError(f"checkpoint {path!s} lacks its {key!r} entry (delete it)")
    bad = [k for k, v in state["model"].items()
           if isinstance(v, torch.Tensor) and v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        raise CheckpointError(f"checkpoint {path!s} holds non-finite weights ({', '.join(bad)}); delete it")
    return state


_CONFIG_DEFAULTS = {"world_size": 1}  # entries that older checkpoints of this format lack


def _check_config(saved, current, path, seed_given):
    for key, value in current.items():
        if key == "seed" and not seed_given:
            continue  # fit(seed=None) continues the checkpoint's own stream
        was = saved.get(key, _CONFIG_DEFAULTS.get(key))
        if key == "world_size" and was != value:
            raise CheckpointError(
                f"checkpoint {path!s} was written by {was!r} process(es) but this run has {value}: "
                "resume with the same number of processes (or delete the file)")
        if was != value:
            raise CheckpointError(
                f"checkpoint {path!s} was written with {key}={was!r} but this call has "
                f"{key}={value!r}; delete the file or pass the same {key}")


def _restore(state, model, opt, sched, gen, losses, path):
    try:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict({**sched.state_dict(), **state["scheduler"]})
        gen.set_state(state["generator"].cpu())
    except (RuntimeError, KeyError, ValueError, TypeError) as exc:
        raise CheckpointError(f"checkpoint {path!s} does not fit this model/optimiser: {exc}") from exc
    start = int(state["step"])
    if not 0 <= start <= losses.shape[0] or state["losses"].shape != (start,):
        raise CheckpointError(f"checkpoint {path!s} is inconsistent (step {start}); delete it")
    losses[:start] = state["losses"].to(losses)
    return start


# --------------------------------------------------------------------------- NaN guard
def _finite_flag(model):
    """A 0-d bool tensor: every floating parameter and buffer is finite (no host sync)."""
    ts = [t for t in (*model.parameters(), *model.buffers()) if t.is_floating_point()]
    return torch.stack([torch.isfinite(t).all() for t in ts]).all()


def _all_finite(model):
    return bool(_finite_flag(model))


def _diagnose(model, target, x, log_p, scale=None):
    """Say which part of the residual went non-finite, for the weights and batch of the failing step.

    ``scale``: the largest |coordinate| of the target's first samples; mapped points far
    beyond it mean that training blew up, not that the target density is at fault.
    """
    with torch.no_grad():
        if not bool(torch.isfinite(x).all()):
            return ValueError("source.sample returned NaN or infinite values during fit")
        if not bool(torch.isfinite(log_p).all()):
            return ValueError("source.log_prob returned NaN or infinite values during fit")
        if not _all_finite(model):
            return TrainingDivergedError("the model's weights became NaN/inf (learning rate too high?)")
        T, J = map_and_jacobian(model, x)
        if not bool(torch.isfinite(T).all()):
            return TrainingDivergedError("the model's output T(x) became NaN/inf")
        big = float(T.abs().max())
        if scale is not None and big > 1e3 * (1.0 + scale):
            return TrainingDivergedError(f"the model's output T(x) blew up (|T(x)| up to {big:.3g}, "
                                         f"target samples up to {scale:.3g}; learning rate too high?)")
        lq = log_prob_of(target, T)
        if bool(torch.isnan(lq).any()):
            return ValueError("target.log_prob returned NaN during fit")
        if not bool(torch.isfinite(lq).all()):
            return ValueError("target.log_prob returned -inf/inf at mapped points: give the target a "
                              "density that is positive everywhere (e.g. a smoothed UniformShape)")
        ld = _logdet(model, J)
        if not bool(torch.isfinite(ld).all()):
            return TrainingDivergedError("log det J became NaN/inf: the Jacobian is singular or not PD "
                                         "(use strongly_convex=True or a smaller learning rate)")
    return TrainingDivergedError("the loss became NaN/inf")


class _NanGuard:
    """Checks losses and weights, keeps the last finite state, and diagnoses a divergence.

    The state (model, optimiser, schedule) at the last successful check is kept together
    with the batches drawn since, so that a failure can be replayed up to the first step
    whose loss was not finite and diagnosed with *that* step's weights and batch, before
    the model is restored.
    """

    def __init__(self, model, opt, sched, losses, start, target_scale=None):
        self.model, self.opt, self.sched, self.losses = model, opt, sched, losses
        self.target_scale = target_scale
        self.last_ok = start
        self.chunks = []  # (first step, xb, lpb) for the batches drawn since last_ok
        self._snapshot()

    def _snapshot(self):
        self.saved = (copy.deepcopy(self.model.state_dict()), copy.deepcopy(self.opt.state_dict()),
                      copy.deepcopy(self.sched.state_dict()))

    def restore(self):
        m, o, s = self.saved
        self.model.load_state_dict(m)
        self.opt.load_state_dict(copy.deepcopy(o))
        self.sched.load_state_dict(s)

    def add_chunk(self, k0, xb, lpb):
        self.chunks.append((k0, xb, lpb))

    def batch(self, k):
        for k0, xb, lpb in self.chunks:
            if k0 <= k < k0 + xb.shape[0]:
                return xb[k - k0], lpb[k - k0]
        raise AssertionError(f"batch of step {k} not kept")  # pragma: no cover

    def check(self, k):
        """True (and a new snapshot) when the losses since the last check and the weights are finite."""
        ok = bool(torch.isfinite(self.losses[self.last_ok:k]).all() & _finite_flag(self.model))
        if ok:
            self.last_ok = k
            self._snapshot()
            self.chunks = [c for c in self.chunks if c[0] + c[1].shape[0] > k]
        return ok

    def failure(self, k, train_step, target):
        """Replay to the first failing step, diagnose it, restore; return (error, bad step)."""
        window = ~torch.isfinite(self.losses[self.last_ok:k])
        bad = self.last_ok + int(torch.nonzero(window)[0, 0]) if bool(window.any()) else k
        self.restore()
        try:
            for j in range(self.last_ok, bad):  # deterministic replay: the weights at step `bad`
                train_step(*self.batch(j))
            if bad < k:
                err = _diagnose(self.model, target, *self.batch(bad), scale=self.target_scale)
            else:  # every loss was finite: the last update made the weights non-finite
                err = TrainingDivergedError("the model's weights became NaN/inf (learning rate too high?)")
        finally:
            self.restore()
        return err, bad


# --------------------------------------------------------------------------- progress
class _Progress:
    """A tqdm bar, or with ``GRADNETOT_STATIC_PROGRESS=1`` one summary line at the end."""

    def __init__(self, progress, steps, start, label):
        from tqdm.auto import tqdm

        self.label = label
        self.static = progress and static_progress()  # built HTML: a text line, not a widget bar
        self.live = progress and not self.static
        self.bar = tqdm(total=steps, initial=start, disable=not self.live, desc=label, leave=True,
                        mininterval=0.5)

    def update(self, k, losses):
        self.bar.update(k - self.bar.n)
        if self.live:  # reading the loss is a host sync: only when it is displayed
            self.bar.set_postfix(loss=f"{float(losses[k - 1]):.4f}")

    def close(self):
        self.bar.close()

    def summary(self, k, start, wall, dev, losses):
        if self.static and k > start:
            print(f"{self.label}: {k - start} steps in {wall:.1f} s "
                  f"({(k - start) / max(wall, 1e-9):.1f} it/s) on {dev}, final loss {float(losses[k - 1]):.4g}")


# --------------------------------------------------------------------------- fit
def fit(model, source, target, steps=2000, batch_size=1000, lr=3e-2, device="auto", seed=None,
        progress=True, checkpoint=None, checkpoint_every=None, *, p=1, warm_start="auto",
        warm_start_samples=20_000, clip_grad=1.0, warmup=0.02, final_lr=1 / 300, compile=False,
        check_every=25, presample=None, desc=None, callback=None, distributed=None):
    """Train ``model`` so that it pushes ``source`` onto ``target``.

    Each step draws a fresh batch from ``source`` and minimises the mean
    ``|log det J_T(x) - log p(x) + log q(T(x))|^p`` (:func:`~gradnetot.monge_ampere_loss`'s
    residual).

    Parameters
    ----------
    model : nn.Module mapping ``(n, d)`` to ``(n, d)``. mGradNets use their
        closed-form Jacobian, any other module is differentiated by ``torch.func``.
        Training runs in the model's dtype (float32 or float64): ``fit(model.double(), ...)``
        trains in float64, with the densities converted once.
    source, target : objects with ``sample`` and ``log_prob`` (torch
        distributions included). They are moved to the device once.
    steps, batch_size, lr : optimisation budget; Adam with a linear warm-up
        (``warmup`` fraction of the steps) then cosine decay to ``final_lr * lr``.
    device : ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"``...
    seed : seeds fit's own generator, from which every random number of the run is
        drawn (also for ``torch.distributions`` densities, sampled inside
        ``torch.random.fork_rng``): torch's global RNG is not touched. ``None`` draws a
        seed from the global RNG (recorded in ``FitResult.seed``).
    progress : show a tqdm bar (notebook-aware). With ``GRADNETOT_STATIC_PROGRESS=1`` (set by
        ``make book``) print one summary line at the end instead, for static HTML pages.
    checkpoint : path of a ``.pt`` file. Written every ``checkpoint_every``
        steps and at the end, only right after a successful NaN check; if it exists when
        ``fit`` starts, training resumes from it (same result as an uninterrupted run). It
        holds only tensors, numbers and strings and is read with ``weights_only=True``: a
        file with anything else raises :class:`CheckpointError` without running it. The
        run's configuration is stored and compared on resume: a mismatch raises
        :class:`CheckpointError` naming the differing argument.
    warm_start : ``"auto"`` calls ``model.warm_start`` (moment-matched affine
        start) when the model has one and has not been warm-started before (so a
        second ``fit`` on the same model, e.g. in bandwidth annealing, continues
        from the trained weights); ``True`` always calls it; ``False`` skips it.
    clip_grad : max gradient norm (``None`` to disable).
    compile : try ``torch.compile`` on the loss (``mode="reduce-overhead"`` on
        CUDA, i.e. CUDA graphs); falls back to eager with a warning.
    callback : optional ``callback(step, model)``, called every ``check_every``
        steps (after the NaN check, and after any checkpoint due at that step) and at the
        last step, e.g. to evaluate a metric. Return ``True`` to stop training early (the
        result then covers the steps run); an exception raised inside it interrupts ``fit``
        (a later call with the same checkpoint resumes). Time spent inside the callback is
        excluded from ``wall_time``/``time_per_step``.
    distributed : data-parallel training (DDP) under ``torchrun``. ``None`` (default) turns it on
        when a ``torch.distributed`` process group is initialised, ``True`` requires one, ``False``
        trains this process alone. Under DDP ``batch_size`` is per rank, each rank draws from its
        own generator seeded from ``seed`` (rank 0's is the single-process one; ``seed=None``
        draws one seed on rank 0 for all), ``losses`` are averaged over ranks (so NaN checks and
        ``callback`` stops agree everywhere), and rank 0 alone prints and writes checkpoints,
        which hold every rank's generator state and are resumed with the same number of
        processes only; see :mod:`gradnetot.distributed`.

    Returns
    -------
    FitResult with the loss history, time per step, the trained model, and what was done
    (seed, warm start, strongly convex term, clipping, schedule, dtype, device).

    Raises
    ------
    ValueError / TypeError for bad arguments or a density that returns NaN;
    CheckpointError (a ValueError) for an unusable checkpoint;
    TrainingDivergedError if the loss diverges (weights are restored to the
    last finite state first; the message says which part went non-finite first).
    """
    c = _validate(model, source, target, steps, batch_size, lr, device, seed, progress, checkpoint,
                  checkpoint_every, p, warm_start, warm_start_samples, clip_grad, warmup, final_lr,
                  compile, check_every, presample, desc, callback)
    ddp = _distributed.context(distributed)  # all no-ops in a single process
    dev, d = ddp.device(c.device), c.d
    c.progress = c.progress and ddp.is_main
    run_seed = ddp.run_seed(c.seed)  # the same on every rank
    gen = torch.Generator(device=dev)
    gen.manual_seed(ddp.stream_seed(run_seed))  # rank r > 0: its own stream derived from run_seed

    model.to(dev)
    source, target = place_density(source, dev, c.dtype), place_density(target, dev, c.dtype)
    target_scale = _check_densities(source, target, d, c.batch_size, gen)

    params = [q for q in model.parameters() if q.requires_grad]
    if not params:
        raise ValueError("model has no trainable parameters")
    opt = _make_optimizer(params, c.lr, dev)
    sched, schedule_text = _make_schedule(opt, c.steps, c.warmup, c.final_lr)
    losses = torch.zeros(c.steps, device=dev, dtype=c.dtype)
    config = _run_config(c, model, run_seed, ddp.world)

    start, warm = 0, False
    if c.checkpoint is not None and ddp.checkpoint_exists(c.checkpoint):
        state = _load_checkpoint(c.checkpoint, dev)
        _check_config(state["config"], config, c.checkpoint, c.seed is not None)
        run_seed = state["config"].get("seed", run_seed)
        config["seed"] = run_seed
        state = ddp.own_generator(state, c.checkpoint, CheckpointError)
        start = _restore(state, model, opt, sched, gen, losses, c.checkpoint)
        warm = bool(state.get("warm_start_applied", False))
    else:
        warm = _warm_start(model, source, target, gen, d, c.warm_start, c.warm_start_samples)

    # mean |residual|^p through loss._mean_residual; under DDP the DDP-wrapped module computing it
    # (built after the warm start / restore: it broadcasts rank 0's weights and buffers)
    loss_eager = ddp.loss(model, target, dev, c.p)

    loss_fn = loss_eager
    if c.compile:
        try:
            loss_fn = torch.compile(loss_eager, mode="reduce-overhead" if dev.type == "cuda" else None,
                                    dynamic=False)
        except Exception as exc:  # pragma: no cover - depends on the platform
            warnings.warn(f"torch.compile unavailable ({exc}); using eager mode")
            loss_fn = loss_eager

    def train_step(x, log_p):
        loss = loss_fn(x, log_p)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if c.clip_grad is not None:
            nn.utils.clip_grad_norm_(params, c.clip_grad)
        opt.step()
        sched.step()
        return ddp.mean(loss.detach())  # under DDP: the union batch's loss, the same on every rank

    def first_step(x, log_p):  # the compiled loss is tried once, eager mode if it fails
        nonlocal loss_fn
        try:
            return train_step(x, log_p)
        except Exception as exc:  # noqa: BLE001
            warnings.warn(f"compiled step failed ({type(exc).__name__}: {exc}); using eager mode")
            loss_fn = loss_eager
            return train_step(x, log_p)

    def result(k, wall, stopped=False):
        done = max(1, k - start)
        return FitResult(model=model, losses=losses[:k].detach().cpu().numpy(), steps=k, wall_time=wall,
                         time_per_step=wall / done, device=str(dev), lr=c.lr, batch_size=c.batch_size,
                         resumed_from=start, seed=run_seed, warm_start=warm,
                         strongly_convex=getattr(model, "strongly_convex", None), clip_grad=c.clip_grad,
                         schedule=schedule_text, p=c.p, dtype=str(c.dtype).replace("torch.", ""),
                         stopped_early=stopped, world_size=ddp.world)

    guard = _NanGuard(model, opt, sched, losses, start, target_scale)
    bar = _Progress(c.progress, c.steps, start, c.label)
    model.train()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    excluded = 0.0  # seconds spent in the callback
    k, stopped = start, False
    step_fn = first_step if c.compile else train_step
    try:
        while k < c.steps and not stopped:
            n = min(c.chunk, c.steps - k)
            xb, lpb = _draw_chunk(source, n, c.batch_size, d, gen)
            guard.add_chunk(k, xb, lpb)
            for i in range(n):
                losses[k] = step_fn(xb[i], lpb[i])
                step_fn = train_step
                k += 1
                due_check = (k - start) % c.check_every == 0 or k == c.steps
                due_save = (c.checkpoint is not None and i == n - 1
                            and (k % c.checkpoint_every == 0 or k == c.steps))
                if not (due_check or due_save):
                    continue
                if guard.last_ok != k and not guard.check(k):
                    err, bad = guard.failure(k, train_step, target)
                    msg = (f"{err} (first non-finite loss at step {bad}); the model was restored to "
                           f"its weights at step {guard.last_ok}")
                    if isinstance(err, ValueError):
                        raise type(err)(msg)
                    raise TrainingDivergedError(msg, result(guard.last_ok, time.perf_counter() - t0))
                if due_save:  # only a state that has just passed the NaN check is written
                    state = _checkpoint_state(model, opt, sched, gen, k, losses, config, warm,
                                              ddp.generator_states(gen))
                    ddp.write(_write_checkpoint, c.checkpoint, state)  # rank 0 writes; a barrier
                if due_check:
                    bar.update(k, losses)
                    if c.callback is not None:
                        c0 = time.perf_counter()
                        try:
                            stopped = c.callback(k, model) is True
                        finally:
                            excluded += time.perf_counter() - c0
                        stopped = ddp.any(stopped)  # one rank's stop stops every rank
                        if stopped:
                            break
    finally:
        bar.close()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    wall = time.perf_counter() - t0 - excluded
    model.eval()
    bar.summary(k, start, wall, dev, losses)
    return result(k, wall, stopped)
