"""`harness generate`."""

from harness.commands._common import not_built

generate = not_built("generate", "issue 5")
