"""Suite files: a typed, validated schema loaded from YAML.

Errors name the YAML path (`systems[2].training.lora.rank: unknown key; valid: …`).
Relative paths resolve against the suite file; `${VAR}` fills paths from the environment.
The training, generation and scoring blocks reuse the other modules' own pydantic configs.
"""

from __future__ import annotations

import os
import re
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.functional_validators import AfterValidator, BeforeValidator

from harness.errors import HarnessError
from harness.gate import MAX_RESAMPLES, MIN_RESAMPLES
from harness.generation import GenerationConfig
from harness.runs import SAFE_NAME
from harness.safeio import read_yaml_file
from harness.scoring.catalogue import STAT_METRICS
from harness.scoring.pipeline import ScoringConfig
from harness.training.lora import TrainConfig

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class SuiteError(HarnessError):
    """A suite file that cannot be loaded; the message lists every problem with its YAML path."""


def expand_env(text: str) -> str:
    """Replace `${VAR}` with the environment's value; an unset variable is an error that names it."""

    def sub(m: re.Match[str]) -> str:
        value = os.environ.get(m.group(1))
        if value is None:
            raise ValueError(f"environment variable {m.group(1)} is not set (used in {text!r})")
        return value

    return _ENV.sub(sub, text)


def resolve_path(value: str | Path, base: Path | None) -> Path:
    """`${VAR}` and `~` filled in, relative to `base` (the suite's folder), normalized."""
    path = Path(expand_env(str(value))).expanduser()
    return Path(os.path.normpath(path if path.is_absolute() or base is None else base / path))


def _resolve(value: Any, info: ValidationInfo) -> Path:
    if not isinstance(value, str | Path):
        raise ValueError(f"expected a path, got {type(value).__name__}")
    return resolve_path(value, (info.context or {}).get("base_dir"))


def _model_ref(value: str, info: ValidationInfo) -> str:
    """A hub id stays as it is; a local folder (relative to the suite) becomes an absolute path.

    A path-like value (`./x`, `/x`, `~/x`) must be an existing folder: sending it to the hub
    would fail later with a confusing "Repo id must be in the form …".
    """
    text = expand_env(str(value))
    if not text.strip():
        raise ValueError("expected a hub id or a model folder, got an empty string")
    base = (info.context or {}).get("base_dir")
    local = Path(text).expanduser()
    if not local.is_absolute() and base is not None:
        local = Path(base) / local
    if text.startswith((".", "/", "~")) or local.exists():
        if not local.is_dir():
            what = "is a file, expected a model folder" if local.exists() else "not found"
            raise ValueError(f"local model folder {what}: {local}")
        return str(local.resolve())
    return text


def _safe_name(value: str) -> str:
    """Suite and system names become folder and file names under --out: keep them plain."""
    if not SAFE_NAME.match(value):
        raise ValueError(
            f"{value!r} is not a valid name: use 1-64 letters, digits, '_', '.' or '-', starting "
            "with a letter or digit (it names a folder or file under --out)"
        )
    return value


SuitePath = Annotated[Path, BeforeValidator(_resolve)]
KnownModelName = Literal["smollm2"]  # harness.modelzoo.fetch.KNOWN (a test keeps them equal)
ModelRef = Annotated[str, AfterValidator(_model_ref)]
SafeName = Annotated[str, AfterValidator(_safe_name)]


