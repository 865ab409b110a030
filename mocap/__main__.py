from __future__ import annotations

from mocap.cli import entry

entry()
