"""`harness synonyms`."""

from harness.commands._common import not_built

synonyms = not_built("synonyms", "issue 3")
