"""Building networks the PyTorch way: ``Module``, ``Parameter``, layers and losses.

    import tinygrad_edu as tg
    from tinygrad_edu import nn

    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1))
    loss = nn.BCEWithLogitsLoss()(model(x), y)
    loss.backward()

Everything here is built on the engine's Tensor operations; the engine knows nothing
of this package. Where to read what:

* ``module.py``: ``Module`` (how a module finds its parameters, buffers and children;
  state dicts, train/eval, hooks) and ``Parameter``;
* ``containers.py``: ``Sequential``, ``ModuleList``, ``ModuleDict``, ``ParameterList``,
  ``ParameterDict``;
* ``layers.py``: ``Linear``, ``Embedding``, ``Dropout``, shapes and activations;
  ``norm.py``: ``BatchNorm1d``, ``BatchNorm2d``, ``LayerNorm``; ``loss.py``: the losses;
* ``functional.py`` (``F``): the same as functions, where the math is written;
  ``init.py``: initialisers.
"""

from . import functional, init
from . import utils as utils  # torch.nn.utils: clipping, flat parameter vectors
from .containers import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .layers import (
    ELU,
    GELU,
    Dropout,
    Embedding,
    Flatten,
    Identity,
    LeakyReLU,
    Linear,
    LogSoftmax,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
    Unflatten,
)
from .loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from .module import IncompatibleKeys, Module, Parameter
from .norm import BatchNorm1d, BatchNorm2d, LayerNorm

__all__ = [
    "BCELoss", "BCEWithLogitsLoss", "BatchNorm1d", "BatchNorm2d", "CrossEntropyLoss",
    "Dropout", "ELU", "Embedding", "Flatten", "GELU", "HuberLoss", "Identity",
    "IncompatibleKeys", "KLDivLoss", "L1Loss", "LayerNorm", "LeakyReLU", "Linear",
    "LogSoftmax", "MSELoss", "Module", "ModuleDict", "ModuleList", "NLLLoss", "Parameter",
    "ParameterDict", "ParameterList", "ReLU", "Sequential", "SiLU", "Sigmoid",
    "SmoothL1Loss", "Softmax", "Softplus", "Tanh", "Unflatten",
    "functional", "init", "utils",
    "AvgPool1d", "AvgPool2d", "Conv1d", "Conv2d", "MaxPool1d", "MaxPool2d",
]

# after the others: conv_layers imports nn.functional, which imports nn.conv
from .conv_layers import AvgPool1d, AvgPool2d, Conv1d, Conv2d, MaxPool1d, MaxPool2d  # noqa: E402
