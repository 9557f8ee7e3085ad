"""`harness models`."""

from harness.commands._common import not_built

models = not_built("models", "issue 4")
