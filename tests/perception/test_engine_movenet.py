"""MoveNet MultiPose through the converter, and the ops it added, against LiteRT.

MoveNet's graph is mostly post-processing (SHAPE arithmetic, TOPK_V2, GATHER_ND, ARG_MAX,
STRIDED_SLICE...) on a dynamic ``(1, -1, -1, 3)`` uint8 input. The torch module built for
one input size must match LiteRT's reference kernels (``BUILTIN_WITHOUT_DEFAULT_DELEGATES``)
per person: scores and normalised coordinates within the larger of what LiteRT's own
XNNPACK path differs and a fixed bound. Single ops, on small models written here, must
match the reference kernels exactly where they index, count or compare (floats within 1e-6).
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch

from mocap.errors import InputError
from mocap.perception.engine.tflite import load_tflite, strided_slice_plan

pytest.importorskip("ai_edge_litert", reason="parity tests need ai-edge-litert (test extra)")

from mocap.perception.engine.runtime import LiteRTRunner, TorchRunner

SIZES = [(256, 256), (224, 384), (288, 512)]  # H x W, multiples of 32
N_FRAMES = 3
MIN_SCORE = 0.1  # people compared
SCORE_BOUND = 2e-3  # person and keypoint scores
COORD_BOUND = 2e-3  # keypoint and box coordinates, normalised to the input


# --- a writer of small TFLite models ---------------------------------------------------
TFLITE_TYPES = {np.float32: 0, np.int32: 2, np.uint8: 3, np.int64: 4, np.bool_: 6}


def schema_module(name: str):
    # ``tflite`` re-exports each table's class under the module's name: import the module.
    return importlib.import_module(f"tflite.{name}")


def int_vector(b, values) -> int:
    return b.CreateNumpyVector(np.asarray(values, np.int32))


def write_model(path, tensors, ops, inputs=(0,), outputs=None):
    """Write a one-subgraph TFLite model.

    Args:
        path: where to write it.
        tensors: per tensor ``(shape, numpy dtype, data or None)``; a shape may hold -1
            (stored as 1, with the -1 in the shape signature).
        ops: per operator ``(builtin name, input tensors, output tensors, options)``, where
            options is None or ``(options table name, {field: value})``.
        inputs: the graph's input tensors.
        outputs: the graph's outputs (default: the last op's).
    """
    import flatbuffers
    import tflite

    b = flatbuffers.Builder(1024)
    buffers = [None] + [data for _, _, data in tensors if data is not None]
    buffer_offsets = []
    for data in buffers:
        vec = None
        if data is not None:
            vec = b.CreateNumpyVector(np.frombuffer(np.ascontiguousarray(data).tobytes(),
                                                    np.uint8))
        m = schema_module("Buffer")
        m.Start(b)
        if vec is not None:
            m.AddData(b, vec)
        buffer_offsets.append(m.End(b))
    tensor_offsets, next_buffer = [], 1
    for k, (shape, dtype, data) in enumerate(tensors):
        name = b.CreateString(f"t{k}")
        stored = int_vector(b, [max(s, 1) for s in shape])
        signature = int_vector(b, shape) if any(s < 0 for s in shape) else None
        m = schema_module("Tensor")
        m.Start(b)
        m.AddName(b, name)
        m.AddShape(b, stored)
        if signature is not None:
            m.AddShapeSignature(b, signature)
        m.AddType(b, TFLITE_TYPES[np.dtype(dtype).type])
        if data is not None:
            m.AddBuffer(b, next_buffer)
            next_buffer += 1
        tensor_offsets.append(m.End(b))
    names = sorted({op[0] for op in ops})
    code_offsets = []
    for name in names:
        code = getattr(tflite.BuiltinOperator, name)
        m = schema_module("OperatorCode")
        m.Start(b)
        m.AddDeprecatedBuiltinCode(b, min(code, 127))  # 127: see builtin_code
        m.AddBuiltinCode(b, code)
        m.AddVersion(b, 1)
        code_offsets.append(m.End(b))
    op_offsets = []
    for name, ins, outs, options in ops:
        opts = None
        if options is not None:
            table, fields = options
            m = schema_module(table)
            m.Start(b)
            for field, value in fields.items():
                getattr(m, f"Add{field}")(b, value)
            opts = m.End(b)
        ins_vec, outs_vec = int_vector(b, ins), int_vector(b, outs)
        m = schema_module("Operator")
        m.Start(b)
        m.AddOpcodeIndex(b, names.index(name))
        m.AddInputs(b, ins_vec)
        m.AddOutputs(b, outs_vec)
        if opts is not None:
            m.AddBuiltinOptionsType(b, getattr(tflite.BuiltinOptions, options[0]))
            m.AddBuiltinOptions(b, opts)
        op_offsets.append(m.End(b))

    def table_vector(offsets):
        b.StartVector(4, len(offsets), 4)
        for off in reversed(offsets):
            b.PrependUOffsetTRelative(off)
        return b.EndVector()

    t_vec, o_vec = table_vector(tensor_offsets), table_vector(op_offsets)
    in_vec = int_vector(b, inputs)
    out_vec = int_vector(b, ops[-1][2] if outputs is None else outputs)
    m = schema_module("SubGraph")
    m.Start(b)
    m.AddTensors(b, t_vec)
    m.AddInputs(b, in_vec)
    m.AddOutputs(b, out_vec)
    m.AddOperators(b, o_vec)
    sub = m.End(b)
    subs, codes, bufs = table_vector([sub]), table_vector(code_offsets), table_vector(
        buffer_offsets)
    m = schema_module("Model")
    m.Start(b)
    m.AddVersion(b, 3)
    m.AddOperatorCodes(b, codes)
    m.AddSubgraphs(b, subs)
    m.AddBuffers(b, bufs)
    b.Finish(m.End(b), file_identifier=b"TFL3")
    path.write_bytes(b.Output())
    return path


def reference_outputs(path, x: np.ndarray) -> list[np.ndarray]:
    """LiteRT's reference kernels on ``x``, the whole input tensor (not item by item)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(
        model_path=str(path), num_threads=1,
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    inp = interpreter.get_input_details()[0]
    if tuple(inp["shape"]) != x.shape:
        interpreter.resize_tensor_input(inp["index"], list(x.shape))
    interpreter.allocate_tensors()
    interpreter.set_tensor(inp["index"], x)
    interpreter.invoke()
    return [interpreter.get_tensor(d["index"]).copy()
            for d in interpreter.get_output_details()]


