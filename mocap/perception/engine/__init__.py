"""Model runners: a TFLite -> PyTorch converter (:func:`load_tflite`) and the LiteRT and
torch runners behind one interface (:mod:`mocap.perception.engine.runtime`).

``from mocap.perception.engine import load_tflite`` works without importing torch until
the name is used (torch is a heavy import).
"""

from __future__ import annotations

__all__ = ["load_tflite"]


def __getattr__(name: str):
    if name == "load_tflite":
        from mocap.perception.engine.tflite import load_tflite

        return load_tflite
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
