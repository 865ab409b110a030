"""A generic TFLite flatbuffer -> PyTorch converter for float convolutional graphs.

The graph is read once with the ``tflite`` schema package; constant sub-graphs (float16 or
int8 DEQUANTIZE, sparse DENSIFY) are folded into float32 weights at load; every other op
becomes one node of a ``torch.fx`` graph, so the result is a static module whose generated
``forward`` has no interpretation overhead and which ``torch.compile`` can freeze.

Layout: TFLite is NHWC. Inside, 4-D activations are NCHW views with channels_last strides
(a permute of the NHWC input, no copy); ops whose meaning depends on the layout (RESHAPE,
CONCATENATION, PAD, outputs) convert explicitly. The module takes float32 ``(B, H, W, C)``
for any batch size B and returns the graph outputs in TFLite order and layout, each with
batch B (RESHAPE targets that hard-code batch 1 are rewritten to the input's batch).
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.fx
import torch.nn.functional as F
from torch import nn

from mocap.errors import InputError

_ACT_NONE, _ACT_RELU, _ACT_RELU_N1_TO_1, _ACT_RELU6, _ACT_TANH = 0, 1, 2, 3, 4
_PAD_SAME, _PAD_VALID = 0, 1

_NUMPY_TYPES = {
    0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64, 7: np.int16,
    9: np.int8, 10: np.float64,
}


def _op_names() -> dict[int, str]:
    import tflite

    return {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}


@dataclass
class _Tensor:
    name: str
    shape: tuple[int, ...]
    dtype: type
    data: np.ndarray | None  # constant value, or None for activations
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
    import tflite

    opts = getattr(tflite, cls_name)()
    table = op.BuiltinOptions()
    opts.Init(table.Bytes, table.Pos)
    return opts


def same_pad(size: int, k: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    out = -(-size // stride)
    total = max((out - 1) * stride + (k - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def _activation(graph: torch.fx.Graph, node, act: int):
    if act == _ACT_NONE:
        return node
    if act == _ACT_RELU:
        return graph.call_function(F.relu_, (node,))
    if act == _ACT_RELU6:
        return graph.call_function(F.hardtanh_, (node, 0.0, 6.0))
    if act == _ACT_RELU_N1_TO_1:
        return graph.call_function(F.hardtanh_, (node, -1.0, 1.0))
    if act == _ACT_TANH:
        return graph.call_function(torch.tanh, (node,))
    raise InputError(f"unsupported fused activation {act}")


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


class _Builder:
    """Turns the op list of one TFLite subgraph into an fx graph over nn.Conv2d modules."""

    def __init__(self, model, subgraph, opnames: dict[int, str]):
        self.model, self.g, self.opnames = model, subgraph, opnames
        self.tensors = [self._tensor(i) for i in range(subgraph.TensorsLength())]
        self.root = nn.Module()
        self.graph = torch.fx.Graph()
        self.values: dict[int, tuple[object, str]] = {}  # tensor -> (fx node, layout)

    def _tensor(self, i: int) -> _Tensor:
        t = self.g.Tensors(i)
        dtype = _NUMPY_TYPES.get(t.Type())
        buf = self.model.Buffers(t.Buffer())
        data = None
        if buf is not None and buf.DataLength() and dtype is not None:
            data = np.frombuffer(buf.DataAsNumpy().tobytes(), dtype=dtype)
            if t.Sparsity() is None:
                data = data.reshape(tuple(t.ShapeAsNumpy()))
        shape = tuple(int(s) for s in t.ShapeAsNumpy()) if t.ShapeLength() else ()
        return _Tensor(t.Name().decode(), shape, dtype, data, t.Sparsity(), t.Quantization())

    def const(self, i: int) -> np.ndarray:
        t = self.tensors[i]
        if t.data is None:
            raise InputError(f"tensor {t.name} should be constant")
        return t.data

    def value(self, i: int, layout: str):
        node, have = self.values[i]
        if have == layout:
            return node
        fn = _to_nhwc if layout == "plain" else _from_nhwc
        return self.graph.call_function(fn, (node,))

    def add_module(self, name: str, module: nn.Module) -> str:
        self.root.add_module(name, module)
        return name

    def build(self, outputs: list[int] | None) -> torch.fx.GraphModule:
        g = self.graph
        (inp,) = self.g.InputsAsNumpy()
        x = g.placeholder("x")
        self.values[int(inp)] = (g.call_function(_from_nhwc, (x,)), "nchw")
        for k in range(self.g.OperatorsLength()):
            op = self.g.Operators(k)
            code = self.model.OperatorCodes(op.OpcodeIndex())
            name = self.opnames[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())]
            handler = getattr(self, f"op_{name.lower()}", None)
            if handler is None:
                raise InputError(f"unsupported TFLite op {name} (operator {k})")
            handler(k, op, [int(i) for i in op.InputsAsNumpy()],
                    [int(i) for i in op.OutputsAsNumpy()])
        graph_outputs = [int(i) for i in self.g.OutputsAsNumpy()]
        chosen = range(len(graph_outputs)) if outputs is None else outputs
        results = []
        for j in chosen:
            t = graph_outputs[j]
            layout = "plain"
            results.append(self.value(t, layout))
        g.output(tuple(results))
        gm = torch.fx.GraphModule(self.root, g)
        gm.graph.eliminate_dead_code()
        gm.delete_all_unused_submodules()
        gm.recompile()
        return gm

    # --- constant folding -------------------------------------------------------------
    def op_dequantize(self, k, op, ins, outs):
        src = self.tensors[ins[0]]
        if src.data is None:
            self.values[outs[0]] = (self.graph.call_function(
                torch.Tensor.float, (self.value(ins[0], "nchw"),)), "nchw")
            return
        self.tensors[outs[0]].data = _dequantize(src)

    def op_densify(self, k, op, ins, outs):
        src = self.tensors[ins[0]]
        self.tensors[outs[0]].data = densify(src.data, self.tensors[outs[0]].shape, src.sparsity)

    # --- compute ops ----------------------------------------------------------------
    def _conv(self, k, ins, outs, opts, depthwise: bool):
        x_shape = self.tensors[ins[0]].shape
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
                node = self.graph.call_function(F.pad, (node, (pw[0], pw[1], ph[0], ph[1])))
        conv = nn.Conv2d(x_shape[3], out_c, (kh, kw), (sh, sw), pad, (dh, dw), groups,
                         bias=bias is not None)
        with torch.no_grad():
            conv.weight.copy_(torch.from_numpy(weight))
            if bias is not None:
                conv.bias.copy_(torch.from_numpy(bias))
        name = self.add_module(f"conv{k}", conv)
        node = self.graph.call_module(name, (node,))
        node = _activation(self.graph, node, opts.FusedActivationFunction())
        self.values[outs[0]] = (node, "nchw")

    def op_conv_2d(self, k, op, ins, outs):
        self._conv(k, ins, outs, _options(op, "Conv2DOptions"), depthwise=False)

    def op_depthwise_conv_2d(self, k, op, ins, outs):
        self._conv(k, ins, outs, _options(op, "DepthwiseConv2DOptions"), depthwise=True)

    def _layout_of(self, i: int) -> str:
        return "nchw" if len(self.tensors[i].shape) == 4 else "plain"

    def op_add(self, k, op, ins, outs):
        opts = _options(op, "AddOptions")
        layout = self._layout_of(outs[0])
        a, b = (self._operand(i, layout) for i in ins)
        node = self.graph.call_function(operator.add, (a, b))
        node = _activation(self.graph, node, opts.FusedActivationFunction())
        self.values[outs[0]] = (node, layout)

    def _operand(self, i: int, layout: str):
        t = self.tensors[i]
        if t.data is None:
            return self.value(i, layout if len(t.shape) == 4 else "plain")
        data = t.data.astype(np.float32)
        if layout == "nchw" and data.ndim == 4:
            data = data.transpose(0, 3, 1, 2)
        elif layout == "nchw" and data.ndim == 1:
            data = data.reshape(1, -1, 1, 1)
        name = f"const{i}"
        self.root.register_buffer(name, torch.from_numpy(np.ascontiguousarray(data)))
        return self.graph.get_attr(name)

    def op_pad(self, k, op, ins, outs):
        pads = self.const(ins[1]).reshape(-1, 2).astype(int)
        if pads[0].any():
            raise InputError("PAD on the batch dimension is not supported")
        if len(self.tensors[ins[0]].shape) == 4:
            (h0, h1), (w0, w1), (c0, c1) = pads[1], pads[2], pads[3]
            spec = (int(w0), int(w1), int(h0), int(h1), int(c0), int(c1))
            layout = "nchw"
        else:
            spec = tuple(int(v) for pair in pads[::-1] for v in pair)
            layout = "plain"
        node = self.graph.call_function(F.pad, (self.value(ins[0], layout), spec))
        self.values[outs[0]] = (node, layout)

    def op_reshape(self, k, op, ins, outs):
        target = self.tensors[outs[0]].shape
        node = self.value(ins[0], "plain")
        node = self.graph.call_function(torch.reshape, (node, (-1, *target[1:])))
        self.values[outs[0]] = (node, "plain")

    def op_concatenation(self, k, op, ins, outs):
        opts = _options(op, "ConcatenationOptions")
        rank = len(self.tensors[outs[0]].shape)
        axis = opts.Axis() % rank
        layout = "plain"
        if rank == 4:
            layout, axis = "nchw", (0, 2, 3, 1)[axis]
        node = self.graph.call_function(
            torch.cat, ([self._operand(i, layout) for i in ins],), {"dim": axis})
        node = _activation(self.graph, node, opts.FusedActivationFunction())
        self.values[outs[0]] = (node, layout)

    def op_resize_bilinear(self, k, op, ins, outs):
        opts = _options(op, "ResizeBilinearOptions")
        if not (opts.HalfPixelCenters() or opts.AlignCorners()):
            raise InputError("RESIZE_BILINEAR without half_pixel_centers is not supported")
        size = tuple(int(v) for v in self.const(ins[1]))
        node = self.graph.call_function(
            F.interpolate, (self.value(ins[0], "nchw"),),
            {"size": size, "mode": "bilinear", "align_corners": bool(opts.AlignCorners())})
        self.values[outs[0]] = (node, "nchw")

    def op_max_pool_2d(self, k, op, ins, outs):
        opts = _options(op, "Pool2DOptions")
        kh, kw = opts.FilterHeight(), opts.FilterWidth()
        sh, sw = opts.StrideH(), opts.StrideW()
        node = self.value(ins[0], "nchw")
        if opts.Padding() == _PAD_SAME:
            shape = self.tensors[ins[0]].shape
            ph, pw = same_pad(shape[1], kh, sh), same_pad(shape[2], kw, sw)
            if any(ph + pw):
                node = self.graph.call_function(
                    F.pad, (node, (pw[0], pw[1], ph[0], ph[1])), {"value": float("-inf")})
        node = self.graph.call_function(F.max_pool2d, (node, (kh, kw), (sh, sw)))
        node = _activation(self.graph, node, opts.FusedActivationFunction())
        self.values[outs[0]] = (node, "nchw")

    def op_logistic(self, k, op, ins, outs):
        layout = self._layout_of(ins[0])
        node = self.graph.call_function(torch.sigmoid, (self.value(ins[0], layout),))
        self.values[outs[0]] = (node, layout)

    def op_depth_to_space(self, k, op, ins, outs):
        block = _options(op, "DepthToSpaceOptions").BlockSize()
        node = self.graph.call_function(depth_to_space_nchw, (self.value(ins[0], "nchw"), block))
        self.values[outs[0]] = (node, "nchw")


class TFLiteModule(nn.Module):
    """A converted TFLite graph. ``forward(x (B,H,W,C) float32) -> tuple of outputs``.

    Attributes:
        input_shape: (H, W, C) the graph was built for.
        output_names: TFLite names of the returned outputs, in order.
    """

    def __init__(self, graph_module: torch.fx.GraphModule, input_shape, output_names):
        super().__init__()
        self.graph_module = graph_module
        self.input_shape = tuple(input_shape)
        self.output_names = tuple(output_names)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.graph_module(x)


def load_tflite(path: str | Path, outputs: list[int] | None = None) -> TFLiteModule:
    """Convert a float TFLite model into a static PyTorch module.

    Args:
        path: the ``.tflite`` file (one subgraph, builtin ops only).
        outputs: indices of the graph outputs to keep (default: all, in TFLite order);
            ops that feed only dropped outputs are removed from the module.

    Returns:
        A module taking float32 NHWC ``(B, H, W, C)`` and returning the chosen outputs in
        TFLite layout, batch-first. Weights are float32, in channels_last memory format.

    Raises:
        InputError: the file is not a TFLite model or uses an unsupported op.
    """
    import tflite

    buf = Path(path).read_bytes()
    try:
        if not tflite.Model.ModelBufferHasIdentifier(buf, 0):
            raise InputError(f"{path}: not a TFLite flatbuffer")
        model = tflite.Model.GetRootAsModel(buf, 0)
        if model.SubgraphsLength() != 1:
            raise InputError(f"{path}: expected one subgraph, got {model.SubgraphsLength()}")
        sub = model.Subgraphs(0)
    except (IndexError, ValueError) as exc:  # a truncated or foreign flatbuffer
        raise InputError(f"{path}: not a readable TFLite model ({exc})") from None
    builder = _Builder(model, sub, _op_names())
    gm = builder.build(outputs)
    gm = gm.to(memory_format=torch.channels_last).eval()
    for p in gm.parameters():
        p.requires_grad_(False)
    (inp,) = sub.InputsAsNumpy()
    names = [builder.tensors[int(i)].name for i in sub.OutputsAsNumpy()]
    if outputs is not None:
        names = [names[j] for j in outputs]
    return TFLiteModule(gm, builder.tensors[int(inp)].shape[1:], names)
