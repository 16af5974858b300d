"""Plots: the right artists with the right data, small animations, clear errors on bad input."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.collections import PathCollection, QuadMesh  # noqa: E402
from matplotlib.quiver import Quiver  # noqa: E402

import gradnetot as gn  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def x():
    g = torch.Generator().manual_seed(0)
    return gn.UniformShape("disk", radius=1.0).sample(200, generator=g)


def affine(z):
    """A plain function (not an nn.Module): T(z) = A z + b with A SPD."""
    A = torch.tensor([[2.0, 0.5], [0.5, 1.0]])
    return z @ A + torch.tensor([1.0, -1.0])


def scatter_offsets(ax):
    cols = [c for c in ax.collections if isinstance(c, PathCollection)]
    return [np.asarray(c.get_offsets()) for c in cols]


# ------------------------------------------------------------------ colours
def test_color_by_position_shape_range_and_smoothness(x):
    c = gn.color_by_position(x)
    assert c.shape == (200, 3)
    assert c.min() >= 0 and c.max() <= 1
    # distinct directions give distinct colours; nearby points give similar ones
    pts = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0], [1.0, 1e-3], [0.0, 0.0]])
    c = gn.color_by_position(pts)
    assert np.abs(c[0] - c[1]).max() > 0.3
    assert np.abs(c[2] - c[3]).max() > 0.3
    assert np.abs(c[0] - c[4]).max() < 0.01
    assert np.ptp(c[5]) < 1e-6  # the centre is grey
    # numpy and torch inputs agree
    assert np.allclose(gn.color_by_position(pts), gn.color_by_position(torch.tensor(pts)))


@pytest.mark.parametrize("bad", [np.zeros((5, 3)), np.zeros(4), np.zeros((0, 2)), np.array([[0.0, np.nan]])])
def test_color_by_position_rejects_bad_x(bad):
    with pytest.raises(ValueError, match="x"):
        gn.color_by_position(bad)


# ------------------------------------------------------------------ displacement
def test_plot_displacement_panels_follow_interpolation(x):
    times = (0, 0.5, 1)
    fig = gn.plot_displacement(affine, x, times=times)
    axes = fig.axes
    assert len(axes) == 3
    tx = affine(x).numpy()
    for ax, t in zip(axes, times):
        (off,) = scatter_offsets(ax)
        assert off.shape == (200, 2)
        assert np.allclose(off, (1 - t) * x.numpy() + t * tx, atol=1e-5)
        assert ax.get_title() == f"t = {t:g}"
    # points keep their source colour in every panel
    c0 = axes[0].collections[0].get_facecolors()
    c1 = axes[-1].collections[0].get_facecolors()
    assert np.allclose(c0, c1)
    assert np.allclose(c0[:, :3], gn.color_by_position(x), atol=1e-6)


def test_plot_displacement_target_and_given_axes(x):
    target = gn.Gaussian(torch.zeros(2), 0.25 * torch.eye(2))
    fig, axes = plt.subplots(1, 2)
    out = gn.plot_displacement(gn.MGradNetM(2), x.numpy(), times=(0, 1), ax=axes, target=target)
    assert out is fig
    assert len(scatter_offsets(axes[0])) == 1
    assert len(scatter_offsets(axes[1])) == 2  # faint target sample + mapped points
    with pytest.raises(ValueError, match="ax"):
        gn.plot_displacement(affine, x, times=(0, 0.5, 1), ax=axes)


def test_plot_displacement_bad_input(x):
    with pytest.raises(ValueError, match="x"):
        gn.plot_displacement(affine, np.zeros((10, 3)))
    with pytest.raises(ValueError, match="times"):
        gn.plot_displacement(affine, x, times=(0, 1.5))
    with pytest.raises(ValueError, match="times"):
        gn.plot_displacement(affine, x, times=())
    with pytest.raises(TypeError, match="T"):
        gn.plot_displacement("not a map", x)
    with pytest.raises(ValueError, match="T"):
        gn.plot_displacement(lambda z: z[:, :1], x)
    with pytest.raises(ValueError, match="s"):
        gn.plot_displacement(affine, x, s=-1)


def test_model_evaluated_without_grad_on_its_device(x):
    seen = {}

    class Spy(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(2))

        def forward(self, z):
            seen["grad"] = torch.is_grad_enabled()
            seen["device"] = z.device
            return z * self.w

    gn.plot_displacement(Spy(), x, times=(1,))
    assert seen == {"grad": False, "device": torch.device("cpu")}


# ------------------------------------------------------------------ animation
def test_animate_displacement_html_small_and_closed(x):
    before = len(plt.get_fignums())
    html = gn.animate_displacement(affine, x, frames=6, target=x)
    assert len(plt.get_fignums()) == before  # the figure was closed
    data = html.data
    assert "<img" in data and "anim" in data.lower()
    assert data.count("data:image/jpeg;base64") == 6
    assert len(data) < 400_000


def test_animate_displacement_default_size_bound(x):
    html = gn.animate_displacement(affine, x)  # 30 frames, 4x4 in at 72 dpi
    assert len(html.data) < 1_000_000


def test_animate_displacement_bad_input(x):
    with pytest.raises(ValueError, match="frames"):
        gn.animate_displacement(affine, x, frames=1)
    with pytest.raises(ValueError, match="x"):
        gn.animate_displacement(affine, x[:, :1])
    with pytest.raises(ValueError, match="frame_format"):
        gn.animate_displacement(affine, x, frame_format="gif")


# ------------------------------------------------------------------ potential and det J
def test_plot_potential_contours_and_true_displacement_arrows():
    model = gn.MGradNetM(2, num_modules=2, embed_dim=4)
    ax = gn.plot_potential(model, (-1, 1), (-2, 2), n=20, n_arrows=5)
    quivers = [c for c in ax.collections if isinstance(c, Quiver)]
    assert len(quivers) == 1
    q = quivers[0]
    assert q.N == 25
    grid = torch.as_tensor(q.XY, dtype=torch.float32)
    with torch.no_grad():
        disp = (model(grid) - grid).numpy()
    assert np.allclose(np.stack([q.U, q.V], 1), disp, atol=1e-5)
    assert len(ax.figure.axes) == 2  # plot + colorbar
    assert ax.get_xlim() == (-1.0, 1.0) and ax.get_ylim() == (-2.0, 2.0)
    ax2 = gn.plot_potential(model, (-1, 1), (-1, 1), arrows=False)
    assert not any(isinstance(c, Quiver) for c in ax2.collections)


def test_plot_potential_bad_input():
    model = gn.MGradNetM(2, num_modules=2, embed_dim=4)
    with pytest.raises(ValueError, match="xlim"):
        gn.plot_potential(model, (1, -1), (-1, 1))
    with pytest.raises(ValueError, match="ylim"):
        gn.plot_potential(model, (-1, 1), "abc")
    with pytest.raises(TypeError, match="potential"):
        gn.plot_potential(affine, (-1, 1), (-1, 1))
    with pytest.raises(ValueError, match="n_arrows"):
        gn.plot_potential(model, (-1, 1), (-1, 1), n_arrows=0)


def test_plot_det_jacobian_values():
    # plain function without .jacobian -> torch.func; det A = 2 - 0.25 = 1.75
    ax = gn.plot_det_jacobian(affine, (-1, 1), (-1, 1), n=10)
    (mesh,) = [c for c in ax.collections if isinstance(c, QuadMesh)]
    vals = np.asarray(mesh.get_array()).ravel()
    assert vals.size == 100
    assert np.allclose(vals, np.log(1.75), atol=1e-5)
    ax = gn.plot_det_jacobian(affine, (-1, 1), (-1, 1), n=10, log=False)
    (mesh,) = [c for c in ax.collections if isinstance(c, QuadMesh)]
    assert np.allclose(np.asarray(mesh.get_array()), 1.75, atol=1e-5)
    # an mGradNet uses its closed-form Jacobian
    model = gn.MGradNetC(2, embed_dim=8, num_layers=2)
    ax = gn.plot_det_jacobian(model, (-1, 1), (-1, 1), n=6)
    (mesh,) = [c for c in ax.collections if isinstance(c, QuadMesh)]
    g = torch.as_tensor(np.stack(np.meshgrid(np.linspace(-1, 1, 6), np.linspace(-1, 1, 6)), -1).reshape(-1, 2),
                        dtype=torch.float32)
    with torch.no_grad():
        expect = torch.linalg.slogdet(model.jacobian(g))[1].numpy()
    assert np.allclose(np.asarray(mesh.get_array()).ravel(), expect, atol=1e-4)
    assert len(ax.figure.axes) == 2  # colorbar


def test_plot_det_jacobian_bad_input():
    with pytest.raises(ValueError, match="xlim"):
        gn.plot_det_jacobian(affine, (0, 0), (-1, 1))
    with pytest.raises(ValueError, match="n"):
        gn.plot_det_jacobian(affine, (-1, 1), (-1, 1), n=1)


# ------------------------------------------------------------------ losses
def test_plot_losses_fitresult_and_array():
    losses = np.exp(-np.linspace(0, 5, 500)) + 0.01
    ax = gn.plot_losses(losses, label="run")
    assert ax.get_yscale() == "log"
    raw, smooth = ax.get_lines()
    assert np.allclose(raw.get_ydata(), losses)
    assert len(smooth.get_ydata()) < len(losses)
    assert ax.get_legend() is not None

    class Result:  # anything with .losses, like a FitResult
        pass

    r = Result()
    r.losses = losses
    ax2 = gn.plot_losses(r)
    assert np.allclose(ax2.get_lines()[0].get_ydata(), losses)
    ax3 = gn.plot_losses(torch.tensor([1.0, -0.5, 0.2]))  # non-positive -> linear axis
    assert ax3.get_yscale() == "linear"


def test_plot_losses_bad_input():
    with pytest.raises(ValueError, match="result_or_losses"):
        gn.plot_losses(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="result_or_losses"):
        gn.plot_losses([])
    with pytest.raises(TypeError, match="result_or_losses"):
        gn.plot_losses(object())
