"""Model runners: the converted torch module or LiteRT, behind one call signature.

A runner takes an NHWC batch ``(B, H, W, C)`` as numpy, in the model's input dtype (float32
for BlazePose, uint8 for MoveNet), and returns the model's chosen outputs as numpy arrays,
batch-first, in TFLite order and layout. H and W may be any size the model allows: a model
with a dynamic input (MoveNet's ``(1, -1, -1, 3)``) runs at the size of each batch. Both
backends serve the same :class:`~mocap.perception.landmarks.PoseEngine`; parity tests hold
them to the same bounds.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from mocap.errors import InputError, MocapError

if TYPE_CHECKING:  # torch is imported only when a torch runner is made
    from mocap.perception.engine.tflite import TFLiteModule

BACKENDS = ("auto", "torch", "litert")
DEVICES = ("auto", "cpu", "cuda", "mps")


class ModelRunner(Protocol):
    """Runs one model on a batch. ``__call__(x (B,H,W,C)) -> list of outputs``.

    ``input_shape`` is the model's (H, W, C), -1 where the model takes any size.
    """

    input_shape: tuple[int, int, int]

    def __call__(self, x: np.ndarray) -> list[np.ndarray]: ...


def litert_available() -> bool:
    try:
        import ai_edge_litert.interpreter  # noqa: F401
    except ImportError:
        return False
    return True


#: Device nodes of the GPUs torch can use (NVIDIA, AMD ROCm, WSL's GPU).
GPU_NODES = ("/dev/nvidia0", "/dev/nvidiactl", "/dev/kfd", "/dev/dxg")


def might_have_gpu() -> bool:
    """Whether this machine could have a GPU torch would use: a GPU device node, or an
    Apple-silicon Mac. False means certainly none, known without importing torch (seconds
    of start-up on a small machine, for a CPU run that never uses it)."""
    import platform

    if platform.system() == "Darwin" and platform.machine() == "arm64":
        return True
    return any(os.path.exists(node) for node in GPU_NODES)


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` or ``mps`` when torch sees one, else ``cpu``."""
    if device not in DEVICES:
        raise MocapError(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")
    if device == "cpu" or (device == "auto" and not might_have_gpu()):
        return "cpu"
    import torch

    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise MocapError("--device cuda: torch sees no CUDA GPU (use --device cpu)")
    if device == "mps" and not (
        getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
    ):
        raise MocapError("--device mps: torch sees no Apple GPU (use --device cpu)")
    return device


def resolve_backend(backend: str, device: str) -> str:
    """``auto`` -> torch on a GPU; on a CPU LiteRT (XNNPACK) when installed, else torch."""
    if backend not in BACKENDS:
        raise MocapError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "litert":
        if not litert_available():
            raise MocapError(
                "--backend litert needs the LiteRT runtime: pip install 'mocap[litert]'")
        if device != "cpu":
            raise MocapError("--backend litert runs on the CPU only (use --device cpu)")
        return backend
    if backend == "auto":
        return "litert" if device == "cpu" and litert_available() else "torch"
    return backend


def _check_size(path, signature: tuple[int, ...], size: tuple[int, ...]) -> None:
    if len(size) != len(signature) or any(
            s <= 0 or (f >= 0 and s != f) for s, f in zip(size, signature, strict=True)):
        raise InputError(f"{Path(path).name} takes inputs of (B, {', '.join(map(str, signature))})"
                         f" (-1: any size), got (B, {', '.join(map(str, size))})")


class TorchRunner:
    """The converted module (``mocap.perception.engine.load_tflite``) on a torch device.

    One module per input size: a model with a static input builds its module here; a
    dynamic one builds (and keeps) a module the first time it sees a size.

    Args:
        path: the ``.tflite`` file.
        outputs: graph outputs to keep (others are pruned from the module).
        device: a torch device string (``cpu``, ``cuda``, ``mps``).
        compile: wrap in ``torch.compile`` with inductor weight freezing; pays 5-20 s per
            batch size (and input size) on first use, worth it for long videos and batch jobs.

    Attributes:
        input_shape: the model's (H, W, C), -1 where it takes any size.
        input_dtype: the numpy dtype inputs are passed in (the model's own).
        modules: the modules built so far, by (H, W, C); each holds its own weights, so a
            caller should keep to a few sizes.
    """

    def __init__(self, path: str | Path, outputs: list[int] | None = None, device: str = "cpu",
                 compile: bool = False):
        import torch

        from mocap.perception.engine.tflite import input_signature

        self._torch = torch
        self.device = torch.device(device)
        self._path, self._outputs, self._compile = path, outputs, compile
        signature, self.input_dtype = input_signature(path)
        self.input_shape = tuple(signature[1:])
        self.modules: dict[tuple[int, ...], TFLiteModule] = {}
        self._fns: dict[tuple[int, ...], object] = {}  # the same, compiled where asked
        self.module: TFLiteModule | None = None  # the first size's
        if all(s > 0 for s in self.input_shape):
            self._build(self.input_shape)

    def _build(self, size: tuple[int, ...]):
        from mocap.perception.engine.tflite import load_tflite

        _check_size(self._path, self.input_shape, size)
        module = load_tflite(self._path, self._outputs, input_shape=size).to(self.device)
        if self.module is None:
            self.module = module
        self.modules[size] = module
        fn = module
        if self._compile:
            import torch._inductor.config as inductor_config

            inductor_config.freezing = True
            fn = self._torch.compile(module, dynamic=False)
        self._fns[size] = fn
        return fn

    def __call__(self, x: np.ndarray) -> list[np.ndarray]:
        torch = self._torch
        size = tuple(x.shape[1:])
        fn = self._fns.get(size)
        if fn is None:
            fn = self._build(size)
        with torch.inference_mode():
            t = torch.from_numpy(np.ascontiguousarray(x, self.input_dtype)).to(self.device)
            if self.modules[size].batch_free or len(t) == 1:
                out = fn(t)
            elif not len(t):  # the outputs' shapes, from an item of zeros
                out = [o[:0] for o in fn(torch.zeros((1, *size), dtype=t.dtype,
                                                     device=self.device))]
            else:  # a graph that mixes the batch with other axes: one item at a time
                items = [fn(t[i:i + 1]) for i in range(len(t))]
                out = [torch.cat(parts) for parts in zip(*items, strict=True)]
            return [(o.float() if o.is_floating_point() else o).cpu().numpy() for o in out]


class LiteRTRunner:
    """LiteRT's interpreter, one image at a time (the graphs' RESHAPEs fix batch 1).

    A model with a dynamic input is resized (``resize_tensor_input`` + ``allocate_tensors``)
    whenever an input's size differs from the last one's.

    Args:
        path: the ``.tflite`` file.
        outputs: graph outputs to return, in TFLite output order.
        threads: interpreter threads.
        reference: use the reference kernels without XNNPACK
            (``OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES``); for parity tests.

    Attributes:
        input_shape: the model's (H, W, C), -1 where it takes any size.
        input_dtype: the numpy dtype inputs are passed in (the model's own).
    """

    def __init__(self, path: str | Path, outputs: list[int] | None = None,
                 threads: int | None = None, reference: bool = False):
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        kwargs = {"model_path": str(path), "num_threads": threads or os.cpu_count() or 1}
        if reference:
            kwargs["experimental_op_resolver_type"] = (
                OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        with _native_stderr_silenced():  # LiteRT prints an INFO line per delegate
            self.interpreter = Interpreter(**kwargs)
            self.interpreter.allocate_tensors()
        self._path = path
        inp = self.interpreter.get_input_details()[0]
        self._input = inp["index"]
        self.input_dtype = np.dtype(inp["dtype"])
        signature = inp["shape_signature"] if len(inp["shape_signature"]) else inp["shape"]
        self.input_shape = tuple(int(s) for s in signature[1:])
        self._size = tuple(int(s) for s in inp["shape"][1:])  # what is allocated now
        # get_output_details() follows the subgraph's output order (checked by the tests).
        details = self.interpreter.get_output_details()
        chosen = range(len(details)) if outputs is None else outputs
        self._outputs = [details[j]["index"] for j in chosen]
        self._output_dtypes = [np.dtype(details[j]["dtype"]) for j in chosen]

    def _resize(self, size: tuple[int, ...]) -> None:
        _check_size(self._path, self.input_shape, size)
        self.interpreter.resize_tensor_input(self._input, [1, *size])
        self.interpreter.allocate_tensors()
        self._size = size

    def __call__(self, x: np.ndarray) -> list[np.ndarray]:
        x = np.ascontiguousarray(x, self.input_dtype)
        if tuple(x.shape[1:]) != self._size:
            self._resize(tuple(x.shape[1:]))
        results: list[list[np.ndarray]] = [[] for _ in self._outputs]
        for item in x:
            self.interpreter.set_tensor(self._input, item[None])
            self.interpreter.invoke()
            for slot, index in zip(results, self._outputs, strict=True):
                slot.append(self.interpreter.get_tensor(index)[0].copy())
        if not len(x):
            return [np.zeros((0, *self.interpreter.get_tensor(i).shape[1:]), dtype)
                    for i, dtype in zip(self._outputs, self._output_dtypes, strict=True)]
        return [np.stack(r) for r in results]


@contextlib.contextmanager
def _native_stderr_silenced():
    """Point file descriptor 2 at /dev/null for a moment (C++ logging bypasses Python)."""
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def make_runner(path: str | Path, outputs: list[int] | None, backend: str, device: str,
                threads: int | None = None, compile: bool = False) -> ModelRunner:
    """A runner for ``backend`` (already resolved: ``torch`` or ``litert``)."""
    if backend == "litert":
        return LiteRTRunner(path, outputs, threads)
    return TorchRunner(path, outputs, device, compile)
