"""File modes that follow the process umask.

safetensors (0.8) writes every weights file with mode 0600 and `tempfile.mkdtemp` makes 0700
folders, whatever the umask says; a model folder others should read (or a stricter umask
someone set on purpose) needs the modes a plain `open()` would have given.
"""

from __future__ import annotations

import os
from pathlib import Path


def current_umask() -> int:
    """The process umask (os.umask can only be read by setting it, so set it back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def apply_umask(root: str | Path) -> None:
    """Give `root` and everything under it the modes the umask gives new files and folders."""
    mask = current_umask()
    root = Path(root)
    for p in [root, *root.rglob("*")] if root.is_dir() else [root]:
        if p.is_symlink():
            continue
        p.chmod((0o777 if p.is_dir() else 0o666) & ~mask)
