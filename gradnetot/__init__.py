"""gradnetot: learn optimal-transport maps with monotone gradient networks.

>>> import gradnetot as gn
>>> src = gn.UniformShape("disk", radius=1.0)
>>> tgt = gn.Gaussian(torch.zeros(2), 0.25 * torch.eye(2))
>>> model = gn.MGradNetM(2)
>>> result = gn.fit(model, src, tgt, steps=500)      # doctest: +SKIP
"""
from .densities import (Density, Gaussian, GaussianMixture, ImageDensity, UniformShape,
                        density_dim, sample_from)
from .networks import MGradNetC, MGradNetM, MLPMap, MonotoneGradientNet, logdet_spd
from .loss import (autodiff_jacobian, forward_and_jacobian, jacobian, jacobian_is_spd, monge_ampere_loss,
                   monge_ampere_residual)
from .train import CheckpointError, FitResult, TrainingDivergedError, fit, resolve_device
from .reference import (discrete_ot_map, discrete_ot_plan, disk_to_gaussian_map, gaussian_ot_map,
                        gaussian_ot_matrix, monotone_rearrangement)
from .metrics import (energy_distance, l2_uvp, min_jacobian_eigenvalue, monotonicity_gap,
                      sliced_wasserstein, transport_cost)
from .problems import GaussianProblem, TeacherProblem, teacher_problem, wishart_gaussian_problem
from .teachers import ICNNTeacher, MaxQuadTeacher, PushforwardDensity, QuadSoftplusTeacher, Teacher
from .baselines import EntropicMap, ICNN, entropic_map, fit_semidual
from .diagnostics import PushforwardCheck, pushforward_check
from .config import FAST, scaled, set_seed
from . import distributed, exercises, plotting
from .plotting import (animate_displacement, color_by_position, plot_det_jacobian, plot_displacement,
                       plot_losses, plot_potential)
from .data import digit_density, load_digits

__version__ = "0.1.0"