def assert_matches_reference(path, x: np.ndarray, atol: float = 0.0) -> list:
    """The module built for ``x``'s shape gives LiteRT's outputs: dtypes, shapes and values
    (exactly; float outputs within ``atol``). Returns the module's outputs."""
    module = load_tflite(path, input_shape=x.shape[1:])
    with torch.inference_mode():
        got = [o.numpy() for o in module(torch.from_numpy(x))]
    ref = reference_outputs(path, x)
    assert len(got) == len(ref)
    for k, (g, r) in enumerate(zip(got, ref, strict=True)):
        assert g.dtype == r.dtype and g.shape == r.shape, (k, g.dtype, r.dtype, g.shape, r.shape)
        if atol and np.issubdtype(r.dtype, np.floating):
            np.testing.assert_allclose(g, r, rtol=0, atol=atol, err_msg=f"output {k}")
        else:
            np.testing.assert_array_equal(g, r, err_msg=f"output {k}")
    return got


# --- single ops against the reference kernels -----------------------------------------
@pytest.mark.parametrize(("begin", "end", "strides", "masks"), [
    ([0, 1, -1], [0, 3, 0], [1, 1, -1], {"BeginMask": 0b001, "EndMask": 0b101}),
    ([1, -1], [2, 0], [1, 1], {"ShrinkAxisMask": 0b10}),
    ([0, 1], [0, 4], [1, 2], {"EllipsisMask": 0b01}),
    ([1, 0, 0], [2, 0, 2], [1, 1, 1], {"NewAxisMask": 0b010}),
    ([-1, 2, 3], [-3, 0, 0], [-1, -2, 1], {"EndMask": 0b100, "ShrinkAxisMask": 0b100}),
    ([1, 5, -9], [0, 9, 9], [1, 1, 1], {"BeginMask": 0b001, "EndMask": 0b001}),
])
def test_strided_slice_matches_litert(tmp_path, begin, end, strides, masks):
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    n = len(begin)
    tensors = [(x.shape, np.float32, None),
               ((n,), np.int32, np.array(begin, np.int32)),
               ((n,), np.int32, np.array(end, np.int32)),
               ((n,), np.int32, np.array(strides, np.int32)),
               ((1,), np.float32, None)]
    ops = [("STRIDED_SLICE", [0, 1, 2, 3], [4], ("StridedSliceOptions", masks))]
    assert_matches_reference(write_model(tmp_path / "m.tflite", tensors, ops), x)


