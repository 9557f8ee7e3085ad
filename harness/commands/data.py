"""`harness data`."""

from harness.commands._common import not_built

data = not_built("data", "issue 2")
