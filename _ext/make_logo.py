"""Draw logo.png: points of a uniform disk carried to a Gaussian blob (run: python _ext/make_logo.py)."""
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

rng = np.random.default_rng(3)
n = 140
r = np.sqrt(rng.uniform(size=n))
theta = rng.uniform(0, 2 * np.pi, size=n)
x = np.stack([r * np.cos(theta), r * np.sin(theta)], 1)
# radial monotone map disk -> Gaussian: |T(x)| = sqrt(-2 log(1 - |x|^2)) * 0.35
radius = np.sqrt(-2 * np.log(1 - np.clip(r, 0, 0.985) ** 2)) * 0.35
y = x / np.maximum(r, 1e-9)[:, None] * radius[:, None]
left, right = np.array([-1.25, 0.0]), np.array([1.25, 0.0])
src, tgt = x * 0.9 + left, y + right

fig, ax = plt.subplots(figsize=(3, 3), dpi=100)
colors = plt.cm.twilight((theta / (2 * np.pi)))
for a, b, c in zip(src[::3], tgt[::3], colors[::3]):
    ax.annotate("", xy=b, xytext=a, arrowprops=dict(arrowstyle="-", color=c, alpha=0.35, lw=0.8,
                                                    connectionstyle="arc3,rad=-0.25"))
ax.add_patch(plt.Circle(left, 0.92, fill=False, lw=2, color="#333333"))
ax.scatter(*src.T, s=9, c=colors, lw=0)
ax.scatter(*tgt.T, s=9, c=colors, lw=0)
ax.text(0, -1.45, "GradNetOT", ha="center", va="center", fontsize=20, weight="bold", color="#333333")
ax.set_xlim(-2.3, 2.3)
ax.set_ylim(-1.9, 1.3)
ax.set_aspect("equal")
ax.axis("off")
out = Path(__file__).resolve().parent.parent / "logo.png"
fig.savefig(out, transparent=True, bbox_inches="tight", pad_inches=0.02)
print(f"wrote {out}")