def test_strided_slice_plan_reads_like_python_indexing():
    x = np.arange(24).reshape(2, 3, 4)
    new_axes, flips, index = strided_slice_plan(
        x.shape, [1, 0, -1], [2, 0, 0], [1, 1, -2], end_mask=0b110, shrink_axis_mask=0b001)
    assert new_axes == () and flips == (2,)
    np.testing.assert_array_equal(np.flip(x, flips)[index], x[1, :, ::-2])
    # offset: end counts from begin (LiteRT 2.3's interpreter refuses such models, so this
    # is checked against the definition only)
    new_axes, flips, index = strided_slice_plan(x.shape, [0, 1], [2, 2], [1, 1], offset=True)
    np.testing.assert_array_equal(x[index], x[0:2, 1:3])
    new_axes, flips, index = strided_slice_plan(x.shape, [0, -1], [0, 0], [1, 1],
                                                end_mask=0b10, new_axis_mask=0b01)
    assert new_axes == (0,)
    np.testing.assert_array_equal(x[None][index], x[None, -1:])


@pytest.mark.parametrize("name", ["FLOOR_DIV", "DIV"])
def test_integer_division_matches_litert(tmp_path, name):
    a = np.array([7, -7, 7, -7, 0, 9], np.int32)
    b = np.array([2, 2, -2, -2, 3, -4], np.int32)
    tensors = [((6,), np.int32, None), ((6,), np.int32, b), ((6,), np.int32, None)]
    opts = ("DivOptions", {}) if name == "DIV" else None
    (got,) = assert_matches_reference(
        write_model(tmp_path / "m.tflite", tensors, [(name, [0, 1], [2], opts)]), a)
    expected = a // b if name == "FLOOR_DIV" else np.trunc(a / b).astype(np.int32)
    np.testing.assert_array_equal(got, expected)


def test_topk_breaks_ties_by_index_and_keeps_int32(tmp_path):
    x = np.array([[3, 1, 3, 2, 3, 1, 0, 2]], np.float32)
    tensors = [(x.shape, np.float32, None), ((), np.int32, np.array(5, np.int32)),
               ((1, 5), np.float32, None), ((1, 5), np.int32, None)]
    path = write_model(tmp_path / "m.tflite", tensors, [("TOPK_V2", [0, 1], [2, 3], None)])
    values, indices = assert_matches_reference(path, x)
    np.testing.assert_array_equal(indices, [[0, 2, 4, 3, 7]])
    np.testing.assert_array_equal(values, [[3, 3, 3, 2, 2]])


