"""``gn.fit`` under data-parallel training (DDP), on CPU with the gloo backend and 2 processes.

One launch of two worker processes (this file run as a script, one process per rank, joined
through a file store: no port to pick, nothing left listening) trains every scenario the
tests below check, and writes what it saw to a temporary folder:

* ``union``: three models (mGradNet-M, closed-form Jacobian; mGradNet-C, low-rank log det; an MLP,
  autodiff Jacobian)
  trained for a few steps, each rank recording the samples it drew;
* ``resume``: an uninterrupted run with checkpoints, a run interrupted by an exception at a
  given step, and a fresh model resuming from that run's checkpoint;
* ``progress``: what each rank printed.

The launch takes a few seconds (two Python processes importing torch); it has a hard timeout
and the processes are killed if it expires.
"""
from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import tempfile
import time

import pytest
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORLD = 2
SEED = 7
STEPS = 20
BATCH = 64          # per rank
CHUNK = 5           # presample = check_every = checkpoint_every: checkpoints at 5, 10, 15, 20
INTERRUPT_AT = 13   # the interrupted run dies after step 13; its last checkpoint is at step 10
LAUNCH_TIMEOUT = 240  # seconds for the whole launch (two processes on a busy 2-core machine)


# -- helpers shared by the workers and the tests ---------------------------------------------

def _problem():
    import gradnetot as gn
    src = gn.Gaussian(torch.tensor([1.0, -0.5]), torch.tensor([[2.0, 0.9], [0.9, 0.8]]))
    tgt = gn.Gaussian(torch.zeros(2), torch.eye(2))
    return src, tgt


def _model(kind):
    import gradnetot as gn
    torch.manual_seed(0)  # the same initial weights in every process
    if kind == "M":
        return gn.MGradNetM(2, num_modules=2, embed_dim=8)
    if kind == "C":  # the low-rank log det (matrix determinant lemma), as fit takes it for wide d
        model = gn.MGradNetC(2, embed_dim=8, num_layers=2)
        model.logdet_path = "low_rank"
        return model
    return gn.MLPMap(2, hidden=16, num_layers=2)


class Recording:
    """A source that records every batch it hands out (what this rank drew)."""

    def __init__(self, base):
        self.base, self.dim, self.calls = base, base.dim, []

    def sample(self, n, generator=None):
        x = self.base.sample(n, generator=generator)
        self.calls.append(x.clone())
        return x

    def log_prob(self, x):
        return self.base.log_prob(x)


class Replay:
    """A source that hands out, call by call, the union of what the ranks drew.

    ``gn.fit`` draws ``m`` steps' batches in one call and cuts them into ``m`` rows of
    ``batch`` samples; the union batch of a step is rank 0's row followed by rank 1's row.
    """

    def __init__(self, base, per_rank_calls, batch):
        self.base, self.dim, self.batch = base, base.dim, batch
        self.calls = list(zip(*per_rank_calls))

    def sample(self, n, generator=None):
        parts = self.calls.pop(0)
        assert n == sum(len(p) for p in parts), "the single-process run asked for other sizes"
        m = len(parts[0]) // self.batch
        if len(parts[0]) % self.batch or m == 1:
            return torch.cat(parts)
        return torch.cat([p.view(m, self.batch, -1) for p in parts], dim=1).reshape(n, -1)

    def log_prob(self, x):
        return self.base.log_prob(x)


class Interrupted(RuntimeError):
    pass


# -- the worker (this file run as a script, one process per rank) ----------------------------

