"""mocap: video in, one animated skeleton per person out (BVH, FBX, glTF)."""

from __future__ import annotations

__version__ = "0.1.0"