def test_argmax_gather_nd_select_and_cast_match_litert(tmp_path):
    x = np.array([[1, 5, 5, 0], [7, 7, 2, 7], [0, 1, 2, 3]], np.float32)
    tensors = [
        (x.shape, np.float32, None),  # 0: x
        ((), np.int32, np.array(1, np.int32)),  # 1: axis
        ((3,), np.int64, None),  # 2: argmax, int64 as asked
        ((2, 2), np.int32, np.array([[0, 1], [2, 3]], np.int32)),  # 3: gather_nd indices
        ((2,), np.float32, None),  # 4: gathered
        ((3,), np.bool_, np.array([True, False, True])),  # 5: a rank-1 condition
        (x.shape, np.float32, np.full(x.shape, -1, np.float32)),  # 6: else
        (x.shape, np.float32, None),  # 7: rows of x or of else
        ((3,), np.int32, None),  # 8: argmax as int32
    ]
    ops = [("ARG_MAX", [0, 1], [2], ("ArgMaxOptions", {"OutputType": 4})),
           ("GATHER_ND", [0, 3], [4], None),
           ("SELECT", [5, 0, 6], [7], None),
           ("CAST", [2], [8], None)]
    path = write_model(tmp_path / "m.tflite", tensors, ops, outputs=[2, 4, 7, 8])
    argmax, gathered, selected, argmax32 = assert_matches_reference(path, x)
    np.testing.assert_array_equal(gathered, [5, 3])
    np.testing.assert_array_equal(argmax, [1, 0, 3])  # the first of equal maxima
    assert argmax32.dtype == np.int32
    np.testing.assert_array_equal(selected[1], [-1, -1, -1, -1])


def test_range_and_casts_match_litert(tmp_path):
    x = np.linspace(-2.5, 2.5, 7, dtype=np.float32)
    tensors = [
        ((7,), np.float32, None),  # 0: x
        ((), np.float32, np.array(0.1, np.float32)),  # 1: start
        ((), np.float32, np.array(0.75, np.float32)),  # 2: limit
        ((), np.float32, np.array(0.1, np.float32)),  # 3: delta
        ((7,), np.float32, None),  # 4: range(0.1, 0.75, 0.1), folded at load
        ((7,), np.float32, None),  # 5: x + range
        ((7,), np.int32, None),  # 6: truncated to int32
        ((7,), np.bool_, None),  # 7: as bool
    ]
    ops = [("RANGE", [1, 2, 3], [4], None), ("ADD", [0, 4], [5], ("AddOptions", {})),
           ("CAST", [5], [6], None), ("CAST", [6], [7], None)]
    path = write_model(tmp_path / "m.tflite", tensors, ops, outputs=[5, 6, 7])
    _, truncated, _ = assert_matches_reference(path, x)
    assert truncated.min() < 0  # negative values were truncated towards zero


@pytest.mark.parametrize("mode", [{}, {"AlignCorners": True}, {"HalfPixelCenters": True}],
                         ids=["legacy", "align_corners", "half_pixel_centers"])
def test_resize_bilinear_modes_match_litert(tmp_path, mode):
    x = np.random.default_rng(0).random((1, 5, 7, 2), dtype=np.float32)
    tensors = [(x.shape, np.float32, None), ((2,), np.int32, np.array([8, 11], np.int32)),
               ((1, 8, 11, 2), np.float32, None)]
    ops = [("RESIZE_BILINEAR", [0, 1], [2], ("ResizeBilinearOptions", mode))]
    assert_matches_reference(write_model(tmp_path / "m.tflite", tensors, ops), x, atol=1e-6)


