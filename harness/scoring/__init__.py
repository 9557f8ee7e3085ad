"""Scoring: parsers, canonicalizers, aligners, metrics and failure taggers.

The pipeline (pipeline.py) runs, per sample: the task's official rule (always strict),
a parser (parse.py: "lenient" by default, or "strict"), the entity canonicalizer
("synonyms": the curated YAML of synonyms.py; or "identity"), an aligner (align.py:
"greedy" exact → synonym → rapidfuzz/jieba fuzzy; or "exact"), the metrics (metrics.py,
scikit-learn for the classification protocol), the failure taggers (failures.py) and the
bootstrap CIs (stats.py). Every stage is chosen by name in `ScoringConfig` (a suite's
`scoring:` block); unknown names are errors that list the valid ones.

Adding a failure tagger: a function of a `SampleView` returning the offending line indices,
registered with `@failures.tagger("name")` (give it a `trigger` when it can only fire on
samples with one of the cheap features in `failures.TRIGGERS`, so the scorer skips it
elsewhere). Adding a parser: a function `(text, answer_choices, task) -> parse.Parsed` put in
`parse.PARSERS`.

Tasks (tasks/): each gold record is scored by the task registered under its task_dataset;
a task names its official rule, reading, aligner, metrics, taggers and report sections, and
its engine (the attr_cls loop above, or ner.py). The metric catalogue (catalogue.py) and the
versioned scores/trace contract (contract.py) are what the gate, compare and reports read.

Entry points: `pipeline.score(records, predictions, config) -> ScoreResult`,
`stats.paired_bootstrap`, `stats.mcnemar`, `harness.predictions.read_predictions`.
"""
