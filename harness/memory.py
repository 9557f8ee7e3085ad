"""Peak memory of one step (a training round, a generation call), for the manifest and reports."""

from __future__ import annotations

import sys
from pathlib import Path


def reset_peak_memory() -> bool:
    """Start peak-memory tracking afresh for one step (a training round, a generation call).

    Linux resets the process's RSS high-water mark (and so ru_maxrss) on `5` in
    /proc/self/clear_refs; elsewhere the peak stays the process's so far (False is returned).
    CUDA peaks are reset when torch is already loaded.
    """
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    try:
        Path("/proc/self/clear_refs").write_text("5", encoding="ascii")
    except OSError:
        return False
    return True


def peak_memory() -> dict[str, float | None]:
    """Peak RSS (MiB) since the last reset and, on CUDA, peak allocated / reserved memory (MiB)."""
    torch = sys.modules.get("torch")
    cuda = torch is not None and torch.cuda.is_available()
    return {
        "peak_rss_mib": peak_rss_mib(),
        "cuda_max_allocated_mib": round(torch.cuda.max_memory_allocated() / 2**20, 1) if cuda else None,
        "cuda_max_reserved_mib": round(torch.cuda.max_memory_reserved() / 2**20, 1) if cuda else None,
    }


def peak_rss_mib() -> float:
    """Peak resident memory of this process since the last reset_peak_memory (or its start), in MiB (ru_maxrss: KiB on Linux, bytes on macOS)."""
    import resource

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(rss / (2**20 if sys.platform == "darwin" else 2**10), 1)
