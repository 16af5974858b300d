"""``fit``: train a map on the Monge–Ampère loss from fresh source samples."""
from __future__ import annotations

import copy
import math
import os
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from . import _checks
from .config import static_progress
from .densities import density_dim, log_prob_of, sample_from
from .loss import _logdet, check_problem, map_and_jacobian

__all__ = ["fit", "FitResult", "TrainingDivergedError", "resolve_device"]


class TrainingDivergedError(FloatingPointError):
    """Raised when training produced NaN/inf; the model keeps its last finite weights.

    ``.result`` holds the :class:`FitResult` up to the last finite step.
    """

    def __init__(self, message, result=None):
        super().__init__(message)
        self.result = result


@dataclass
class FitResult:
    """What :func:`fit` returns."""

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

    @property
    def final_loss(self):
        tail = self.losses[-max(1, len(self.losses) // 20):]
        return float(np.mean(tail))

    @property
    def steps_per_second(self):
        return 1.0 / self.time_per_step if self.time_per_step > 0 else float("inf")

    def __repr__(self):
        return (f"FitResult(steps={self.steps}, final_loss={self.final_loss:.4g}, "
                f"time_per_step={1e3 * self.time_per_step:.2f} ms, device={self.device!r})")


def resolve_device(device="auto"):
    """``"auto"`` -> CUDA when present, else CPU."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or a torch.device, got {device!r}") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was requested but CUDA is not available")
    return dev


class _OnDevice:
    """Wrap a density whose tensors live elsewhere (e.g. a CPU torch distribution)."""

    def __init__(self, density, device):
        self.density, self.device = density, device
        self.dim = density_dim(density)

    def sample(self, n, generator=None):
        return sample_from(self.density, n, generator).to(self.device)

    def log_prob(self, x):
        try:
            return log_prob_of(self.density, x)
        except RuntimeError:
            return log_prob_of(self.density, x.cpu()).to(x.device)


def _place(density, device):
    if hasattr(density, "to") and hasattr(density, "_tensors"):
        return density.to(device)
    return _OnDevice(density, device)


def _all_finite(model):
    ts = [t for t in (*model.parameters(), *model.buffers()) if t.is_floating_point()]
    return bool(torch.stack([torch.isfinite(t).all() for t in ts]).all())


def _diagnose(model, source, target, x, log_p):
    """Say which part of the residual went non-finite."""
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


def fit(model, source, target, steps=2000, batch_size=1000, lr=3e-2, device="auto", seed=None,
        progress=True, checkpoint=None, checkpoint_every=None, *, p=1, warm_start="auto",
        warm_start_samples=20_000, clip_grad=1.0, warmup=0.02, final_lr=1 / 300, compile=False,
        check_every=25, presample=None, desc=None, callback=None):
    """Train ``model`` so that it pushes ``source`` onto ``target``.

    Each step draws a fresh batch from ``source`` and minimises the mean
    ``|log det J_T(x) - log p(x) + log q(T(x))|^p``.

    Parameters
    ----------
    model : nn.Module mapping ``(n, d)`` to ``(n, d)``. mGradNets use their
        closed-form Jacobian, any other module is differentiated by ``torch.func``.
    source, target : objects with ``sample`` and ``log_prob`` (torch
        distributions included).
    steps, batch_size, lr : optimisation budget; Adam with a linear warm-up
        (``warmup`` fraction of the steps) then cosine decay to ``final_lr * lr``.
    device : ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"``...
    seed : makes sampling and initialisation reproducible.
    progress : show a tqdm bar (notebook-aware). With ``GRADNETOT_STATIC_PROGRESS=1`` (set by
        ``make book``) print one summary line at the end instead, for static HTML pages.
    checkpoint : path of a ``.pt`` file. Written every ``checkpoint_every``
        steps and at the end; if it exists when ``fit`` starts, training resumes
        from it (same seed -> same result as an uninterrupted run).
    warm_start : ``"auto"`` calls ``model.warm_start`` (moment-matched affine
        start) when the model has one and has not been warm-started before (so a
        second ``fit`` on the same model, e.g. in bandwidth annealing, continues
        from the trained weights); ``True`` always calls it; ``False`` skips it.
    clip_grad : max gradient norm (``None`` to disable).
    compile : try ``torch.compile`` on the loss (``mode="reduce-overhead"`` on
        CUDA, i.e. CUDA graphs); falls back to eager with a warning.
    callback : optional ``callback(step, model)``, called every ``check_every``
        steps (after the NaN check) and at the last step, e.g. to evaluate a metric.
        Return ``True`` to stop training early (the result then covers the steps run).
        Time spent inside the callback is excluded from ``wall_time``/``time_per_step``.

    Returns
    -------
    FitResult with the loss history, time per step and the trained model.

    Raises
    ------
    ValueError / TypeError for bad arguments or a density that returns NaN;
    TrainingDivergedError if the loss diverges (weights are restored to the
    last finite state first).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    d = check_problem(model, source, target)
    steps = _checks.positive_int(steps, "steps")
    batch_size = _checks.positive_int(batch_size, "batch_size")
    lr = _checks.positive_float(lr, "lr")
    check_every = _checks.positive_int(check_every, "check_every")
    if clip_grad is not None:
        clip_grad = _checks.positive_float(clip_grad, "clip_grad")
    if not 0 <= warmup < 1:
        raise ValueError(f"warmup must be a fraction in [0, 1), got {warmup}")
    if p not in (1, 2):
        raise ValueError(f"p must be 1 or 2, got {p!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise TypeError(f"seed must be an int or None, got {type(seed).__name__}")
    if warm_start not in ("auto", True, False, None):
        raise ValueError(f"warm_start must be 'auto', True or False, got {warm_start!r}")
    if checkpoint is not None and not isinstance(checkpoint, (str, os.PathLike)):
        raise TypeError(f"checkpoint must be a path or None, got {type(checkpoint).__name__}")
    dev = resolve_device(device)

    if seed is not None:
        torch.manual_seed(seed)
    gen = torch.Generator(device=dev)
    gen.manual_seed(seed if seed is not None else int(torch.randint(0, 2**62, (1,))))

    model.to(dev)
    source, target = _place(source, dev), _place(target, dev)

    # chunking: draw many batches in one call (few host syncs); checkpoints and
    # NaN checks fall on chunk boundaries so a resumed run replays the same stream
    if presample is None:
        presample = max(1, min(check_every, (1 << 21) // (batch_size * d)))
    chunk = _checks.positive_int(presample, "presample")
    if checkpoint_every is None:
        checkpoint_every = max(chunk, (steps // 10) // chunk * chunk)
    checkpoint_every = max(chunk, _checks.positive_int(checkpoint_every, "checkpoint_every") // chunk * chunk)

    # validate the densities on a first batch before any training
    with torch.no_grad():
        x0 = sample_from(source, min(batch_size, 256), gen)
        if x0.ndim != 2 or x0.shape[1] != d:
            raise ValueError(f"source.sample(n) must return shape (n, {d}), got {tuple(x0.shape)}")
        if not bool(torch.isfinite(x0).all()):
            raise ValueError("source.sample returned NaN or infinite values")
        lp0 = log_prob_of(source, x0)
        if lp0.shape != (x0.shape[0],):
            raise ValueError(f"source.log_prob must return shape (n,), got {tuple(lp0.shape)}")
        if not bool(torch.isfinite(lp0).all()):
            raise ValueError("source.log_prob returned NaN or infinite values on source samples")
        y0 = sample_from(target, min(batch_size, 256), gen)
        lq0 = log_prob_of(target, y0)
        if not bool(torch.isfinite(lq0).all()):
            raise ValueError("target.log_prob returned NaN or infinite values on target samples")

    params = [q for q in model.parameters() if q.requires_grad]
    if not params:
        raise ValueError("model has no trainable parameters")
    opt = None
    if dev.type == "cuda":
        # one fused kernel for the whole Adam update instead of several per parameter (GPU
        # steps at d = 2 are launch-bound); same update rule, falls back where unsupported
        try:
            opt = torch.optim.Adam(params, lr=lr, fused=True)
        except (RuntimeError, TypeError, ValueError):
            opt = None
    if opt is None:
        opt = torch.optim.Adam(params, lr=lr)
    n_warm = int(warmup * steps)

    def lr_factor(k):
        if k < n_warm:
            return (k + 1) / n_warm
        t = (k - n_warm) / max(1, steps - n_warm)
        return final_lr + (1 - final_lr) * 0.5 * (1 + math.cos(math.pi * min(1.0, t)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_factor)
    losses = torch.zeros(steps, device=dev)
    start = 0

    if checkpoint is not None and os.path.exists(checkpoint):
        state = torch.load(checkpoint, map_location=dev, weights_only=False)
        if state.get("steps") != steps or state.get("batch_size") != batch_size:
            raise ValueError(f"checkpoint {checkpoint!s} was written for steps={state.get('steps')}, "
                             f"batch_size={state.get('batch_size')}; delete it or match those arguments")
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        gen.set_state(state["generator"].to(gen.get_state().device) if dev.type == "cpu" else state["generator"].cpu())
        start = int(state["step"])
        losses[:start] = torch.as_tensor(state["losses"], device=dev)
    elif hasattr(model, "warm_start") and (warm_start is True or (
            warm_start == "auto" and not bool(getattr(model, "warm_started", False)))):
        with torch.no_grad():
            n_ws = max(2 * d + 2, warm_start_samples)
            model.warm_start(sample_from(source, n_ws, gen), sample_from(target, n_ws, gen))
    elif warm_start is True:
        raise ValueError(f"warm_start=True but {type(model).__name__} has no warm_start method")

    def save(k):
        if checkpoint is None:
            return
        tmp = f"{checkpoint}.tmp"
        torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                    "scheduler": sched.state_dict(), "generator": gen.get_state(), "step": k,
                    "steps": steps, "batch_size": batch_size, "losses": losses[:k].cpu()}, tmp)
        os.replace(tmp, checkpoint)

    def residual_loss(x, log_p):
        T, J = map_and_jacobian(model, x)
        r = _logdet(model, J) - log_p + log_prob_of(target, T)
        return r.abs().mean() if p == 1 else (r * r).mean()

    loss_fn = residual_loss
    if compile:
        try:
            mode = "reduce-overhead" if dev.type == "cuda" else None
            loss_fn = torch.compile(residual_loss, mode=mode, dynamic=False)
        except Exception as exc:  # pragma: no cover - depends on the platform
            warnings.warn(f"torch.compile unavailable ({exc}); using eager mode")
            loss_fn = residual_loss

    def train_step(x, log_p):
        loss = loss_fn(x, log_p)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if clip_grad is not None:
            nn.utils.clip_grad_norm_(params, clip_grad)
        opt.step()
        sched.step()
        return loss.detach()

    from tqdm.auto import tqdm

    label = desc or type(model).__name__
    static = bool(progress) and static_progress()  # built HTML: one summary line instead of a widget bar
    live = bool(progress) and not static
    bar = tqdm(total=steps, initial=start, disable=not live, desc=label, leave=True, mininterval=0.5)
    snapshot = copy.deepcopy(model.state_dict())
    last_ok = start
    model.train()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    excluded = 0.0  # seconds spent in the callback
    k = start
    compiled_checked = not compile
    try:
        while k < steps:
            n = min(chunk, steps - k)
            with torch.no_grad():
                xb = sample_from(source, n * batch_size, gen)
                lpb = log_prob_of(source, xb)
            xb = xb.view(n, batch_size, d)
            lpb = lpb.view(n, batch_size)
            for i in range(n):
                if not compiled_checked:
                    try:
                        losses[k] = train_step(xb[i], lpb[i])
                    except Exception as exc:
                        warnings.warn(f"compiled step failed ({type(exc).__name__}: {exc}); using eager mode")
                        loss_fn = residual_loss
                        losses[k] = train_step(xb[i], lpb[i])
                    compiled_checked = True
                else:
                    losses[k] = train_step(xb[i], lpb[i])
                k += 1
                if (k - start) % check_every == 0 or k == steps:
                    ok = bool(torch.isfinite(losses[last_ok:k]).all()) and _all_finite(model)
                    if not ok:
                        bad = last_ok + int(torch.nonzero(~torch.isfinite(losses[last_ok:k]))[0, 0]) \
                            if not bool(torch.isfinite(losses[last_ok:k]).all()) else k
                        model.load_state_dict(snapshot)
                        err = _diagnose(model, source, target, xb[i], lpb[i])
                        result = _result(model, losses[:last_ok], last_ok, time.perf_counter() - t0,
                                         dev, lr, batch_size, start)
                        msg = (f"{err} (first non-finite loss at step {bad}); the model was restored to "
                               f"its weights at step {last_ok}")
                        raise type(err)(msg) if isinstance(err, ValueError) else TrainingDivergedError(msg, result)
                    snapshot = copy.deepcopy(model.state_dict())
                    last_ok = k
                    bar.update(k - bar.n)
                    if live:  # reading the loss is a host sync: only when it is displayed
                        bar.set_postfix(loss=f"{float(losses[k - 1]):.4f}")
                    if callback is not None:
                        c0 = time.perf_counter()
                        stop = callback(k, model)
                        excluded += time.perf_counter() - c0
                        if stop is True:
                            break
            else:
                if checkpoint is not None and (k % checkpoint_every == 0 or k == steps):
                    save(k)
                continue
            break  # stopped early by the callback
    finally:
        bar.close()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    wall = time.perf_counter() - t0 - excluded
    model.eval()
    if static and k > start:
        print(f"{label}: {k - start} steps in {wall:.1f} s "
              f"({(k - start) / max(wall, 1e-9):.1f} it/s) on {dev}, final loss {float(losses[k - 1]):.4g}")
    return _result(model, losses[:k], k, wall, dev, lr, batch_size, start)


def _result(model, losses, steps, wall, dev, lr, batch_size, start):
    done = max(1, steps - start)
    return FitResult(model=model, losses=losses.detach().cpu().numpy(), steps=steps, wall_time=wall,
                     time_per_step=wall / done, device=str(dev), lr=lr, batch_size=batch_size,
                     resumed_from=start)
