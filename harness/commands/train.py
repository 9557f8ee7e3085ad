"""`harness train`."""

from harness.commands._common import not_built

train = not_built("train", "issue 4")