def test_more_ops_match_litert(tmp_path):
    """The ops the converter has beyond MoveNet's, each on the same input."""
    x = np.random.default_rng(1).uniform(-2, 2, (2, 3, 4)).astype(np.float32)
    x[0, 0, :2] = [0.5, -0.5]  # rounding at the halves
    tensors = [(x.shape, np.float32, None)]

    def const(value, dtype=np.int32):
        value = np.asarray(value, dtype)
        tensors.append((value.shape, dtype, value))
        return len(tensors) - 1

    def out(dtype, shape):
        tensors.append((shape, dtype, None))  # LiteRT checks some outputs' shapes
        return len(tensors) - 1

    ops = []

    def op(name, ins, options=None, n_out=1, dtype=np.float32, shape=(1, 1, 1)):
        outs = [out(dtype, shape) for _ in range(n_out)]
        ops.append((name, ins, outs, options))
        return outs

    graph_outputs = []
    for name in ("RELU6", "RELU_N1_TO_1", "NEG", "FLOOR", "CEIL", "SQUARE", "TANH", "ABS"):
        graph_outputs += op(name, [0])
    (absolute,) = graph_outputs[-1:]
    for name in ("SQRT", "RSQRT", "LOG"):
        graph_outputs += op(name, [absolute])
    graph_outputs += op("TRANSPOSE", [0, const([2, 0, 1])])
    graph_outputs += op("SLICE", [0, const([1, 0, 1]), const([1, -1, 2])], shape=(1, 3, 2))
    graph_outputs += op("MEAN", [0, const([1, -1])], ("ReducerOptions", {"KeepDims": True}))
    graph_outputs += op("REDUCE_MIN", [0, const([0])], ("ReducerOptions", {}), shape=(1, 1))
    graph_outputs += op("SUM", [0, const(-1)], ("ReducerOptions", {}), shape=(1, 1))
    graph_outputs += op("GATHER", [0, const([2, 0, 2])], ("GatherOptions", {"Axis": 1}))
    graph_outputs += op("SPLIT_V", [0, const([1, -1]), const(2)],
                        ("SplitVOptions", {"NumSplits": 2}), n_out=2)
    graph_outputs += op("PADV2", [0, const([[0, 0], [1, 0], [0, 2]]),
                                  const(7.5, np.float32)])
    graph_outputs += op("ARG_MIN", [0, const(2)], ("ArgMinOptions", {"OutputType": 2}),
                        dtype=np.int32, shape=(1, 1))
    graph_outputs += op("SELECT_V2", [const([True, False, False, True], np.bool_), 0,
                                      const(-9.0, np.float32)], ("SelectV2Options", {}))
    (negative,) = op("LESS_EQUAL", [0, const(0.0, np.float32)], dtype=np.bool_)
    (large,) = op("NOT_EQUAL", [absolute, const(2.0, np.float32)], dtype=np.bool_)
    graph_outputs += op("LOGICAL_OR", [negative, large], dtype=np.bool_)
    graph_outputs += op("LOGICAL_NOT", [negative], dtype=np.bool_)
    path = write_model(tmp_path / "m.tflite", tensors, ops, outputs=graph_outputs)
    got = assert_matches_reference(path, x, atol=1e-6)
    assert len(got) == len(graph_outputs)


# --- errors --------------------------------------------------------------------------
def test_an_unsupported_op_is_a_clear_error_naming_it(tmp_path):
    tensors = [((1, 4), np.float32, None), ((1, 4), np.float32, None)]
    path = write_model(tmp_path / "m.tflite", tensors, [("CUMSUM", [0], [1], None)])
    with pytest.raises(InputError, match=r"unsupported TFLite op CUMSUM \(operator 0\)"):
        load_tflite(path)


def test_a_dynamic_input_needs_input_shape(tmp_path):
    tensors = [((1, -1, -1, 3), np.float32, None), ((1, -1, -1, 3), np.float32, None)]
    path = write_model(tmp_path / "m.tflite", tensors, [("ABS", [0], [1], None)])
    with pytest.raises(InputError, match="dynamic"):
        load_tflite(path)
    with pytest.raises(InputError, match="does not fit"):
        load_tflite(path, input_shape=(8, 8, 4))  # the channels are fixed at 3
    module = load_tflite(path, input_shape=(8, 6, 3))
    assert module.input_shape == (8, 6, 3)
    x = -torch.ones(1, 8, 6, 3)
    with torch.inference_mode():
        np.testing.assert_array_equal(module(x)[0].numpy(), np.ones((1, 8, 6, 3)))


