"""Files shipped beside the code: coefficients/ (demo bundle, default trust store), resources/."""

from __future__ import annotations

import sys
from pathlib import Path


def shipped_dir(name: str) -> Path:
    """The shipped folder `name`, in a source checkout or in a frozen (PyInstaller) app."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    root = Path(frozen_root) if frozen_root else Path(__file__).resolve().parents[2]
    return root / name
