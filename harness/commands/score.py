"""`harness score`."""

from harness.commands._common import not_built

score = not_built("score", "issue 3")