def _worker(rank, world, store, out):
    torch.set_num_threads(1)
    import datetime

    import gradnetot as gn

    torch.distributed.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world,
                                         timeout=datetime.timedelta(seconds=60))
    writes = []  # every file this rank writes with torch.save (collectives pickle to buffers: not counted)
    real_save = torch.save

    def counting_save(obj, f, *args, **kwargs):
        if isinstance(f, (str, os.PathLike)):
            writes.append(str(f))
        return real_save(obj, f, *args, **kwargs)

    torch.save = counting_save
    try:
        assert gn.distributed.is_active() and gn.distributed.rank() == rank
        src, tgt = _problem()
        common = dict(steps=STEPS, batch_size=BATCH, lr=1e-2, seed=SEED, presample=CHUNK, check_every=CHUNK,
                      device="cpu", progress=False)
        union = {}
        for kind in ("M", "C", "MLP"):
            rec = Recording(src)
            res = gn.fit(_model(kind), rec, tgt, warm_start=False, **common)
            union[kind] = {"weights": res.model.state_dict(), "losses": torch.as_tensor(res.losses),
                           "calls": rec.calls}

        def stop_at(step):
            def cb(k, model):
                if k >= step:
                    raise Interrupted(f"simulated crash after step {k}")
            return cb

        ck_a, ck_b = os.path.join(out, "a.pt"), os.path.join(out, "b.pt")
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            full = gn.fit(_model("M"), src, tgt, checkpoint=ck_a, checkpoint_every=CHUNK,
                          **dict(common, progress=True))
        try:
            gn.fit(_model("M"), src, tgt, checkpoint=ck_b, checkpoint_every=CHUNK, callback=stop_at(INTERRUPT_AT),
                   **dict(common, check_every=1))
            crashed = False
        except Interrupted:
            crashed = True
        ck_state = torch.load(ck_b, weights_only=True)  # every rank's stream, still weights_only-loadable
        assert ck_state["config"]["world_size"] == world and len(ck_state["generators"]) == world
        ck_step = int(ck_state["step"])
        resumed = gn.fit(_model("M"), src, tgt, checkpoint=ck_b, checkpoint_every=CHUNK, **common)
        torch.save = real_save
        torch.save({"writes": writes, "union": union, "full": full.model.state_dict(), "full_losses": torch.as_tensor(full.losses),
                    "crashed": crashed, "ck_step": ck_step, "resumed": resumed.model.state_dict(),
                    "resumed_from": resumed.resumed_from, "resumed_losses": torch.as_tensor(resumed.losses),
                    "printed": printed.getvalue()},
                   os.path.join(out, f"rank{rank}.pt"))
    finally:
        torch.distributed.destroy_process_group()


# -- the launch ------------------------------------------------------------------------------

def _gloo_missing():
    if not torch.distributed.is_available():
        return "this torch build has no torch.distributed"
    if not torch.distributed.is_gloo_available():
        return "this torch build has no gloo backend"
    return None


def _launch(out):
    env = dict(os.environ, OMP_NUM_THREADS="1", GRADNETOT_STATIC_PROGRESS="1",
               PYTHONPATH=os.pathsep.join([ROOT] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    if sys.platform.startswith("linux") and os.path.exists("/sys/class/net/lo"):
        env.setdefault("GLOO_SOCKET_IFNAME", "lo")  # stay on the loopback interface
    store = os.path.join(out, "store")
    procs = []
    for rank in range(WORLD):
        log = open(os.path.join(out, f"rank{rank}.log"), "w+")
        cmd = [sys.executable, os.path.abspath(__file__), str(rank), str(WORLD), store, out]
        procs.append((subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT), log))
    deadline = time.monotonic() + LAUNCH_TIMEOUT
    try:
        for p, _ in procs:
            p.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        pass
    finally:
        timed_out = any(p.poll() is None for p, _ in procs)
        for p, _ in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        logs = []
        for rank, (p, log) in enumerate(procs):
            log.seek(0)
            logs.append(f"--- rank {rank} (exit {p.returncode}) ---\n{log.read()[-4000:]}")
            log.close()
    if timed_out or any(p.returncode != 0 for p, _ in procs):
        pytest.fail(("timed out after %d s\n" % LAUNCH_TIMEOUT if timed_out else "a worker failed\n")
                    + "\n".join(logs))
    return [torch.load(os.path.join(out, f"rank{r}.pt"), weights_only=False) for r in range(WORLD)]


@pytest.fixture(scope="module")
def ranks():
    reason = _gloo_missing()
    if reason:
        pytest.skip(reason)
    with tempfile.TemporaryDirectory(prefix="gn-ddp-") as out:
        yield _launch(out)


def _assert_same(a, b, **tol):
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], msg=lambda m, name=name: f"{name}: {m}", **tol)


# -- tests -----------------------------------------------------------------------------------

