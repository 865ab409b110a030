from __future__ import annotations

import sys

from mocap.cli import main

sys.exit(main())
