"""Chapter 7 (training on GPUs): checks for a device-agnostic training step and a
Cholesky log-determinant."""
from __future__ import annotations

import torch

from ._base import fail

__all__ = ["check_training_step", "check_logdet_cholesky"]


def _devices():
    devs = [torch.device("cpu")]
    if torch.cuda.is_available():
        devs.append(torch.device("cuda"))
    return devs


def check_training_step(train_step, devices=None):
    """Check a student's ``train_step(model, optimizer, source, target, batch_size, generator)``.

    The step must draw ``batch_size`` source samples with ``source.sample(batch_size,
    generator=generator)``, take one optimiser step on the Monge–Ampère loss, and return
    the loss as a detached 0-dim tensor on the model's device, without calling
    ``.item()`` (a host sync on a GPU). It is run on every available device
    (CPU, and CUDA when present).
    """
    import gradnetot as gn

    if not callable(train_step):
        fail(f"train_step must be a function, got {type(train_step).__name__}")
    for dev in devices or _devices():
        dev = torch.device(dev)
        torch.manual_seed(0)
        src = gn.Gaussian(torch.tensor([1.0, -1.0]), torch.tensor([[2.0, 0.3], [0.3, 0.5]])).to(dev)
        tgt = gn.Gaussian(torch.zeros(2), torch.eye(2)).to(dev)
        model = gn.MGradNetM(2, num_modules=2, embed_dim=8).to(dev)
        ref = gn.MGradNetM(2, num_modules=2, embed_dim=8).to(dev)
        ref.load_state_dict(model.state_dict())
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        gen = torch.Generator(device=dev).manual_seed(123)
        before = [p.detach().clone() for p in model.parameters()]

        # count .item() calls made inside the step
        calls = {"item": 0}
        original_item = torch.Tensor.item

        def counting_item(self):
            calls["item"] += 1
            return original_item(self)

        def reference_step(m, o, s, t, n, g):
            loss = gn.monge_ampere_loss(m, s.sample(n, generator=g), s, t)
            o.zero_grad(set_to_none=True)
            loss.backward()
            o.step()
            return loss.detach()

        torch.Tensor.item = counting_item
        try:
            # the optimiser itself may call .item() (Adam's step counter on CPU):
            # count a reference step on a copy first and only flag calls beyond it
            copy = gn.MGradNetM(2, num_modules=2, embed_dim=8).to(dev)
            copy.load_state_dict(model.state_dict())
            reference_step(copy, torch.optim.Adam(copy.parameters(), lr=1e-3), src, tgt, 64,
                           torch.Generator(device=dev).manual_seed(123))
            baseline, calls["item"] = calls["item"], 0
            out = train_step(model, opt, src, tgt, 64, gen)
        finally:
            torch.Tensor.item = original_item

        if not isinstance(out, torch.Tensor):
            fail(f"train_step must return the loss as a torch.Tensor (not {type(out).__name__}): "
                 "returning a Python float forces a host sync every step on a GPU")
        if out.ndim != 0:
            fail(f"the returned loss must be a 0-dim tensor, got shape {tuple(out.shape)}")
        if out.device.type != dev.type:
            fail(f"on device {dev} the loss came back on {out.device}: keep every tensor on the "
                 "model's device (sample with the generator, which lives there)")
        if out.requires_grad:
            fail("return loss.detach(): a loss that still requires grad keeps the whole graph alive")
        if calls["item"] > baseline:
            fail(f"train_step called .item() {calls['item'] - baseline} time(s): each call waits for the GPU. "
                 "Return the tensor and convert it outside the loop, once")
        if all(torch.equal(b, p.detach()) for b, p in zip(before, model.parameters())):
            fail("the model's parameters did not change: call optimizer.zero_grad(), "
                 "loss.backward() and optimizer.step()")
        # the loss must be the Monge–Ampère loss of the batch drawn from the generator
        gen2 = torch.Generator(device=dev).manual_seed(123)
        x = src.sample(64, generator=gen2)
        with torch.no_grad():
            expected = gn.monge_ampere_loss(ref, x, src, tgt)
        if not torch.allclose(out.float(), expected.float(), rtol=1e-4, atol=1e-5):
            fail(f"on {dev} the returned loss {float(out):.6f} differs from the Monge–Ampère loss "
                 f"{float(expected):.6f} of the batch source.sample(batch_size, generator=generator), "
                 "evaluated before the update: draw exactly one batch, with that call, and return "
                 "the loss you back-propagated")
    return True


def check_logdet_cholesky(logdet):
    """Check a student's ``logdet(J)`` for a batch ``(n, d, d)`` of SPD matrices.

    It is compared, in float64, with ``torch.linalg.slogdet`` on well- and
    ill-conditioned matrices, for d = 1, 3 and 16; it must keep the batch shape
    and the input dtype, and be differentiable.
    """
    if not callable(logdet):
        fail(f"logdet must be a function, got {type(logdet).__name__}")
    g = torch.Generator().manual_seed(0)
    for d in (1, 3, 16):
        for cond in (10.0, 1e8):
            Q, _ = torch.linalg.qr(torch.randn(5, d, d, generator=g, dtype=torch.float64))
            lam = torch.logspace(0, -torch.log10(torch.tensor(cond)).item(), d, dtype=torch.float64)
            lam = lam * torch.rand(5, 1, generator=g, dtype=torch.float64).add(0.5)
            J = Q @ torch.diag_embed(lam) @ Q.transpose(-1, -2)
            J = 0.5 * (J + J.transpose(-1, -2))
            out = logdet(J)
            if not isinstance(out, torch.Tensor) or out.shape != (5,):
                fail(f"logdet of a (5, {d}, {d}) batch must return a tensor of shape (5,), got "
                     f"{getattr(out, 'shape', type(out).__name__)}")
            if out.dtype != torch.float64:
                fail(f"logdet changed the dtype from float64 to {out.dtype}: compute in the input's dtype")
            ref = torch.linalg.slogdet(J)[1]
            if not torch.allclose(out, ref, rtol=1e-8, atol=1e-8):
                err = float((out - ref).abs().max())
                fail(f"d={d}, condition number {cond:g}: logdet is off by up to {err:.3g}. With J = L Lᵀ "
                     "(torch.linalg.cholesky), log det J = 2 Σ log L_ii — did you forget the factor 2, "
                     "or take the log of the product instead of the sum of logs?")
    J = torch.eye(3, dtype=torch.float64).repeat(2, 1, 1).requires_grad_(True)
    try:
        logdet(J).sum().backward()
    except RuntimeError as exc:
        fail(f"logdet is not differentiable ({exc}); use torch operations only")
    if J.grad is None or not torch.allclose(J.grad, torch.eye(3, dtype=torch.float64).expand(2, 3, 3)):
        fail("the gradient of log det J at J = I should be I; check that the output depends on J "
             "through torch operations (no .numpy(), no .item())")
    return True