def test_movenet_without_input_shape_is_a_clear_error(movenet_path):
    with pytest.raises(InputError, match=r"dynamic.*input_shape"):
        load_tflite(movenet_path)


def test_runners_follow_a_dynamic_input_and_refuse_other_sizes(tmp_path):
    dynamic = write_model(tmp_path / "d.tflite", [((1, -1, -1, 2), np.uint8, None),
                                                  ((1, -1, -1, 2), np.float32, None)],
                          [("CAST", [0], [1], None)])
    static = write_model(tmp_path / "s.tflite", [((1, 4, 4, 1), np.float32, None),
                                                 ((1, 4, 4, 1), np.float32, None)],
                         [("ABS", [0], [1], None)])
    torch_runner = TorchRunner(dynamic)
    assert torch_runner.modules == {}  # a dynamic model builds on first use
    for runner in (torch_runner, LiteRTRunner(dynamic, threads=1)):
        assert runner.input_shape == (-1, -1, 2) and runner.input_dtype == np.uint8
        for h, w in ((3, 5), (6, 2), (3, 5)):
            x = np.arange(2 * h * w * 2, dtype=np.uint8).reshape(2, h, w, 2)
            (out,) = runner(x)
            assert out.dtype == np.float32
            np.testing.assert_array_equal(out, x.astype(np.float32))
    assert set(torch_runner.modules) == {(3, 5, 2), (6, 2, 2)}
    for runner in (TorchRunner(static), LiteRTRunner(static, threads=1)):
        assert runner.input_shape == (4, 4, 1)
        with pytest.raises(InputError, match=r"takes inputs of \(B, 4, 4, 1\)"):
            runner(np.zeros((1, 5, 4, 1), np.float32))


def test_a_graph_that_mixes_the_batch_runs_item_by_item(tmp_path):
    tensors = [((1, 8), np.float32, None), ((), np.int32, np.array(3, np.int32)),
               ((1, 3), np.float32, None), ((1, 3), np.int32, None)]
    path = write_model(tmp_path / "m.tflite", tensors, [("TOPK_V2", [0, 1], [2, 3], None)])
    assert not load_tflite(path).batch_free  # TOPK_V2 may read across the batch
    x = np.random.default_rng(2).random((4, 8), dtype=np.float32)
    runner, reference = TorchRunner(path), LiteRTRunner(path, threads=1, reference=True)
    for batch in (x, x[:1], x[:0]):
        got, ref = runner(batch), reference(batch)
        for g, r in zip(got, ref, strict=True):
            assert g.dtype == r.dtype and g.shape == (len(batch), 3)
            np.testing.assert_array_equal(g, r)


# --- MoveNet ------------------------------------------------------------------------
def letterbox(image: np.ndarray, h: int, w: int) -> np.ndarray:
    """``image`` (H, W, 3) uint8 -> (1, h, w, 3) uint8, scaled to fit and centred on black."""
    import cv2

    scale = min(h / image.shape[0], w / image.shape[1])
    nh, nw = round(image.shape[0] * scale), round(image.shape[1] * scale)
    out = np.zeros((1, h, w, 3), np.uint8)
    top, left = (h - nh) // 2, (w - nw) // 2
    out[0, top:top + nh, left:left + nw] = cv2.resize(image, (nw, nh),
                                                      interpolation=cv2.INTER_AREA)
    return out


@pytest.fixture(scope="module")
def demo_frames(demo_video_path) -> list[np.ndarray]:
    """A few RGB frames spread over the demo video."""
    import cv2

    cap = cv2.VideoCapture(str(demo_video_path))
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    frames = []
    for idx in np.linspace(count * 0.2, count * 0.8, N_FRAMES).astype(int):
        cap.set(cv2.CAP_PROP_POS_FRAMES, int(idx))
        ok, frame = cap.read()
        assert ok, f"cannot read frame {idx} of {demo_video_path}"
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    cap.release()
    return frames


