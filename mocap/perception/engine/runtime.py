"""Model runners: the converted torch module or LiteRT, behind one call signature.

A runner takes a float32 NHWC batch ``(B, H, W, C)`` as numpy and returns the model's chosen
outputs as numpy arrays, batch-first, in TFLite order and layout. Both backends serve the
same :class:`~mocap.perception.landmarks.PoseEngine`; parity tests hold them to the same bounds.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Protocol

import numpy as np

from mocap.errors import MocapError

BACKENDS = ("auto", "torch", "litert")
DEVICES = ("auto", "cpu", "cuda", "mps")


class ModelRunner(Protocol):
    """Runs one model on a batch. ``__call__(x (B,H,W,C) float32) -> list of outputs``."""

    input_shape: tuple[int, int, int]

    def __call__(self, x: np.ndarray) -> list[np.ndarray]: ...


def litert_available() -> bool:
    try:
        import ai_edge_litert.interpreter  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` or ``mps`` when torch sees one, else ``cpu``."""
    import torch

    if device not in DEVICES:
        raise MocapError(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")
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


class TorchRunner:
    """The converted module (``mocap.perception.engine.load_tflite``) on a torch device.

    Args:
        path: the ``.tflite`` file.
        outputs: graph outputs to keep (others are pruned from the module).
        device: a torch device string (``cpu``, ``cuda``, ``mps``).
        compile: wrap in ``torch.compile`` with inductor weight freezing; pays 5-20 s per
            batch size on first use, worth it for long videos and batch jobs.
    """

    def __init__(self, path: str | Path, outputs: list[int] | None = None, device: str = "cpu",
                 compile: bool = False):
        import torch

        from mocap.perception.engine.tflite import load_tflite

        self._torch = torch
        self.device = torch.device(device)
        module = load_tflite(path, outputs).to(self.device)
        self.input_shape = module.input_shape
        self.module = module
        self._fn = module
        if compile:
            import torch._inductor.config as inductor_config

            inductor_config.freezing = True
            self._fn = torch.compile(module, dynamic=False)

    def __call__(self, x: np.ndarray) -> list[np.ndarray]:
        torch = self._torch
        with torch.inference_mode():
            t = torch.from_numpy(np.ascontiguousarray(x, np.float32)).to(self.device)
            out = self._fn(t)
            return [o.float().cpu().numpy() for o in out]


class LiteRTRunner:
    """LiteRT's interpreter, one image at a time (the graphs' RESHAPEs fix batch 1).

    Args:
        path: the ``.tflite`` file.
        outputs: graph outputs to return, in TFLite output order.
        threads: interpreter threads.
        reference: use the reference kernels without XNNPACK
            (``OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES``); for parity tests.
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
        inp = self.interpreter.get_input_details()[0]
        self._input = inp["index"]
        self.input_shape = tuple(int(s) for s in inp["shape"][1:])
        # get_output_details() follows the subgraph's output order (checked by the tests).
        details = self.interpreter.get_output_details()
        chosen = range(len(details)) if outputs is None else outputs
        self._outputs = [details[j]["index"] for j in chosen]

    def __call__(self, x: np.ndarray) -> list[np.ndarray]:
        x = np.ascontiguousarray(x, np.float32)
        results: list[list[np.ndarray]] = [[] for _ in self._outputs]
        for item in x:
            self.interpreter.set_tensor(self._input, item[None])
            self.interpreter.invoke()
            for slot, index in zip(results, self._outputs, strict=True):
                slot.append(self.interpreter.get_tensor(index)[0].copy())
        if not len(x):
            return [np.zeros((0, *self.interpreter.get_tensor(i).shape[1:]), np.float32)
                    for i in self._outputs]
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
