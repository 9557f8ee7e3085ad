import sys

import pytest

from harness.memory import peak_memory, peak_rss_mib, reset_peak_memory


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the high-water mark resets only on Linux")
def test_a_reset_forgets_an_earlier_peak() -> None:
    block = bytearray(300 * 2**20)  # touched: 300 MiB resident
    block[::4096] = b"x" * len(block[::4096])
    with_block = peak_rss_mib()
    del block
    assert reset_peak_memory()
    after = peak_memory()
    assert after["peak_rss_mib"] is not None and after["peak_rss_mib"] < with_block - 200