@pytest.fixture(scope="module")
def movenet_runners(movenet_path):
    return {
        "reference": LiteRTRunner(movenet_path, reference=True),
        "xnnpack": LiteRTRunner(movenet_path, threads=2),
        "torch": TorchRunner(movenet_path),
    }


def person_diffs(ref: np.ndarray, got: np.ndarray) -> tuple[float, float]:
    """Largest (score, coordinate) difference over the people either side finds.

    Each person scoring above MIN_SCORE on one side is matched to the other side's row
    nearest in coordinates (rows of near-equal centre scores may swap places).

    Args:
        ref, got: (6, 56) MoveNet outputs.
    """
    def split(out):
        kp = out[:, :51].reshape(-1, 17, 3)
        coords = np.concatenate([kp[..., :2].reshape(len(out), -1), out[:, 51:55]], axis=1)
        scores = np.concatenate([kp[..., 2], out[:, 55:56]], axis=1)
        return coords, scores

    score_diff = coord_diff = 0.0
    for a, b in ((ref, got), (got, ref)):
        (ca, sa), (cb, sb) = split(a), split(b)
        for i in np.flatnonzero(a[:, 55] > MIN_SCORE):
            d = np.abs(cb - ca[i]).max(axis=1)
            j = int(np.argmin(d))
            coord_diff = max(coord_diff, float(d[j]))
            score_diff = max(score_diff, float(np.abs(sb[j] - sa[i]).max()))
    return score_diff, coord_diff


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["torch", "xnnpack"])
@pytest.mark.parametrize("size", SIZES, ids=[f"{h}x{w}" for h, w in SIZES])
def test_movenet_parity_real(movenet_runners, demo_frames, size, backend):
    people = 0
    for frame in demo_frames:
        x = letterbox(frame, *size)
        (ref,) = movenet_runners["reference"](x)
        (xnn,) = movenet_runners["xnnpack"](x)
        (got,) = movenet_runners[backend](x)
        assert got.shape == ref.shape == (1, 6, 56) and got.dtype == np.float32
        people += int((ref[0, :, 55] > MIN_SCORE).sum())
        score_diff, coord_diff = person_diffs(ref[0], got[0])
        if backend == "torch":  # no worse than XNNPACK is, nor than the fixed bounds
            xnn_score, xnn_coord = person_diffs(ref[0], xnn[0])
            assert score_diff <= max(xnn_score, SCORE_BOUND), (score_diff, xnn_score)
            assert coord_diff <= max(xnn_coord, COORD_BOUND), (coord_diff, xnn_coord)
        else:  # XNNPACK's own difference, for scale
            assert score_diff <= SCORE_BOUND and coord_diff <= COORD_BOUND, (
                score_diff, coord_diff)
    assert people >= N_FRAMES  # the frames show someone: the comparison is not vacuous
    if backend == "torch":
        assert (*size, 3) in movenet_runners["torch"].modules


@pytest.mark.slow
def test_movenet_module_takes_uint8_and_keeps_its_size(movenet_path, demo_frames):
    module = load_tflite(movenet_path, input_shape=(224, 384, 3))
    assert module.input_shape == (224, 384, 3) and module.input_dtype == np.uint8
    x = torch.from_numpy(letterbox(demo_frames[0], 224, 384))
    with torch.inference_mode():
        (out,) = module(x)
    assert out.shape == (1, 6, 56) and out.dtype == torch.float32
    scores = torch.cat([out[0, :, 2:51:3], out[0, :, 55:]], dim=1)
    assert ((scores >= 0) & (scores <= 1)).all()
    assert (out[0, :, 51:55] >= 0).all() and (out[0, :, 51:55] <= 1).all()  # boxes clamp
