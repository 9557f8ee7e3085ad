"""`harness run`, `report`, `rescore`, `compare`, `gate`."""

from harness.commands._common import not_built

run = not_built("run", "issue 6")
report = not_built("report", "issue 6")
rescore = not_built("rescore", "issue 6")
compare = not_built("compare", "issue 6")
gate = not_built("gate", "issue 6")
