"""tinygrad_edu: a small reverse-mode automatic differentiation engine over NumPy.

Read it in this order: ``ops.py`` (every derivative, in one table), ``tensor.py``
(the Tensor's core and its operators), ``engine.py`` (the graph and the reverse pass);
then ``functions.py`` (everything else a Tensor does, composed of ops) as needed.
"""

import sys as _sys

import numpy as _np

# first: functions.py and inplace.py join the rest of Tensor's methods to the class
from . import functions, hooks, inplace  # isort: skip
from . import (
    autograd,
    autograd_functional,
    backends,
    cuda,
    data,
    engine,
    explain,
    func,
    models,
    nn,
    ops,
    optim,
    stepper,
    utils,
    viz,
    why,
)
from .anomaly import AnomalyError, detect_anomaly, set_detect_anomaly
from .compiler import CompiledStep, compile  # noqa: A004 - torch.compile's name
from .convert import get_default_dtype, set_default_dtype
from .creation import (
    Generator,
    arange,
    bernoulli,
    default_generator,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    initial_seed,
    linspace,
    manual_seed,
    meshgrid,
    multinomial,
    normal,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    seed,
    zeros,
    zeros_like,
)
from .devices import device
from .explain import explain_backward
from .functions import as_tensor, cat, einsum, maximum, minimum, stack, tensor, where
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled, watch_no_grad
from .gradcheck import GradcheckError, gradcheck, gradgradcheck, numerical_grad
from .hooks import retain_grads
from .nn.functional import log_softmax, relu, sigmoid, softmax, tanh
from .serialization import load, save
from .tensor import Tensor
from .viz import draw_graph, graph_stats, to_dot, to_text
from .why import explain_grad

__version__ = "0.1.0"

# torch.autograd.gradcheck / gradgradcheck are ours (gradcheck.py builds on autograd.grad,
# so autograd.py cannot import it itself)
autograd.gradcheck, autograd.gradgradcheck = gradcheck, gradgradcheck
# torch.autograd.functional likewise (it builds on func.py, which builds on autograd.py);
# registered as a module too, so `from tinygrad_edu.autograd.functional import jacobian` works
autograd.functional = autograd_functional
_sys.modules[__name__ + ".autograd.functional"] = autograd_functional

# dtypes, with PyTorch's names (they are NumPy's dtypes: t.dtype == tinygrad_edu.long)
float32 = _np.float32
float64 = _np.float64
float = _np.float32  # noqa: A001 - PyTorch's torch.float is float32
double = _np.float64
int64 = long = _np.int64
int32 = _np.int32
int = _np.int32  # noqa: A001 - PyTorch's torch.int is int32
int16 = short = _np.int16
int8 = _np.int8
uint8 = _np.uint8
bool = _np.bool_  # noqa: A001


def is_tensor(obj: object) -> bool:  # noqa: A002
    return isinstance(obj, Tensor)


def is_floating_point(input: Tensor) -> bool:  # noqa: A002
    return input.is_floating_point()


def _legacy(dtype: type, name: str):
    def make(*values, requires_grad: bool = False) -> Tensor:
        return Tensor(*values, dtype=dtype, requires_grad=requires_grad)
    make.__name__ = make.__qualname__ = name
    make.__doc__ = (f"PyTorch's legacy constructor: ``{name}(data)`` or ``{name}(*sizes)``, "
                    f"a tensor of {_np.dtype(dtype).name}.")
    return make


FloatTensor = _legacy(_np.float32, "FloatTensor")
DoubleTensor = _legacy(_np.float64, "DoubleTensor")
LongTensor = _legacy(_np.int64, "LongTensor")
IntTensor = _legacy(_np.int32, "IntTensor")
ByteTensor = _legacy(_np.uint8, "ByteTensor")
BoolTensor = _legacy(_np.bool_, "BoolTensor")


# Function forms of the Tensor methods (torch.exp(x), torch.sum(x, dim=1), torch.max(a, b),
# torch.add(input=x, other=y) ...), made from one list: each calls the Tensor method of the
# same name on its first argument, with the same keywords.
def _function_form(name: str):
    def function(input, *args, **kwargs):  # noqa: A002 - PyTorch's parameter name
        return getattr(as_tensor(input), name)(*args, **kwargs)
    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"``{name}(x, ...)`` is ``x.{name}(...)``."
    return function


FUNCTION_FORMS = (
    # arithmetic and elementwise
    "add", "sub", "mul", "div", "pow", "neg", "abs", "exp", "log", "sqrt", "sin", "cos", "tan",
    "log2", "log10", "log1p", "expm1", "square", "rsqrt", "reciprocal", "sign", "floor", "ceil",
    "round", "erf", "clip", "clamp", "clamp_min", "clamp_max", "masked_fill",
    # comparisons and logic
    "eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less", "less_equal",
    "not_equal", "equal", "allclose", "isclose", "logical_and", "logical_or", "logical_not",
    "any", "all",
    # reductions
    "sum", "mean", "prod", "cumsum", "norm", "var", "std", "max", "min", "amax", "amin",
    "argmax", "argmin", "logsumexp", "sort", "topk", "argsort",
    # linear algebra
    "matmul", "mm", "dot", "outer",
    # shapes and indexing
    "reshape", "flatten", "unflatten", "squeeze", "unsqueeze", "transpose", "permute",
    "swapaxes", "swapdims", "t", "split", "chunk", "flip", "tril", "triu", "gather",
    "index_select", "numel", "clone", "detach",
)
for _name in FUNCTION_FORMS:
    globals()[_name] = _function_form(_name)