def test_every_rank_ends_with_the_same_weights(ranks):
    r0, r1 = ranks
    for kind in r0["union"]:
        _assert_same(r0["union"][kind]["weights"], r1["union"][kind]["weights"], rtol=0, atol=0)
        torch.testing.assert_close(r0["union"][kind]["losses"], r1["union"][kind]["losses"], rtol=0, atol=0)
    _assert_same(r0["full"], r1["full"], rtol=0, atol=0)
    # the training moved the weights (the comparison above is not between two initialisations)
    start = _model("M").state_dict()
    assert max(float((r0["full"][n] - start[n]).abs().max()) for n in start if start[n].is_floating_point()) > 1e-3


def test_each_rank_draws_its_own_stream_from_the_seed(ranks):
    import gradnetot as gn
    src, _ = _problem()
    first = [r["union"]["M"]["calls"][0] for r in ranks]
    assert not torch.allclose(first[0], first[1])
    for rank, x in enumerate(first):
        gen = torch.Generator().manual_seed(gn.distributed.rank_seed(SEED, rank))
        torch.testing.assert_close(x, src.sample(len(x), generator=gen), rtol=0, atol=0)
    assert gn.distributed.rank_seed(SEED, 0) == SEED  # rank 0 draws what a single process draws


@pytest.mark.parametrize("kind", ["M", "C", "MLP"])
def test_ddp_matches_one_process_on_the_union_batch(ranks, kind):
    """DDP's average of the two ranks' gradients is the gradient of the union batch's mean loss.

    The two runs do the same arithmetic up to the order of float32 sums: the single process
    sums 128 per-sample terms at once, DDP sums 64 on each rank, halves each rank's gradient
    and gloo adds the two. That changes the last bits of each gradient, and Adam, which
    divides by the gradient's running RMS, carries such round-off into the weights. Hence a
    tolerance rather than equality: ``atol=2e-6, rtol=1e-5``, about ten times the largest
    difference seen when this test was written (1.2e-7 in the weights, 3.6e-7 in the losses,
    float32 eps is 1.2e-7). A wrong gradient average (no all-reduce, a sum instead of a mean,
    other samples) moves the weights by up to the learning rate, 1e-2, per step.
    """
    import gradnetot as gn
    src, tgt = _problem()
    ddp = ranks[0]["union"][kind]
    replay = Replay(src, [r["union"][kind]["calls"] for r in ranks], BATCH)
    single = gn.fit(_model(kind), replay, tgt, steps=STEPS, batch_size=WORLD * BATCH, lr=1e-2, seed=SEED,
                    presample=CHUNK, check_every=CHUNK, device="cpu", progress=False, warm_start=False,
                    distributed=False)
    assert not replay.calls  # every recorded batch was used, in order
    _assert_same(single.model.state_dict(), ddp["weights"], rtol=1e-5, atol=2e-6)
    torch.testing.assert_close(torch.as_tensor(single.losses), ddp["losses"], rtol=1e-5, atol=2e-6)
    # the check can fail: rank 0's batches alone give other weights
    alone = gn.fit(_model(kind), Replay(src, [ranks[0]["union"][kind]["calls"]], BATCH), tgt, steps=STEPS,
                   batch_size=BATCH, lr=1e-2, seed=SEED, presample=CHUNK, check_every=CHUNK, device="cpu",
                   progress=False, warm_start=False)
    w_alone, w_ddp = alone.model.state_dict(), ddp["weights"]
    assert max(float((w_alone[n] - w_ddp[n]).abs().max()) for n in w_ddp if w_ddp[n].is_floating_point()) > 1e-3