class _Block(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---- data -------------------------------------------------------------------------------
class PromptCBLUESource(_Block):
    kind: Literal["promptcblue"]
    path: SuitePath
    task_type: list[str] | None = None
    task_dataset: list[str] | None = None
    on_error: Literal["fail", "skip"] = Field(
        "fail", description="skip: drop bad lines (listed in the manifest and the report)"
    )
    limit: int | None = Field(None, ge=1, description="keep the first N records (after filters)")


class DialogSplitBlock(_Block):
    """A dialog-level split: `test_share` of the dialogs (drawn by id and seed) are "test", the
    next `dev_share` "dev", the rest "train"; give every part of one file the same shares and seed."""

    part: Literal["train", "dev", "test"]
    test_share: float = Field(gt=0, lt=1, allow_inf_nan=False)
    dev_share: float = Field(0.0, ge=0, lt=1, allow_inf_nan=False)
    seed: int = 0

    @model_validator(mode="after")
    def _shares(self) -> DialogSplitBlock:
        if self.test_share + self.dev_share >= 1:
            raise ValueError("test_share + dev_share must be under 1 (the rest is the train part)")
        return self


class Chip2021Source(_Block):
    kind: Literal["chip2021"]
    path: SuitePath
    templates: SuitePath | None = None
    seed: int = 0
    max_chars: int | None = Field(None, ge=1, description="window dialogs to at most this many characters")
    split: DialogSplitBlock | None = Field(
        None, description="keep one part of a dialog-level split (no dialog in both parts)"
    )
    on_error: Literal["fail", "skip"] = Field(
        "fail", description="skip: drop bad lines (listed in the manifest and the report)"
    )
    limit: int | None = Field(None, ge=1)


# Synthetic records are built in memory: past this a typo (1e12) would run until memory ran out.
MAX_SYNTHETIC = 1_000_000


class SyntheticSource(_Block):
    kind: Literal["synthetic"]
    n: int = Field(ge=1, le=MAX_SYNTHETIC)
    seed: int = 0
    tasks: list[str] | None = None


Source = Annotated[PromptCBLUESource | Chip2021Source | SyntheticSource, Field(discriminator="kind")]


class DataBlock(_Block):
    """Named sources, and which of them make the train / dev / test splits."""

    sources: dict[str, Source]
    train: list[str] = Field(default_factory=list, description="source names pooled as training data")
    dev: list[str] = Field(default_factory=list, description="source names pooled as dev data")
    test: list[str] = Field(min_length=1, description="source names every system is scored on")
    test_task_type: str | None = Field("attr_cls", description="keep only test records of this task_type")
    test_task_dataset: str | list[str] | None = Field(
        "CHIP-MDCFNPC",
        description="…and of this task_dataset, or of these (the tasks the suite tests, each a registered task)",
    )

    @property
    def test_tasks(self) -> list[str] | None:
        """The task_datasets the test split keeps (None: every one)."""
        td = self.test_task_dataset
        return [td] if isinstance(td, str) else td

    @field_validator("test_task_dataset")
    @classmethod
    def _registered_tasks(cls, v: str | list[str] | None) -> str | list[str] | None:
        if isinstance(v, list):
            from harness.scoring.tasks import TASKS

            if not v:
                raise ValueError("name at least one task, or leave the field out")
            unknown = [t for t in v if t not in TASKS]
            if unknown:
                raise ValueError(f"unknown task(s) {', '.join(unknown)}; valid: {', '.join(TASKS)}")
        return v

    @model_validator(mode="after")
    def _types_agree(self) -> DataBlock:
        from harness.scoring.tasks import TASKS

        tt = self.test_task_type
        off = [t for t in self.test_tasks or () if t in TASKS and tt is not None and TASKS[t].task_type != tt]
        if off:
            raise ValueError(
                f"test_task_dataset names {', '.join(off)}, whose task_type is not test_task_type {tt}; "
                "set test_task_type: null to test tasks of several types"
            )
        return self

    @model_validator(mode="after")
    def _known_sources(self) -> DataBlock:
        for split in ("train", "dev", "test"):
            for name in getattr(self, split):
                if name not in self.sources:
                    raise ValueError(f"{split}: unknown source {name!r}; defined: {sorted(self.sources)}")
        return self


# ---- base model ---------------------------------------------------------------------------
class TinyModelBlock(_Block):
    """Build a small Qwen2 model locally (harness models tiny) from a corpus source."""

    corpus: list[str] = Field(min_length=1, description="source names whose records train the tokenizer")
    seed: int = Field(0, ge=0)
    hidden: int = Field(128, ge=1)
    layers: int = Field(2, ge=1)
    vocab_size: int = Field(4096, ge=259, le=1_000_000)
    heads: int = Field(4, ge=1)
    kv_heads: int = Field(2, ge=1)
    entity_tokens: bool = Field(False, description="the corpus answers' entity names become whole tokens")
    copy_steps: int = Field(
        0, ge=0, description="full fine-tuning steps on copy drills (harness.training.tiny_pretrain)"
    )


class BaseModelBlock(_Block):
    id: ModelRef | None = Field(None, description="hub id or local folder")
    tiny: TinyModelBlock | None = None
    gguf: SuitePath | None = Field(None, description="a GGUF file, imported once (harness models import)")
    known: KnownModelName | None = Field(
        None, description="a model harness can fetch (harness models fetch NAME), then imported"
    )
    trust_remote_code: bool = Field(False, description="must stay false: harness runs no model code")

    @field_validator("trust_remote_code")
    @classmethod
    def _no_remote_code(cls, value: bool) -> bool:
        # Training loads the model without remote code; honouring it in generation alone would
        # score a model other than the one trained. Refused rather than ignored.
        if value:
            raise ValueError(
                "harness does not run code shipped with a model (trust_remote_code: true); use a model "
                "whose architecture transformers ships, or convert it to one (save_pretrained from a "
                "trusted session) and give that folder as base_model.id"
            )
        return value

    @model_validator(mode="after")
    def _one_of(self) -> BaseModelBlock:
        given = [k for k in ("id", "tiny", "gguf", "known") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of `id` (hub id or folder), `tiny` (build one), `gguf` (a GGUF file to "
                f"import) and `known` (a model to fetch and import); got {', '.join(given) or 'none'}"
            )
        return self


# ---- systems ------------------------------------------------------------------------------
class TrainingBlock(_Block):
    recipe: str = "round3"
    train: list[str] | None = Field(None, description="source names; default: data.train")
    dev: list[str] | None = Field(None, description="source names; default: data.dev")
    options: dict[str, Any] = Field(default_factory=dict, description="recipe options (custom: filters)")
    lora: dict[str, Any] = Field(default_factory=dict, description="TrainConfig overrides")


class _System(_Block):
    name: SafeName
    description: str = ""


class ZeroShotSystem(_System):
    kind: Literal["zero_shot"]


class TrainedSystem(_System):
    kind: Literal["trained"]
    training: TrainingBlock = Field(default_factory=TrainingBlock)
    merged: bool = Field(False, description="generate with the merged checkpoint, not the adapter")


class AdapterSystem(_System):
    kind: Literal["adapter"]
    path: SuitePath


class CheckpointSystem(_System):
    kind: Literal["checkpoint"]
    path: SuitePath


class PredictionsSystem(_System):
    kind: Literal["predictions"]
    path: SuitePath


class RulesSystem(_System):
    """The keyword-rule floor (harness.rules): no model, every trained round should beat it."""

    kind: Literal["rules"]


System = Annotated[
    ZeroShotSystem | TrainedSystem | AdapterSystem | CheckpointSystem | PredictionsSystem | RulesSystem,
    Field(discriminator="kind"),
]


# Systems that run on the suite's base model (the others bring their own model or need none).
MODEL_SYSTEMS = (ZeroShotSystem, TrainedSystem, AdapterSystem)


# ---- report and gate ----------------------------------------------------------------------
class ReportBlock(_Block):
    base: str | None = Field(None, description="system the deltas are against; default the first")
    reference: str | None = Field(None, description="system the fixed/broken filters compare with")
    max_examples: int = Field(300, ge=0)
    title: str | None = None


class GateMetric(_Block):
    metric: str = Field(description="dotted path in a score summary, e.g. official.f1")
    tolerance: float = Field(
        0.0, ge=0, allow_inf_nan=False, description="allowed drop before it counts as a regression"
    )

    @model_validator(mode="after")
    def _testable(self) -> GateMetric:
        # The gate tests a metric on per-sample counts: only those it can recompute from them.
        if self.metric not in STAT_METRICS:
            raise ValueError(f"the gate cannot test metric {self.metric!r}; valid: {', '.join(STAT_METRICS)}")
        return self


class GateBlock(_Block):
    baseline: SuitePath | None = None
    systems: list[str] | None = Field(None, description="gated systems; default every system")
    metrics: list[GateMetric] = Field(
        default_factory=lambda: [
            GateMetric(metric="official.f1"),
            GateMetric(metric="classification.accuracy"),
        ],
        min_length=1,
    )
    test: Literal["paired_bootstrap", "mcnemar"] = "paired_bootstrap"
    alpha: float = Field(0.05, gt=0, lt=1)
    resamples: int = Field(2000, ge=MIN_RESAMPLES, le=MAX_RESAMPLES)
    seed: int = Field(0, ge=0, description="bootstrap seed (numpy takes 0 or more)")

    @model_validator(mode="after")
    def _no_repeats(self) -> GateBlock:
        for field, values in (("systems", self.systems or []), ("metrics", [m.metric for m in self.metrics])):
            repeated = sorted({v for v in values if values.count(v) > 1})
            if repeated:
                raise ValueError(f"{field} lists {', '.join(repeated)} more than once")
        return self


class Suite(_Block):
    name: SafeName
    description: str = ""
    data: DataBlock
    base_model: BaseModelBlock | None = Field(
        None, description="the model zero_shot, trained and adapter systems run on; optional otherwise"
    )
    training: TrainConfig = Field(default_factory=TrainConfig, description="defaults for every round")
    systems: list[System] = Field(min_length=1)
    generation: GenerationConfig = Field(default_factory=GenerationConfig)
    scoring: ScoringConfig = Field(default_factory=ScoringConfig)
    report: ReportBlock = Field(default_factory=ReportBlock)
    gate: GateBlock = Field(default_factory=GateBlock)
    _path: str | None = PrivateAttr(None)  # the file it was loaded from (load_suite sets it)

    @property
    def path(self) -> str | None:
        return self._path

    @model_validator(mode="after")
    def _check(self) -> Suite:
        names = [s.name for s in self.systems]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"systems: duplicate names {dupes}")
        folded = sorted({n for n in names if [m.casefold() for m in names].count(n.casefold()) > 1})
        if folded:
            raise ValueError(
                f"systems: names {folded} differ only in case; they would share files on a "
                "case-insensitive filesystem (macOS, Windows)"
            )
        for field in ("base", "reference"):
            value = getattr(self.report, field)
            if value is not None and value not in names:
                raise ValueError(f"report.{field}: unknown system {value!r}; systems: {names}")
        for s in self.gate.systems or []:
            if s not in names:
                raise ValueError(f"gate.systems: unknown system {s!r}; systems: {names}")
        needing = [s.name for s in self.systems if isinstance(s, MODEL_SYSTEMS)]
        if self.base_model is None and needing:
            raise ValueError(
                f"base_model: missing, and systems {', '.join(needing)} need it (zero_shot, trained and "
                "adapter systems run on a base model); add `base_model: {id: …}` (or tiny, gguf, known), "
                "or keep only predictions, rules and checkpoint systems"
            )
        if self.base_model is not None and self.base_model.tiny:
            for src in self.base_model.tiny.corpus:
                if src not in self.data.sources:
                    raise ValueError(f"base_model.tiny.corpus: unknown source {src!r}")
        for s in self.systems:
            if isinstance(s, TrainedSystem):
                for split in ("train", "dev"):
                    for src in getattr(s.training, split) or []:
                        if src not in self.data.sources:
                            raise ValueError(f"systems[{s.name}].training.{split}: unknown source {src!r}")
        return self

    def train_config(self, system: TrainedSystem) -> TrainConfig:
        """The suite's training defaults with the system's overrides on top."""
        return TrainConfig.model_validate(
            {**self.training.model_dump(exclude_unset=True), **system.training.lora}
        )

    def select(self, names: list[str]) -> Suite:
        """This suite with only the systems `names`, in the suite's order (`harness run --systems`).

        The report's base and reference fall back to the first kept system when theirs is left
        out, and the gate judges the kept systems only (a system not run is no regression; an
        empty gate.systems means none of them is gated).
        """
        known = [s.name for s in self.systems]
        unknown = [n for n in names if n not in known]
        if unknown:
            raise HarnessError(
                f"--systems: no system {', '.join(unknown)} in suite {self.name}; systems: {', '.join(known)}"
            )
        kept = [s for s in self.systems if s.name in names]
        first = kept[0].name
        report = self.report.model_copy(
            update={
                k: getattr(self.report, k) if getattr(self.report, k) in names else first
                for k in ("base", "reference")
                if getattr(self.report, k)
            }
        )
        gated = [n for n in (self.gate.systems or known) if n in names]
        picked = self.model_copy(
            update={
                "systems": kept,
                "report": report,
                "gate": self.gate.model_copy(update={"systems": gated}),
            }
        )
        picked._path = self._path
        return picked

    @property
    def base_system(self) -> str:
        return self.report.base or self.systems[0].name

    @property
    def reference_system(self) -> str:
        return self.report.reference or self.base_system


# ---- loading ------------------------------------------------------------------------------
def _unwrap(tp: Any) -> Any:
    while typing.get_origin(tp) is Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def _members(tp: Any) -> list[Any]:
    tp = _unwrap(tp)
    if typing.get_origin(tp) in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return [_unwrap(a) for a in typing.get_args(tp)]
    return [tp]


def _describe_loc(loc: tuple[Any, ...], root: type[BaseModel] | None = None) -> tuple[str, list[str] | None]:
    """Readable YAML path for a pydantic error location, and the valid keys at its end.

    Discriminator tags (the `kind` value pydantic puts into the location) are dropped.
    """
    parts: list[str] = []
    current: list[Any] = [root or Suite]
    valid: list[str] | None = None
    for item in loc:
        models = [m for m in current if isinstance(m, type) and issubclass(m, BaseModel)]
        containers = [m for m in current if typing.get_origin(m) in (list, dict)]
        if isinstance(item, int) and containers:
            parts[-1] += f"[{item}]"
            current = _members(typing.get_args(containers[0])[-1])
            continue
        by_tag = [
            m
            for m in models
            if "kind" in m.model_fields and item in typing.get_args(m.model_fields["kind"].annotation)
        ]
        if by_tag:
            current = by_tag
            continue
        model = next((m for m in models if item in m.model_fields), None)
        if containers and typing.get_origin(containers[0]) is dict and model is None:
            parts.append(str(item))
            current = _members(typing.get_args(containers[0])[-1])
            continue
        parts.append(str(item))
        if model is None:
            valid = list(models[0].model_fields) if models else None
            current = []
            continue
        current = _members(model.model_fields[item].annotation)
    return ".".join(parts), valid


def format_errors(err: ValidationError, prefix: str = "", root: type[BaseModel] | None = None) -> list[str]:
    """One line per problem: `yaml.path: message` (unknown keys list the valid ones)."""
    lines = []
    for e in err.errors():
        where, valid = _describe_loc(tuple(e["loc"]), root)
        where = ".".join(p for p in (prefix, where) if p)
        if e["type"] == "extra_forbidden":
            hint = f"; valid: {', '.join(valid)}" if valid else ""
            lines.append(f"{where}: unknown key{hint}")
        else:
            msg = e["msg"].removeprefix("Value error, ")
            lines.append(f"{where}: {msg}" if where else msg)  # cross-field checks name their own paths
    return lines


def unset_variables(value: Any, where: str = "") -> list[str]:
    """`yaml.path: environment variable X is not set` for every unset `${X}` anywhere in `value`."""
    if isinstance(value, dict):
        return [
            line for k, v in value.items() for line in unset_variables(v, f"{where}.{k}" if where else str(k))
        ]
    if isinstance(value, list):
        return [line for i, v in enumerate(value) for line in unset_variables(v, f"{where}[{i}]")]
    if isinstance(value, str):
        return [
            f"{where}: environment variable {name} is not set (used in {value!r})"
            for name in dict.fromkeys(_ENV.findall(value))
            if name not in os.environ
        ]
    return []


def load_suite(path: str | Path) -> Suite:
    """Read and validate a suite file; every problem is reported at once, with its YAML path."""
    p = Path(path)
    try:
        raw = read_yaml_file(p, "suite file")
    except HarnessError as e:
        raise SuiteError(str(e)) from None
    if not isinstance(raw, dict):
        raise SuiteError(f"{p}: expected a mapping at the top level, got {type(raw).__name__}")
    unset = unset_variables(raw)
    if unset:
        raise SuiteError(f"{p}: invalid suite\n  " + "\n  ".join(unset))
    context = {"base_dir": p.resolve().parent}
    try:
        suite = Suite.model_validate(raw, context=context)
    except ValidationError as e:
        raise SuiteError(f"{p}: invalid suite\n  " + "\n  ".join(format_errors(e))) from None
    problems: list[str] = []
    for i, system in enumerate(suite.systems):
        if isinstance(system, TrainedSystem):
            try:
                suite.train_config(system)
            except ValidationError as e:
                problems += format_errors(e, prefix=f"systems[{i}].training.lora", root=TrainConfig)
    if problems:
        raise SuiteError(f"{p}: invalid suite\n  " + "\n  ".join(problems))
    # The scorer's synonym folders are relative to the suite file, like every other path in it.
    if suite.scoring.synonyms:
        suite.scoring.synonyms = [resolve_path(d, context["base_dir"]) for d in suite.scoring.synonyms]
    suite._path = str(p.resolve())
    return suite


def load_scoring_block(path: str | Path, base_dir: Path | None = None) -> ScoringConfig:
    """Only the `scoring` block of a suite file, its synonym paths resolved against `base_dir`
    (default: the file's folder). Rescoring needs nothing else, so a model folder that has moved
    or a variable that is unset elsewhere in the suite does not stop it."""
    p = Path(path)
    try:
        raw = read_yaml_file(p, "suite file")
    except HarnessError as e:
        raise SuiteError(str(e)) from None
    block = raw.get("scoring", {}) if isinstance(raw, dict) else None
    if not isinstance(block, dict):
        raise SuiteError(f"{p}: scoring: expected a mapping")
    unset = unset_variables(block, "scoring")
    if unset:
        raise SuiteError(f"{p}: invalid suite\n  " + "\n  ".join(unset))
    try:
        scoring = ScoringConfig.model_validate(block)
    except ValidationError as e:
        raise SuiteError(
            f"{p}: invalid suite\n  " + "\n  ".join(format_errors(e, prefix="scoring", root=ScoringConfig))
        ) from None
    if scoring.synonyms:
        base = base_dir or p.resolve().parent
        scoring.synonyms = [resolve_path(d, base) for d in scoring.synonyms]
    return scoring
