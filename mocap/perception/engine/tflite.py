"""A generic TFLite flatbuffer -> PyTorch converter for float graphs.

The graph is read once with the ``tflite`` schema package and built for one input shape (a
model with a dynamic input, such as MoveNet's ``(1, -1, -1, 3)``, is given its H and W), so
every tensor's shape is known at build time. Ops whose inputs are all constant then are
evaluated once at load: weights (float16 or int8 DEQUANTIZE, sparse DENSIFY) and the shape
arithmetic such graphs carry (SHAPE of a tensor, STRIDED_SLICE, PACK, CAST, RANGE, FILL...
on the result). Every other op becomes one node of a ``torch.fx`` graph, so the result is a
static module whose generated ``forward`` has no interpretation overhead and which
``torch.compile`` can freeze. Tensors keep their TFLite dtypes (int32 index arithmetic stays
int32, masks stay bool) so that index ops see what LiteRT's kernels see.

Layout: TFLite is NHWC. Inside, 4-D activations of the convolutional parts are NCHW views
with channels_last strides (a permute of the NHWC input, no copy); ops whose meaning depends
on the layout (RESHAPE, CONCATENATION, PAD, outputs) convert explicitly, and the index and
post-processing ops (STRIDED_SLICE, GATHER_ND, reductions...) work on the TFLite layout
("plain"). The module takes ``(B, H, W, C)`` in the model's input dtype and returns the graph
outputs in TFLite order and layout. Convolutional graphs run at any batch size B (RESHAPE
targets are rewritten to keep the leading dimension free); a graph with any other op (shape
arithmetic, indexing, reductions) may mix the batch with other axes, so its module is marked
``batch_free = False`` and takes the model's own batch (1) only.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.fx
import torch.nn.functional as F
from torch import nn
from torch.fx.node import map_aggregate

from mocap.errors import InputError

_ACT_NONE, _ACT_RELU, _ACT_RELU_N1_TO_1, _ACT_RELU6, _ACT_TANH = 0, 1, 2, 3, 4
_PAD_SAME, _PAD_VALID = 0, 1

_NUMPY_TYPES = {
    0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64, 6: np.bool_,
    7: np.int16, 9: np.int8, 10: np.float64,
}
_TORCH_TYPES = {
    np.float32: torch.float32, np.float16: torch.float16, np.int32: torch.int32,
    np.uint8: torch.uint8, np.int64: torch.int64, np.bool_: torch.bool, np.int16: torch.int16,
    np.int8: torch.int8, np.float64: torch.float64,
}


def _op_names() -> dict[int, str]:
    import tflite

    return {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}


@dataclass
class _Tensor:
    name: str
    shape: tuple[int, ...]  # as stored: placeholder sizes where the model is dynamic
    dtype: type | None  # numpy type; None for types torch cannot hold (strings...)
    data: np.ndarray | None  # constant value (stored or folded), or None for activations
    sparsity: object | None
    quant: object | None


def _read_vector(table, vector_type: int) -> np.ndarray:
    """Decode a TFLite ``SparseIndexVector`` union (Int32/Uint16/Uint8 vector)."""
    import tflite

    cls = {1: tflite.Int32Vector, 2: tflite.Uint16Vector, 3: tflite.Uint8Vector}[vector_type]
    vec = cls()
    vec.Init(table.Bytes, table.Pos)
    return vec.ValuesAsNumpy().astype(np.int64)


def densify(values: np.ndarray, shape: tuple[int, ...], sparsity) -> np.ndarray:
    """Expand a TFLite sparse constant (DENSE/CSR dimension metadata) to a dense array.

    Vectorised over all stored values: each level maps the positions reached so far to the
    positions of the next level (dense: ``pos * size + i``; CSR: the segment's entries).
    """
    order = sparsity.TraversalOrderAsNumpy()
    if sparsity.BlockMapLength() or len(order) != len(shape):
        raise InputError("block-sparse TFLite tensors are not supported")
    pos = np.zeros(1, np.int64)
    coords: list[np.ndarray] = []
    for level in range(sparsity.DimMetadataLength()):
        meta = sparsity.DimMetadata(level)
        if meta.Format() == 0:  # DENSE
            size = meta.DenseSize()
            coords = [np.repeat(c, size) for c in coords]
            idx = np.tile(np.arange(size), len(pos))
            pos = (pos[:, None] * size + np.arange(size)).ravel()
        else:  # SPARSE_CSR
            seg = _read_vector(meta.ArraySegments(), meta.ArraySegmentsType())
            ind = _read_vector(meta.ArrayIndices(), meta.ArrayIndicesType())
            counts = seg[pos + 1] - seg[pos]
            coords = [np.repeat(c, counts) for c in coords]
            starts = np.repeat(seg[pos], counts)
            within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
            pos = starts + within
            idx = ind[pos]
        coords.append(idx)
    dense = np.zeros(shape, values.dtype)
    ordered = [None] * len(shape)
    for level, dim in enumerate(order):
        ordered[dim] = coords[level]
    dense[tuple(ordered)] = values[pos]
    return dense


def _dequantize(t: _Tensor) -> np.ndarray:
    data = t.data
    if data.dtype == np.float16:
        return data.astype(np.float32)
    q = t.quant
    scale = q.ScaleAsNumpy().astype(np.float32)
    zero = q.ZeroPointAsNumpy().astype(np.float32)
    if scale.size > 1:
        axis = q.QuantizedDimension()
        bshape = [1] * data.ndim
        bshape[axis] = -1
        scale, zero = scale.reshape(bshape), zero.reshape(bshape)
    return ((data.astype(np.float32) - zero) * scale).astype(np.float32)


def _options(op, cls_name: str):
    """The op's builtin options table as ``tflite.<cls_name>``, or None where it has none."""
    import tflite

    table = op.BuiltinOptions()
    if table is None:
        return None
    opts = getattr(tflite, cls_name)()
    opts.Init(table.Bytes, table.Pos)
    return opts


def _fused(opts) -> int:
    return opts.FusedActivationFunction() if opts is not None else _ACT_NONE


def same_pad(size: int, k: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    out = -(-size // stride)
    total = max((out - 1) * stride + (k - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def strided_slice_plan(shape: tuple[int, ...], begin, end, strides, begin_mask: int = 0,
                       end_mask: int = 0, ellipsis_mask: int = 0, new_axis_mask: int = 0,
                       shrink_axis_mask: int = 0, offset: bool = False):
    """TFLite STRIDED_SLICE on a tensor of ``shape`` as torch indexing steps.

    Follows LiteRT's kernel: the ellipsis expands to the dimensions the other entries leave
    (an ellipsis bit wins over a new-axis bit), missing trailing entries take whole
    dimensions, a masked begin/end is the first/last element in the stride's direction,
    negative indices count from the end and are clamped (to ``[0, n]`` going forwards,
    ``[-1, n - 1]`` backwards), ``offset`` makes ``end`` relative to ``begin``, and a shrunk
    axis takes the single element at its start.

    Returns:
        ``(new_axes, flips, index)``: unsqueeze the input at each of ``new_axes`` in order,
        flip it along the dimensions ``flips`` (torch has no negative steps), then index it
        with the tuple ``index`` (slices with positive steps; ints drop shrunk axes).
    """
    rank = len(shape)
    specs: list = []  # "..." | "new" | j (an entry of begin/end/strides) | None (whole dim)
    for j in range(len(begin)):
        if ellipsis_mask >> j & 1:
            specs.append("...")
        elif new_axis_mask >> j & 1:
            specs.append("new")
        else:
            specs.append(j)
    if specs.count("...") > 1:
        raise InputError("STRIDED_SLICE with more than one ellipsis")
    used = sum(isinstance(s, int) for s in specs)
    if used > rank:
        raise InputError(f"STRIDED_SLICE indexes {used} dimensions of a rank-{rank} tensor")
    fill = [None] * (rank - used)
    if "..." in specs:
        at = specs.index("...")
        specs[at:at + 1] = fill
    else:
        specs += fill
    new_axes, flips, index = [], [], []
    src = 0
    for pos, s in enumerate(specs):
        if s == "new":
            new_axes.append(pos)
            index.append(slice(None))
            continue
        n = shape[src]
        src += 1
        if s is None:
            index.append(slice(None))
            continue
        b, e, step = int(begin[s]), int(end[s]), int(strides[s])
        if step == 0:
            raise InputError("STRIDED_SLICE with stride 0")
        lo, hi = (0, n) if step > 0 else (-1, n - 1)
        if begin_mask >> s & 1:
            start = 0 if step > 0 else n - 1
        else:
            start = min(max(b + n if b < 0 else b, lo), hi)
        if shrink_axis_mask >> s & 1:
            index.append(start)
            continue
        if offset:
            e += start
        if end_mask >> s & 1:
            stop = n if step > 0 else -1
        else:
            stop = min(max(e + n if e < 0 else e, lo), hi)
        if step > 0:
            whole = start == 0 and stop == n and step == 1
            index.append(slice(None) if whole else slice(start, stop, step))
        else:  # walk the flipped dimension forwards: element i sits at n - 1 - i
            flips.append(pos)
            index.append(slice(n - 1 - start, n - 1 - stop, -step))
    return tuple(new_axes), tuple(flips), tuple(index)


def _tflite_range(start, limit, delta, dtype) -> np.ndarray:
    """TFLite RANGE: its size rule, and values accumulated as ``value += delta``."""
    start, limit, delta = (np.asarray(v, dtype).item() for v in (start, limit, delta))
    if delta == 0:
        raise InputError("RANGE with delta 0")
    if np.issubdtype(dtype, np.integer):
        size = (abs(limit - start) + abs(delta) - 1) // abs(delta)
    else:
        size = int(np.ceil(np.abs((np.asarray(limit, dtype) - np.asarray(start, dtype))
                                  / np.asarray(delta, dtype))))
    if (limit > start) != (delta > 0) and limit != start:
        raise InputError("RANGE whose delta points away from its limit")
    steps = np.full(size, delta, dtype)
    if size:
        steps[0] = start
    return np.cumsum(steps, dtype=dtype)


# --- functions the generated forward calls -------------------------------------------
def depth_to_space_nchw(x: torch.Tensor, block: int) -> torch.Tensor:
    """TensorFlow DEPTH_TO_SPACE on an NCHW tensor.

    TF reads channel ``(i * block + j) * C_out + c`` for output pixel offset ``(i, j)``;
    ``pixel_shuffle`` reads ``c * block**2 + i * block + j``, hence the different split.
    """
    b, c, h, w = x.shape
    cout = c // (block * block)
    x = x.reshape(b, block, block, cout, h, w).permute(0, 3, 4, 1, 5, 2)
    return x.reshape(b, cout, h * block, w * block)


def _to_nhwc(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 2, 3, 1)


def _from_nhwc(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 3, 1, 2)


def gather_nd(params: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    """TFLite GATHER_ND: ``out[i...] = params[indices[i..., 0], ..., indices[i..., K-1]]``.

    Args:
        params: (D0, ..., Dn) any dtype.
        indices: (..., K) integer, K <= n + 1.

    Returns:
        (..., D_K, ..., Dn).
    """
    return params[tuple(indices.unbind(-1))]


def topk_sorted(x: torch.Tensor, k: int, index_dtype: torch.dtype):
    """TFLite TOPK_V2: the k largest along the last axis, descending, ties by lower index.

    ``torch.topk`` leaves the order of equal values unspecified; a stable descending sort
    gives LiteRT's order.

    Returns:
        ``(values (..., k), indices (..., k) in index_dtype)``.
    """
    values, indices = torch.sort(x, dim=-1, descending=True, stable=True)
    return values[..., :k], indices[..., :k].to(index_dtype)


def reduce_prod(x: torch.Tensor, dims: tuple[int, ...], keepdim: bool) -> torch.Tensor:
    """``torch.prod`` over several dimensions, in the input's dtype (torch takes one)."""
    for d in sorted(dims, reverse=True):
        x = torch.prod(x, d, keepdim=keepdim, dtype=x.dtype)
    return x


def resize_bilinear_legacy(x: torch.Tensor, y0, y1, wy, x0, x1, wx) -> torch.Tensor:
    """TFLite RESIZE_BILINEAR without align_corners or half_pixel_centers, on NCHW.

    Source rows/columns (``y0, y1`` (OH,), ``x0, x1`` (OW,)) and fractions (``wy`` (OH, 1),
    ``wx`` (OW,)) are precomputed; the four corners are weighted as LiteRT's kernel does.
    """
    top, bottom = x[:, :, y0], x[:, :, y1]
    return (top[..., x0] * (1 - wy) * (1 - wx) + bottom[..., x0] * wy * (1 - wx)
            + top[..., x1] * (1 - wy) * wx + bottom[..., x1] * wy * wx)


def _shape_of(a) -> tuple[int, ...]:
    return tuple(a.shape) if isinstance(a, torch.Tensor) else ()


def _same_meta(x, *args, **kwargs):
    return x


def _arith_meta(a, b, *args, **kwargs):
    shape = torch.broadcast_shapes(_shape_of(a), _shape_of(b))
    return torch.empty(shape, dtype=torch.result_type(a, b), device="meta")


def _bool_meta(a, b):
    shape = torch.broadcast_shapes(_shape_of(a), _shape_of(b))
    return torch.empty(shape, dtype=torch.bool, device="meta")


_BINARY = {  # name -> (torch function, options table carrying a fused activation)
    "ADD": (operator.add, "AddOptions"), "SUB": (operator.sub, "SubOptions"),
    "MUL": (operator.mul, "MulOptions"), "DIV": (operator.truediv, "DivOptions"),
    "MINIMUM": (torch.minimum, None), "MAXIMUM": (torch.maximum, None),
    "LESS": (torch.lt, None), "LESS_EQUAL": (torch.le, None), "GREATER": (torch.gt, None),
    "GREATER_EQUAL": (torch.ge, None), "EQUAL": (torch.eq, None),
    "NOT_EQUAL": (torch.ne, None), "LOGICAL_AND": (torch.logical_and, None),
    "LOGICAL_OR": (torch.logical_or, None), "FLOOR_DIV": (None, None),
}
_UNARY = {
    "ABS": torch.abs, "EXP": torch.exp, "LOGISTIC": torch.sigmoid, "RELU": F.relu,
    "RELU6": F.relu6, "TANH": torch.tanh, "NEG": torch.neg, "SQRT": torch.sqrt,
    "RSQRT": torch.rsqrt, "LOG": torch.log, "FLOOR": torch.floor, "CEIL": torch.ceil,
    "SQUARE": torch.square, "LOGICAL_NOT": torch.logical_not,
}
_REDUCERS = {"SUM", "MEAN", "REDUCE_MAX", "REDUCE_MIN", "REDUCE_PROD"}
# Ops that act on each batch item alone, whatever the batch size (RESHAPE and CONCATENATION
# are checked per use).
_BATCH_SAFE = {"CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "PAD", "PADV2",
               "RESIZE_BILINEAR", "DEPTH_TO_SPACE", "DEQUANTIZE", "DENSIFY", "CAST",
               "RESHAPE", "CONCATENATION", "PRELU", "FULLY_CONNECTED", *_UNARY, *_BINARY}
# Shapes and dtypes of the commonest calls without torch's Python meta kernels (a graph of
# a few hundred ops would spend most of its build time in them).
_FAST_META = {
    **{fn: _same_meta for fn in (F.relu_, F.hardtanh_, F.relu, F.relu6, torch.sigmoid,
                                 torch.tanh, torch.abs, torch.exp, torch.neg)},
    **{fn: _arith_meta for fn in (operator.add, operator.sub, operator.mul, torch.minimum,
                                  torch.maximum)},
    **{fn: _bool_meta for fn in (torch.lt, torch.le, torch.gt, torch.ge, torch.eq, torch.ne,
                                 torch.logical_and, torch.logical_or)},
}


class _Builder:
    """Turns the op list of one TFLite subgraph into an fx graph over nn.Conv2d modules.

    A tensor is either constant (``tensors[i].data``, TFLite layout) or an activation
    (``values[i] = (fx node, layout)``); each node's ``meta["val"]`` is a meta tensor with
    its static shape and dtype, from running the same torch call on meta tensors.
    """

    def __init__(self, model, subgraph, opnames: dict[int, str]):
        self.model, self.g, self.opnames = model, subgraph, opnames
        self.tensors = [self._tensor(i) for i in range(subgraph.TensorsLength())]
        self.root = nn.Module()
        self.graph = torch.fx.Graph()
        self.values: dict[int, tuple[torch.fx.Node, str]] = {}  # tensor -> (node, layout)
        self._views: dict[tuple[int, str], torch.fx.Node] = {}  # layout conversions
        self._consts: dict[tuple[int, str], torch.Tensor] = {}  # constants as torch
        self._buffers: dict[int, tuple[torch.Tensor, torch.fx.Node]] = {}  # id -> get_attr
        self._op = ""  # the op being converted, for error messages
        self.batch_free = True  # the graph runs at any batch size (see _BATCH_SAFE)

    def _tensor(self, i: int) -> _Tensor:
        t = self.g.Tensors(i)
        dtype = _NUMPY_TYPES.get(t.Type())
        buf = self.model.Buffers(t.Buffer())
        shape = tuple(int(s) for s in t.ShapeAsNumpy()) if t.ShapeLength() else ()
        data = None
        if buf is not None and buf.DataLength() and dtype is not None:
            data = np.frombuffer(buf.DataAsNumpy().tobytes(), dtype=dtype)
            if t.Sparsity() is None:
                data = data.reshape(shape)
        return _Tensor(t.Name().decode(), shape, dtype, data, t.Sparsity(), t.Quantization())

    # --- tensors ------------------------------------------------------------------------
    def is_const(self, i: int) -> bool:
        return self.tensors[i].data is not None

    def const(self, i: int) -> np.ndarray:
        t = self.tensors[i]
        if t.data is None:
            raise InputError(f"{self._op}: tensor {t.name} should be constant (it is computed "
                             "from the input, which this converter does not support here)")
        return t.data

    def _activation(self, i: int) -> tuple[torch.fx.Node, str]:
        try:
            return self.values[i]
        except KeyError:
            t = self.tensors[i]
            why = "of a type torch cannot hold" if t.dtype is None else "never produced"
            raise InputError(f"{self._op}: tensor {t.name} is {why}") from None

    def shape(self, i: int) -> tuple[int, ...]:
        """Tensor ``i``'s static shape in the TFLite layout."""
        if self.is_const(i):
            return tuple(self.tensors[i].data.shape)
        node, layout = self._activation(i)
        s = tuple(node.meta["val"].shape)
        return (s[0], s[2], s[3], s[1]) if layout == "nchw" else s

    def dtype(self, i: int) -> torch.dtype:
        """The torch dtype tensor ``i`` is declared with in the model."""
        dtype = self.tensors[i].dtype
        if dtype is None:
            raise InputError(f"{self._op}: tensor {self.tensors[i].name} has a type torch "
                             "cannot hold")
        return _TORCH_TYPES[dtype]

    def layout(self, i: int) -> str:
        return "plain" if self.is_const(i) else self._activation(i)[1]

    def value(self, i: int, layout: str = "plain"):
        """Tensor ``i`` in ``layout``: an fx node, or a torch tensor where it is constant.

        A constant asked for in ``nchw`` is lifted to 4-D first (TFLite broadcasts from the
        trailing, channel axis), so it broadcasts against NCHW activations.
        """
        if self.is_const(i):
            key = (i, layout)
            if key not in self._consts:
                data = self.tensors[i].data
                if layout == "nchw" and data.ndim:
                    data = data.reshape((1,) * (4 - data.ndim) + data.shape).transpose(0, 3, 1, 2)
                self._consts[key] = torch.from_numpy(np.array(data, copy=True))
            return self._consts[key]
        node, have = self._activation(i)
        if have == layout:
            return node
        if (i, layout) not in self._views:
            fn = _to_nhwc if layout == "plain" else _from_nhwc
            self._views[(i, layout)] = self.call(fn, node)
        return self._views[(i, layout)]

    def set(self, i: int, result, layout: str = "plain") -> None:
        """Record tensor ``i``: an fx node in ``layout``, or a folded constant."""
        if isinstance(result, torch.fx.Node):
            self.values[i] = (result, layout)
            return
        data = result.numpy() if isinstance(result, torch.Tensor) else np.asarray(result)
        if layout == "nchw" and data.ndim == 4:
            data = data.transpose(0, 2, 3, 1)
        self.tensors[i].data = np.array(data, copy=True)  # never a view of another constant

    def set_many(self, outs: list[int], result, layout: str = "plain") -> None:
        """Record the outputs of a call returning a tuple (UNPACK, SPLIT, TOPK_V2)."""
        for j, o in enumerate(outs):
            if o >= 0:
                item = (self.call(operator.getitem, result, j)
                        if isinstance(result, torch.fx.Node) else result[j])
                self.set(o, item, layout)

    def _buffer(self, t: torch.Tensor) -> torch.fx.Node:
        entry = self._buffers.get(id(t))
        if entry is None:
            name = f"const{len(self._buffers)}"
            self.root.register_buffer(name, t)
            entry = self._buffers[id(t)] = (t, self.graph.get_attr(name))
        return entry[1]

    def call(self, fn, *args, **kwargs):
        """``fn(*args, **kwargs)`` as a new fx node, or run now if no argument is a node.

        Running now is the constant folding: every input is then a torch tensor or a Python
        value. A node's ``meta["val"]`` comes from running ``fn`` on meta tensors.
        """
        leaves: list = []
        map_aggregate((args, kwargs), leaves.append)
        if not any(isinstance(a, torch.fx.Node) for a in leaves):
            return fn(*args, **kwargs)

        def graph_arg(a):
            return self._buffer(a) if isinstance(a, torch.Tensor) else a

        def meta_arg(a):
            if isinstance(a, torch.fx.Node):
                return a.meta["val"]
            return a.to("meta") if isinstance(a, torch.Tensor) else a

        g_args, g_kwargs = map_aggregate((args, kwargs), graph_arg)
        node = self.graph.call_function(fn, tuple(g_args), dict(g_kwargs))
        m_args, m_kwargs = map_aggregate((args, kwargs), meta_arg)
        fast = _FAST_META.get(fn)
        node.meta["val"] = (fast or fn)(*m_args, **m_kwargs)
        return node

    def call_conv(self, name: str, conv: nn.Conv2d, x):
        if not isinstance(x, torch.fx.Node):
            return conv(x)
        self.root.add_module(name, conv)
        node = self.graph.call_module(name, (x,))
        n, _, *size = x.meta["val"].shape
        out = [(s + 2 * p - d * (k - 1) - 1) // st + 1 for s, p, d, k, st in zip(
            size, conv.padding, conv.dilation, conv.kernel_size, conv.stride, strict=True)]
        node.meta["val"] = torch.empty((n, conv.out_channels, *out), device="meta")
        return node

    def _fused_activation(self, node, act: int):
        # In place: the op's result is fresh and has no other reader yet.
        if act == _ACT_NONE:
            return node
        if act == _ACT_RELU:
            return self.call(F.relu_, node)
        if act == _ACT_RELU6:
            return self.call(F.hardtanh_, node, 0.0, 6.0)
        if act == _ACT_RELU_N1_TO_1:
            return self.call(F.hardtanh_, node, -1.0, 1.0)
        if act == _ACT_TANH:
            return self.call(torch.tanh, node)
        raise InputError(f"{self._op}: unsupported fused activation {act}")

    def _elementwise_layout(self, ins: list[int]) -> str:
        """NCHW when an activation input already is and all are 4-D; else the TFLite layout.

        Broadcasting is then the same in both: constants are lifted to 4-D by ``value``.
        """
        acts = [i for i in ins if i >= 0 and not self.is_const(i)]
        if any(self.layout(i) == "nchw" for i in acts) and all(
                len(self.shape(i)) == 4 for i in acts):
            return "nchw"
        return "plain"

    def _axis_const(self, i: int, rank: int) -> list[int]:
        return [int(a) % rank if rank else 0 for a in self.const(i).reshape(-1)]

    # --- the graph ------------------------------------------------------------------------
    def build(self, outputs: list[int] | None, input_shape: tuple[int, ...],
              input_dtype: torch.dtype) -> torch.fx.GraphModule:
        g = self.graph
        (inp,) = (int(i) for i in self.g.InputsAsNumpy())
        x = g.placeholder("x")
        x.meta["val"] = torch.empty(input_shape, dtype=input_dtype, device="meta")
        if len(input_shape) == 4:
            self.values[inp] = (self.call(_from_nhwc, x), "nchw")
        else:
            self.values[inp] = (x, "plain")
        for k in range(self.g.OperatorsLength()):
            op = self.g.Operators(k)
            code = self.model.OperatorCodes(op.OpcodeIndex())
            name = self.opnames.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()),
                                    f"#{code.BuiltinCode()}")
            self._op = f"TFLite op {name} (operator {k})"
            if name not in _BATCH_SAFE:
                self.batch_free = False
            ins = [int(i) for i in op.InputsAsNumpy()] if op.InputsLength() else []
            outs = [int(i) for i in op.OutputsAsNumpy()] if op.OutputsLength() else []
            if name in _BINARY:
                self._binary(name, op, ins, outs)
            elif name in _UNARY:
                self._unary(name, ins, outs)
            elif name in _REDUCERS:
                self._reduce(name, op, ins, outs)
            else:
                handler = getattr(self, f"op_{name.lower()}", None)
                if handler is None:
                    raise InputError(f"unsupported TFLite op {name} (operator {k})")
                handler(k, op, ins, outs)
        self._op = "graph outputs"
        graph_outputs = [int(i) for i in self.g.OutputsAsNumpy()]
        chosen = range(len(graph_outputs)) if outputs is None else outputs
        results = []
        for j in chosen:
            out = self.value(graph_outputs[j], "plain")
            results.append(out if isinstance(out, torch.fx.Node) else self._buffer(out))
        g.output(tuple(results))
        gm = torch.fx.GraphModule(self.root, g)
        gm.graph.eliminate_dead_code()
        gm.delete_all_unused_submodules()
        used = {n.target for n in gm.graph.nodes if n.op == "get_attr"}
        for name in [b for b, _ in gm.named_buffers(recurse=False) if b not in used]:
            delattr(gm, name)
        gm.recompile()
        return gm

    # --- constant folding -------------------------------------------------------------
    def op_dequantize(self, k, op, ins, outs):
        src = self.tensors[ins[0]]
        if src.data is not None:
            self.tensors[outs[0]].data = _dequantize(src)
            return
        node, layout = self._activation(ins[0])
        if node.meta["val"].dtype == torch.float16:
            self.set(outs[0], self.call(torch.Tensor.float, node), layout)
            return
        scale = src.quant.ScaleAsNumpy() if src.quant is not None else None
        if scale is None or np.size(scale) != 1:
            raise InputError(f"{self._op}: only per-tensor DEQUANTIZE of activations")
        zero = float(src.quant.ZeroPointAsNumpy()[0])
        x = self.call(torch.Tensor.float, node)
        self.set(outs[0], self.call(operator.mul, self.call(operator.sub, x, zero),
                                    float(scale[0])), layout)

    def op_densify(self, k, op, ins, outs):
        src = self.tensors[ins[0]]
        self.tensors[outs[0]].data = densify(src.data, self.tensors[outs[0]].shape, src.sparsity)

    def op_shape(self, k, op, ins, outs):
        # Shapes are static once the input shape is fixed: SHAPE is always a constant.
        self.tensors[outs[0]].data = np.array(self.shape(ins[0]), self.tensors[outs[0]].dtype)

    def op_range(self, k, op, ins, outs):
        start, limit, delta = (self.const(i) for i in ins)
        self.tensors[outs[0]].data = _tflite_range(start, limit, delta, self.tensors[outs[0]].dtype)

    # --- convolutions and pooling -------------------------------------------------------
    def _conv(self, k, ins, outs, opts, depthwise: bool):
        x_shape = self.shape(ins[0])
        w = self.const(ins[1]).astype(np.float32)
        bias = self.const(ins[2]).astype(np.float32) if len(ins) > 2 and ins[2] >= 0 else None
        if depthwise:  # (1, kh, kw, C*M) -> (C*M, 1, kh, kw)
            weight = np.ascontiguousarray(w.transpose(3, 0, 1, 2))
            groups = x_shape[3]
        else:  # (O, kh, kw, I) -> (O, I, kh, kw)
            weight = np.ascontiguousarray(w.transpose(0, 3, 1, 2))
            groups = 1
        out_c, _, kh, kw = weight.shape
        sh, sw = opts.StrideH(), opts.StrideW()
        dh, dw = opts.DilationHFactor(), opts.DilationWFactor()
        node = self.value(ins[0], "nchw")
        pad = (0, 0)
        if opts.Padding() == _PAD_SAME:
            ph = same_pad(x_shape[1], kh, sh, dh)
            pw = same_pad(x_shape[2], kw, sw, dw)
            if ph[0] == ph[1] and pw[0] == pw[1]:
                pad = (ph[0], pw[0])
            else:  # TF's SAME puts the odd pixel after: pad explicitly
                node = self.call(F.pad, node, (pw[0], pw[1], ph[0], ph[1]))
        conv = nn.Conv2d(x_shape[3], out_c, (kh, kw), (sh, sw), pad, (dh, dw), groups,
                         bias=bias is not None)
        with torch.no_grad():
            conv.weight.copy_(torch.from_numpy(weight))
            if bias is not None:
                conv.bias.copy_(torch.from_numpy(bias))
        node = self.call_conv(f"conv{k}", conv, node)
        self.set(outs[0], self._fused_activation(node, _fused(opts)), "nchw")

    def op_conv_2d(self, k, op, ins, outs):
        self._conv(k, ins, outs, _options(op, "Conv2DOptions"), depthwise=False)

    def op_depthwise_conv_2d(self, k, op, ins, outs):
        self._conv(k, ins, outs, _options(op, "DepthwiseConv2DOptions"), depthwise=True)

    def op_max_pool_2d(self, k, op, ins, outs):
        opts = _options(op, "Pool2DOptions")
        kh, kw = opts.FilterHeight(), opts.FilterWidth()
        sh, sw = opts.StrideH(), opts.StrideW()
        node = self.value(ins[0], "nchw")
        if opts.Padding() == _PAD_SAME:
            shape = self.shape(ins[0])
            ph, pw = same_pad(shape[1], kh, sh), same_pad(shape[2], kw, sw)
            if any(ph + pw):
                node = self.call(F.pad, node, (pw[0], pw[1], ph[0], ph[1]), value=float("-inf"))
        node = self.call(F.max_pool2d, node, (kh, kw), (sh, sw))
        self.set(outs[0], self._fused_activation(node, _fused(opts)), "nchw")

    def op_resize_bilinear(self, k, op, ins, outs):
        opts = _options(op, "ResizeBilinearOptions")
        align = bool(opts and opts.AlignCorners())
        half = bool(opts and opts.HalfPixelCenters())
        out_h, out_w = (int(v) for v in self.const(ins[1]).reshape(-1))
        node = self.value(ins[0], "nchw")
        if align or half:  # torch's two modes are TF's (half pixel: clamped at 0 as TF)
            node = self.call(F.interpolate, node, size=(out_h, out_w), mode="bilinear",
                             align_corners=align)
        else:  # TF's legacy mode: source = dst * in / out, no half-pixel offset
            _, in_h, in_w, _ = self.shape(ins[0])
            axes = []
            for n_in, n_out in ((in_h, out_h), (in_w, out_w)):
                src = np.arange(n_out, dtype=np.float32) * np.float32(n_in / n_out)
                lo = np.floor(src).astype(np.int64)
                hi = np.minimum(lo + 1, n_in - 1)
                axes.append((torch.from_numpy(lo), torch.from_numpy(hi),
                             torch.from_numpy((src - lo).astype(np.float32))))
            (y0, y1, wy), (x0, x1, wx) = axes
            node = self.call(resize_bilinear_legacy, node, y0, y1, wy[:, None], x0, x1, wx)
        self.set(outs[0], node, "nchw")

    def op_depth_to_space(self, k, op, ins, outs):
        block = _options(op, "DepthToSpaceOptions").BlockSize()
        node = self.call(depth_to_space_nchw, self.value(ins[0], "nchw"), block)
        self.set(outs[0], node, "nchw")

    # --- elementwise ----------------------------------------------------------------------
    def _binary(self, name, op, ins, outs):
        fn, opts_name = _BINARY[name]
        layout = self._elementwise_layout(ins)
        a, b = (self.value(i, layout) for i in ins)
        integer = not self.dtype(ins[0]).is_floating_point and self.dtype(ins[0]) != torch.bool
        if name == "FLOOR_DIV":
            node = (self.call(torch.div, a, b, rounding_mode="floor") if integer
                    else self.call(torch.floor, self.call(operator.truediv, a, b)))
        elif name == "DIV" and integer:  # C++ integer division truncates
            node = self.call(torch.div, a, b, rounding_mode="trunc")
        else:
            node = self.call(fn, a, b)
        if opts_name is not None:
            node = self._fused_activation(node, _fused(_options(op, opts_name)))
        self.set(outs[0], node, layout)

    def _unary(self, name, ins, outs):
        layout = self.layout(ins[0])
        self.set(outs[0], self.call(_UNARY[name], self.value(ins[0], layout)), layout)

    def op_prelu(self, k, op, ins, outs):
        # max(x, 0) + alpha * min(x, 0); alpha broadcasts from the channel axis
        layout = self._elementwise_layout(ins)
        x, alpha = (self.value(i, layout) for i in ins)
        pos = self.call(F.relu, x)
        neg = self.call(operator.sub, x, pos)
        self.set(outs[0], self.call(operator.add, pos, self.call(operator.mul, neg, alpha)),
                 layout)

    def op_fully_connected(self, k, op, ins, outs):
        opts = _options(op, "FullyConnectedOptions")
        weight = torch.from_numpy(np.ascontiguousarray(self.const(ins[1]), np.float32))
        bias = (torch.from_numpy(np.ascontiguousarray(self.const(ins[2]), np.float32))
                if len(ins) > 2 and ins[2] >= 0 else None)
        shape = self.shape(ins[0])
        depth = weight.shape[1]
        x = self.value(ins[0])
        if opts is None or not opts.KeepNumDims():
            # TFLite flattens everything but the last axis into rows of `depth`
            if not shape or shape[0] * depth != math.prod(shape):
                self.batch_free = False  # rows mix the batch with other axes
            x = self.call(torch.reshape, x, (-1, depth))
        node = self.call(F.linear, x, weight, bias)
        self.set(outs[0], self._fused_activation(node, _fused(opts)))

    def op_relu_n1_to_1(self, k, op, ins, outs):
        layout = self.layout(ins[0])
        self.set(outs[0], self.call(F.hardtanh, self.value(ins[0], layout), -1.0, 1.0), layout)

    def op_cast(self, k, op, ins, outs):
        layout = self.layout(ins[0])
        x = self.value(ins[0], layout)
        self.set(outs[0], self.call(torch.Tensor.to, x, self.dtype(outs[0])), layout)

    def op_zeros_like(self, k, op, ins, outs):
        layout = self.layout(ins[0])
        self.set(outs[0], self.call(torch.zeros_like, self.value(ins[0], layout)), layout)

    def op_select(self, k, op, ins, outs, broadcast: bool = False):
        cond, a, b = ins
        if not broadcast and len(self.shape(cond)) == 1 and len(self.shape(a)) > 1:
            # SELECT (v1) with a rank-1 condition picks whole rows of x or y
            c = self.call(torch.reshape, self.value(cond), (-1,) + (1,) * (len(self.shape(a)) - 1))
            layout = "plain"
        else:
            layout = self._elementwise_layout(ins)
            c = self.value(cond, layout)
        node = self.call(torch.where, c, self.value(a, layout), self.value(b, layout))
        self.set(outs[0], node, layout)

    def op_select_v2(self, k, op, ins, outs):
        self.op_select(k, op, ins, outs, broadcast=True)

    def op_fill(self, k, op, ins, outs):
        dims = tuple(int(d) for d in self.const(ins[0]).reshape(-1))
        value = self.value(ins[1])
        node = self.call(torch.Tensor.expand, self.call(torch.reshape, value, ()), dims)
        self.set(outs[0], self.call(torch.Tensor.contiguous, node))

    # --- shapes and indexing ----------------------------------------------------------
    def op_reshape(self, k, op, ins, outs):
        target = None
        if len(ins) > 1 and ins[1] >= 0:
            target = [int(v) for v in self.const(ins[1]).reshape(-1)]
        opts = _options(op, "ReshapeOptions")
        if not target and opts is not None and opts.NewShapeLength():
            target = [int(v) for v in opts.NewShapeAsNumpy()]
        if target is None:
            target = list(self.tensors[outs[0]].shape)
        numel = math.prod(self.shape(ins[0]))
        if -1 in target:
            known = math.prod(v for v in target if v != -1)
            target[target.index(-1)] = numel // known if known else 0
        if math.prod(target) != numel:
            raise InputError(f"{self._op}: cannot reshape {self.shape(ins[0])} to {target}")
        # Keep the leading dimension free: it is the batch in convolutional graphs, which
        # run batched; at the model's batch 1 this is the same target.
        spec = (-1, *target[1:]) if target else ()
        if not target or not self.shape(ins[0]) or target[0] != self.shape(ins[0])[0]:
            self.batch_free = False  # the batch is mixed with other axes
        self.set(outs[0], self.call(torch.reshape, self.value(ins[0]), spec))

    def op_squeeze(self, k, op, ins, outs):
        opts = _options(op, "SqueezeOptions")
        shape = self.shape(ins[0])
        dims = ([int(d) % len(shape) for d in opts.SqueezeDimsAsNumpy()]
                if opts is not None and opts.SqueezeDimsLength() else
                [d for d, s in enumerate(shape) if s == 1])
        self.set(outs[0], self.call(torch.squeeze, self.value(ins[0]), tuple(dims)))

    def op_expand_dims(self, k, op, ins, outs):
        (axis,) = self._axis_const(ins[1], len(self.shape(ins[0])) + 1)
        self.set(outs[0], self.call(torch.unsqueeze, self.value(ins[0]), axis))

    def op_pack(self, k, op, ins, outs):
        opts = _options(op, "PackOptions")
        axis = opts.Axis() % (len(self.shape(ins[0])) + 1)
        self.set(outs[0], self.call(torch.stack, [self.value(i) for i in ins], axis))

    def op_unpack(self, k, op, ins, outs):
        opts = _options(op, "UnpackOptions")
        axis = opts.Axis() % len(self.shape(ins[0]))
        self.set_many(outs, self.call(torch.unbind, self.value(ins[0]), axis))

    def op_split(self, k, op, ins, outs):
        shape = self.shape(ins[1])
        (axis,) = self._axis_const(ins[0], len(shape))
        n = _options(op, "SplitOptions").NumSplits()
        if shape[axis] % n:
            raise InputError(f"{self._op}: {shape[axis]} does not split into {n}")
        self.set_many(outs, self.call(torch.split, self.value(ins[1]), shape[axis] // n, axis))

    def op_split_v(self, k, op, ins, outs):
        shape = self.shape(ins[0])
        sizes = [int(s) for s in self.const(ins[1]).reshape(-1)]
        (axis,) = self._axis_const(ins[2], len(shape))
        if -1 in sizes:
            sizes[sizes.index(-1)] = shape[axis] - (sum(sizes) + 1)
        self.set_many(outs, self.call(torch.split, self.value(ins[0]), sizes, axis))

    def op_tile(self, k, op, ins, outs):
        multiples = tuple(int(m) for m in self.const(ins[1]).reshape(-1))
        self.set(outs[0], self.call(torch.Tensor.repeat, self.value(ins[0]), multiples))

    def op_transpose(self, k, op, ins, outs):
        perm = tuple(self._axis_const(ins[1], len(self.shape(ins[0]))))
        self.set(outs[0], self.call(torch.permute, self.value(ins[0]), perm))

    def op_strided_slice(self, k, op, ins, outs):
        opts = _options(op, "StridedSliceOptions")
        begin, end, strides = (self.const(i).reshape(-1) for i in ins[1:4])
        masks = {}
        if opts is not None:
            masks = {"begin_mask": opts.BeginMask(), "end_mask": opts.EndMask(),
                     "ellipsis_mask": opts.EllipsisMask(), "new_axis_mask": opts.NewAxisMask(),
                     "shrink_axis_mask": opts.ShrinkAxisMask(), "offset": bool(opts.Offset())}
        new_axes, flips, index = strided_slice_plan(self.shape(ins[0]), begin, end, strides,
                                                    **masks)
        x = self.value(ins[0])
        for axis in new_axes:
            x = self.call(torch.unsqueeze, x, axis)
        if flips:
            x = self.call(torch.flip, x, flips)
        if any(s != slice(None) for s in index):
            x = self.call(operator.getitem, x, index)
        self.set(outs[0], x)

    def op_slice(self, k, op, ins, outs):
        shape = self.shape(ins[0])
        begin, size = (self.const(i).reshape(-1) for i in ins[1:3])
        index = []
        for n, b, s in zip(shape, begin, size, strict=True):
            stop = n if s == -1 else int(b) + int(s)
            index.append(slice(None) if (b, stop) == (0, n) else slice(int(b), stop))
        self.set(outs[0], self.call(operator.getitem, self.value(ins[0]), tuple(index)))

    def op_gather(self, k, op, ins, outs):
        opts = _options(op, "GatherOptions")
        if opts is not None and opts.BatchDims():
            raise InputError(f"{self._op}: GATHER with batch_dims is not supported")
        axis = (opts.Axis() if opts is not None else 0) % len(self.shape(ins[0]))
        index = (slice(None),) * axis + (self.value(ins[1]),)
        self.set(outs[0], self.call(operator.getitem, self.value(ins[0]), index))

    def op_gather_nd(self, k, op, ins, outs):
        self.set(outs[0], self.call(gather_nd, self.value(ins[0]), self.value(ins[1])))

    def op_topk_v2(self, k, op, ins, outs):
        count = int(self.const(ins[1]).reshape(-1)[0])
        node = self.call(topk_sorted, self.value(ins[0]), count, self.dtype(outs[1]))
        self.set_many(outs, node)

    def _arg(self, fn, ins, outs):
        (axis,) = self._axis_const(ins[1], len(self.shape(ins[0])))
        node = self.call(fn, self.value(ins[0]), axis)  # the first extreme, as LiteRT
        self.set(outs[0], self.call(torch.Tensor.to, node, self.dtype(outs[0])))

    def op_arg_max(self, k, op, ins, outs):
        self._arg(torch.argmax, ins, outs)

    def op_arg_min(self, k, op, ins, outs):
        self._arg(torch.argmin, ins, outs)

    def _reduce(self, name, op, ins, outs):
        rank = len(self.shape(ins[0]))
        axes = tuple(sorted(set(self._axis_const(ins[1], rank))))
        opts = _options(op, "ReducerOptions")
        keep = bool(opts is not None and opts.KeepDims())
        x = self.value(ins[0])
        if not axes:  # TFLite reduces over nothing: the input unchanged
            self.set(outs[0], x)
            return
        if name == "SUM":  # in the input's dtype (torch widens integer sums to int64)
            node = self.call(torch.sum, x, axes, keep, dtype=self.dtype(ins[0]))
        elif name == "MEAN":
            if not self.dtype(ins[0]).is_floating_point:
                raise InputError(f"{self._op}: MEAN of integers is not supported")
            node = self.call(torch.mean, x, axes, keep)
        elif name == "REDUCE_PROD":
            node = self.call(reduce_prod, x, axes, keep)
        else:
            node = self.call(torch.amax if name == "REDUCE_MAX" else torch.amin, x, axes, keep)
        self.set(outs[0], node)

    def op_pad(self, k, op, ins, outs, value: float = 0.0):
        pads = self.const(ins[1]).reshape(-1, 2).astype(int)
        if pads[0].any():
            raise InputError("PAD on the batch dimension is not supported")
        if len(self.shape(ins[0])) == 4 and self.layout(ins[0]) == "nchw":
            (h0, h1), (w0, w1), (c0, c1) = pads[1], pads[2], pads[3]
            spec = (int(w0), int(w1), int(h0), int(h1), int(c0), int(c1))
            layout = "nchw"
        else:
            spec = tuple(int(v) for pair in pads[::-1] for v in pair)
            layout = "plain"
        kwargs = {"value": value} if value else {}
        node = self.call(F.pad, self.value(ins[0], layout), spec, **kwargs)
        self.set(outs[0], node, layout)

    def op_padv2(self, k, op, ins, outs):
        value = float(self.const(ins[2]).reshape(-1)[0]) if len(ins) > 2 and ins[2] >= 0 else 0.0
        self.op_pad(k, op, ins, outs, value)

    def op_concatenation(self, k, op, ins, outs):
        opts = _options(op, "ConcatenationOptions")
        rank = len(self.shape(ins[0]))
        axis = opts.Axis() % rank
        if axis == 0:
            self.batch_free = False
        layout = "plain"
        if rank == 4 and any(self.layout(i) == "nchw" for i in ins):
            layout, axis = "nchw", (0, 2, 3, 1)[axis]
        node = self.call(torch.cat, [self.value(i, layout) for i in ins], dim=axis)
        self.set(outs[0], self._fused_activation(node, _fused(opts)), layout)


class TFLiteModule(nn.Module):
    """A converted TFLite graph. ``forward(x (B, H, W, C)) -> tuple of outputs``.

    Attributes:
        input_shape: (H, W, C) the graph was built for.
        input_dtype: the numpy dtype ``x`` must have (the model's: float32, uint8...).
        output_names: TFLite names of the returned outputs, in order.
        batch_free: whether ``x`` may have any batch size B; where False, B must be the
            model's own batch (1): run items one at a time.
    """

    def __init__(self, graph_module: torch.fx.GraphModule, input_shape, output_names,
                 input_dtype=np.float32, batch_free: bool = True):
        super().__init__()
        self.graph_module = graph_module
        self.input_shape = tuple(input_shape)
        self.input_dtype = np.dtype(input_dtype)
        self.output_names = tuple(output_names)
        self.batch_free = batch_free

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.graph_module(x)


def _read_model(path: str | Path):
    import tflite

    buf = Path(path).read_bytes()
    try:
        if not tflite.Model.ModelBufferHasIdentifier(buf, 0):
            raise InputError(f"{path}: not a TFLite flatbuffer")
        model = tflite.Model.GetRootAsModel(buf, 0)
        if model.SubgraphsLength() != 1:
            raise InputError(f"{path}: expected one subgraph, got {model.SubgraphsLength()}")
        sub = model.Subgraphs(0)
        n_inputs = sub.InputsLength()
    except InputError:
        raise
    except (IndexError, ValueError) as exc:  # a truncated or foreign flatbuffer
        raise InputError(f"{path}: not a readable TFLite model ({exc})") from None
    if n_inputs != 1:
        raise InputError(f"{path}: expected one input, got {n_inputs}")
    return model, sub


def _signature(sub) -> tuple[int, tuple[int, ...], type | None]:
    index = int(sub.InputsAsNumpy()[0])
    t = sub.Tensors(index)
    dims = t.ShapeSignatureAsNumpy() if t.ShapeSignatureLength() else t.ShapeAsNumpy()
    shape = tuple(int(s) for s in dims) if t.ShapeLength() else ()
    return index, shape, _NUMPY_TYPES.get(t.Type())


def input_signature(path: str | Path) -> tuple[tuple[int, ...], np.dtype]:
    """The model input's shape signature (batch first, -1 where dynamic) and numpy dtype."""
    _, sub = _read_model(path)
    _, shape, dtype = _signature(sub)
    if dtype is None:
        raise InputError(f"{path}: unsupported input type")
    return shape, np.dtype(dtype)


def load_tflite(path: str | Path, outputs: list[int] | None = None,
                input_shape: tuple[int, ...] | None = None) -> TFLiteModule:
    """Convert a float TFLite model into a static PyTorch module for one input shape.

    Args:
        path: the ``.tflite`` file (one subgraph, one input, builtin ops only).
        outputs: indices of the graph outputs to keep (default: all, in TFLite order);
            ops that feed only dropped outputs are removed from the module.
        input_shape: (H, W, C), the input's shape without the batch; fixes the dynamic
            dimensions of a model such as MoveNet's ``(1, -1, -1, 3)``. Default: the
            model's own static shape.

    Returns:
        A module taking NHWC ``(B, H, W, C)`` in the model's input dtype (``input_dtype``)
        and returning the chosen outputs in TFLite layout and dtype, batch-first. Weights
        are float32, in channels_last memory format.

    Raises:
        InputError: the file is not a TFLite model, uses an unsupported op, or
            ``input_shape`` is missing (a dynamic model) or disagrees with the model.
    """
    model, sub = _read_model(path)
    inp, signature, dtype = _signature(sub)
    if dtype is None:
        raise InputError(f"{path}: unsupported input type {sub.Tensors(inp).Type()}")
    fixed = signature[1:]
    if input_shape is None:
        if any(s < 0 for s in fixed):
            raise InputError(f"{path}: the input shape {signature} is dynamic; pass "
                             "input_shape=(H, W, C) to build the module for one size")
        input_shape = fixed
    input_shape = tuple(int(s) for s in input_shape)
    if len(input_shape) != len(fixed) or any(
            s <= 0 or (f >= 0 and s != f) for s, f in zip(input_shape, fixed, strict=True)):
        raise InputError(f"{path}: input_shape {input_shape} does not fit the model's input "
                         f"{signature} (without the batch)")
    batch = signature[0] if signature and signature[0] > 0 else 1
    builder = _Builder(model, sub, _op_names())
    gm = builder.build(outputs, (batch, *input_shape), _TORCH_TYPES[dtype])
    gm = gm.to(memory_format=torch.channels_last).eval()
    for p in gm.parameters():
        p.requires_grad_(False)
    names = [builder.tensors[int(i)].name for i in sub.OutputsAsNumpy()]
    if outputs is not None:
        names = [names[j] for j in outputs]
    return TFLiteModule(gm, input_shape, names, dtype, builder.batch_free)