def test_an_interrupted_run_resumes_to_the_uninterrupted_weights(ranks):
    for r in ranks:
        assert r["crashed"] and r["ck_step"] == (INTERRUPT_AT // CHUNK) * CHUNK
        assert r["resumed_from"] == r["ck_step"]
        _assert_same(r["resumed"], r["full"], rtol=0, atol=0)
        torch.testing.assert_close(r["resumed_losses"], r["full_losses"], rtol=0, atol=0)


def test_only_rank_0_prints_and_writes_checkpoints(ranks):
    assert "steps in" in ranks[0]["printed"]
    assert ranks[1]["printed"] == ""
    assert len(ranks[0]["writes"]) >= 2 * STEPS // CHUNK and ranks[1]["writes"] == []


def test_a_ddp_checkpoint_needs_the_same_number_of_processes(tmp_path):
    """A checkpoint records the number of processes in its configuration; resuming it with
    another number is refused before anything is restored (also for a file that claims two
    processes but was loaded by one: the per-rank streams could not be continued)."""
    import gradnetot as gn
    src, tgt = _problem()
    path = tmp_path / "ddp.pt"
    args = dict(steps=4, batch_size=8, seed=SEED, checkpoint=str(path), progress=False, device="cpu",
                warm_start=False)
    gn.fit(_model("M"), src, tgt, **args)
    state = torch.load(path, weights_only=True)  # what fit wrote is weights_only-loadable
    assert state["config"]["world_size"] == 1 and "generators" not in state
    state["config"]["world_size"] = WORLD
    state["generators"] = [state["generator"].clone() for _ in range(WORLD)]
    torch.save(state, path)
    before = _model("M").state_dict()
    model = _model("M")
    with pytest.raises(gn.CheckpointError, match="same number of processes"):
        gn.fit(model, src, tgt, **args)
    _assert_same(model.state_dict(), before, rtol=0, atol=0)  # nothing was restored


def test_distributed_argument_is_checked():
    import gradnetot as gn
    src, tgt = _problem()
    if not gn.distributed.is_active():
        with pytest.raises(ValueError, match="process group"):
            gn.fit(_model("M"), src, tgt, steps=2, batch_size=8, progress=False, distributed=True)
    with pytest.raises(ValueError, match="distributed must be"):
        gn.fit(_model("M"), src, tgt, steps=2, batch_size=8, progress=False, distributed="yes")


def test_rank_seed():
    import gradnetot as gn
    seeds = [gn.distributed.rank_seed(3, r) for r in range(8)]
    assert seeds[0] == 3 and len(set(seeds)) == 8 and all(0 <= s < 2**63 for s in seeds)
    assert gn.distributed.rank_seed(3, 5) == seeds[5]  # deterministic
    assert gn.distributed.rank_seed(4, 1) != seeds[1]
    with pytest.raises(TypeError):
        gn.distributed.rank_seed(1.5, 1)
    with pytest.raises(ValueError):
        gn.distributed.rank_seed(1, -1)


def test_residual_module_is_what_ddp_differentiates():
    """The module DDP wraps computes the loss's residual itself, Jacobian included."""
    import gradnetot as gn
    src, tgt = _problem()
    model = _model("C")
    x = src.sample(16, generator=torch.Generator().manual_seed(0))
    lp = src.log_prob(x)
    r = gn.distributed.ResidualModule(model, tgt)(x, lp)
    torch.testing.assert_close(r, gn.monge_ampere_residual(model, x, src, tgt, log_p=lp))
    assert gn.distributed.unwrap(gn.distributed.ResidualModule(model, tgt)) is model


@pytest.mark.parametrize("p", [1, 2])
def test_residual_module_loss_takes_the_models_log_det_path(p):
    """With ``p`` the module returns fit's loss, computed through the network's own log-det path
    (here the low-rank one), so DDP differentiates exactly what a single process does."""
    import gradnetot as gn
    from gradnetot.loss import _mean_residual
    src, tgt = _problem()
    model = _model("C")
    assert model.uses_low_rank_logdet()
    x = src.sample(16, generator=torch.Generator().manual_seed(1))
    lp = src.log_prob(x)
    calls = []
    fused = model._fused_logdet
    model._fused_logdet = lambda z: calls.append(len(z)) or fused(z)
    loss = gn.distributed.ResidualModule(model, tgt, p=p)(x, lp)
    assert calls == [16]
    del model._fused_logdet
    torch.testing.assert_close(loss, _mean_residual(model, x, lp, tgt, p))
    r = gn.monge_ampere_residual(model, x, src, tgt, log_p=lp)
    torch.testing.assert_close(loss, r.abs().mean() if p == 1 else (r * r).mean())
    with pytest.raises(ValueError, match="p must be"):
        gn.distributed.ResidualModule(model, tgt, p=3)


if __name__ == "__main__":
    _worker(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4])
