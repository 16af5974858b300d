"""Plots (placeholder; being written)."""
def animate_displacement(*a, **k): raise NotImplementedError
def color_by_position(*a, **k): raise NotImplementedError
def plot_det_jacobian(*a, **k): raise NotImplementedError
def plot_displacement(*a, **k): raise NotImplementedError
def plot_losses(*a, **k): raise NotImplementedError
def plot_potential(*a, **k): raise NotImplementedError
