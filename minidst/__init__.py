"""minidst: dynamic sparse training for deep reinforcement learning, from scratch.

Sparse networks are ``scipy.sparse`` CSR matrices with hand-written backprop and Numba kernels;
the agents are TD3 and SAC in dense, static-sparse and dynamic-sparse variants.
"""

from minidst.flops import count_parameters, forward_flops, training_flops
from minidst.kernels import warmup
from minidst.layers import DenseLinear, SparseLinear
from minidst.nn import MLP, mse_loss
from minidst.optim import Adam
from minidst.sparsity import erdos_renyi_density, erk_densities, uniform_densities
from minidst.target import soft_update
from minidst.topology import evolve_layer

__version__ = "0.1.0"

__all__ = [
    "MLP",
    "Adam",
    "DenseLinear",
    "SparseLinear",
    "count_parameters",
    "erdos_renyi_density",
    "erk_densities",
    "evolve_layer",
    "forward_flops",
    "mse_loss",
    "soft_update",
    "training_flops",
    "uniform_densities",
    "warmup",
]
