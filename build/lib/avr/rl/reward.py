"""The FS-GRPO adaptive reward: pure functions, no torch or verl.

For a response of format k in group g (the n rollouts of one prompt) at step t of T:

    correct:    r = (1 + bonus[k]) * L(len) + D
    wrong:      r = penalty[k] + D                  (seed preset: penalty[k] * L(len) + D)
    malformed:  r = malformed_reward                (no diversity bonus)
    L(len)  = 1 if len <= length_threshold else max(length_floor, length_threshold / len)
    D       = w(t) * (1 - share of format k among the valid responses of g)   (0 if g has <= 1 valid)
    w(t)    = diversity_weight * 0.5 * (1 + cos(pi * t / T))                 (0 once t >= T)

The per-sample part (`score_response`) and the group part (`diversity_bonuses`) are separate
functions because verl scores samples one at a time and sees groups only in the trainer; both
halves of the verl plugin call these, and `score_batch` composes them into the full reward.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from avr.formats import FORMAT_NAMES, parse
from avr.grading import grade, ground_truths


@dataclass(frozen=True)
class RewardConfig:
    """Every constant of the reward. Loaded from ``train_configs/reward/<preset>.yaml``."""

    bonus: dict[int, float] = field(default_factory=lambda: {1: 0.5, 2: 0.3, 3: 0.0})
    penalty: dict[int, float] = field(default_factory=lambda: {1: -0.5, 2: -0.2, 3: 0.0})
    malformed_reward: float = -1.0
    length_threshold: int = 300
    length_floor: float = 0.3
    # The seed multiplies penalties by L(len) too, which punishes a long wrong answer *less*.
    length_on_penalty: bool = False
    # "tokens": the rollout's true token count. "words": the seed's estimate, words x word_token_ratio.
    length_unit: str = "tokens"
    word_token_ratio: float = 1.3
    diversity_weight: float = 0.5
    grading_timeout: float = 1.0
    # Used only when a caller passes no lengths and length_unit is "tokens".
    tokenizer: str | None = None

    def __post_init__(self) -> None:
        for name in ("bonus", "penalty"):
            table = {int(k): float(v) for k, v in getattr(self, name).items()}
            if set(table) != {1, 2, 3}:
                raise ValueError(
                    f"reward config: {name} needs entries for formats 1, 2 and 3, got {sorted(table)}"
                )
            object.__setattr__(self, name, table)
        if self.length_unit not in ("tokens", "words"):
            raise ValueError(
                f"reward config: length_unit must be 'tokens' or 'words', got {self.length_unit!r}"
            )
        if self.length_threshold <= 0 or not 0 <= self.length_floor <= 1:
            raise ValueError("reward config: length_threshold must be > 0 and length_floor in [0, 1]")

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "reward config") -> RewardConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{source}: unknown key(s) {unknown}; known: {sorted(known)}")
        return cls(**data)

    @classmethod
    def load(cls, preset_or_path: str | Path = "paper") -> RewardConfig:
        """A preset name (``paper``, ``seed``) or a YAML path."""
        from avr.config import read_preset

        path, data = read_preset(preset_or_path, "reward", "reward config")
        return cls.from_dict(data, source=str(path))


def _term(log: str | None, *, per_sample: bool = True, key: str | None = None, default: Any = MISSING) -> Any:
    """A field of ``RewardResult`` and how it is logged, declared once for every consumer.

    ``log``: ``"mean"`` (``avr/mean_<name>``), ``"count"`` (how many are true, under ``key``),
    ``"count_false"`` (how many are false, under ``key``) or None (summarised per format instead).
    ``per_sample``: computed by ``score_response`` alone, so verl's reward manager reports it for each
    rollout (the score and the group bonus are not: the trainer adds the bonus).
    """
    meta = {"log": log, "per_sample": per_sample, "key": key}
    return field(metadata=meta) if default is MISSING else field(default=default, metadata=meta)


@dataclass(frozen=True)
class RewardResult:
    """One response's reward and every term of it. Adding a term = one function + one field here:
    the verl manager's extra info, the trainer's step metrics, the CPU stand-in's log and
    ``summarize`` all loop over these fields."""

    score: float = _term("mean", per_sample=False)
    format: int = _term(None)
    correct: bool = _term(None)  # summarised as avr/accuracy and per-format accuracy
    length: float = _term(None)  # summarised per format as mean_length
    length_factor: float = _term("mean")
    format_term: float = _term("mean")  # bonus when right, penalty when wrong, 0 when malformed
    base: float = _term("mean")  # score without the diversity bonus
    diversity_bonus: float = _term("mean", per_sample=False, default=0.0)
    valid_ground_truth: bool = _term("count_false", key="invalid_ground_truth", default=True)
    # math-verify ran past grading_timeout: graded wrong, but unknown; counted, never hidden
    grading_timed_out: bool = _term("count", key="grading_timeouts", default=False)

    def as_dict(self) -> dict[str, float | int | bool]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_per_sample(cls, info: Mapping[str, Any], diversity_bonus: float = 0.0) -> RewardResult:
        """A result rebuilt from the per-sample fields a reward manager reported, plus the group bonus."""
        missing = [name for name in PER_SAMPLE_FIELDS if name not in info]
        if missing:
            raise KeyError(f"reward info lacks {missing}")
        values = {name: _CAST[_TYPES[name]](info[name]) for name in PER_SAMPLE_FIELDS}
        return cls(score=values["base"] + diversity_bonus, diversity_bonus=diversity_bonus, **values)


_CAST = {"float": float, "int": int, "bool": bool}
_TYPES = {f.name: str(f.type) for f in fields(RewardResult)}
PER_SAMPLE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(RewardResult) if f.metadata["per_sample"])


def length_factor(length: float, config: RewardConfig) -> float:
    if length <= config.length_threshold:
        return 1.0
    return max(config.length_floor, config.length_threshold / length)


def word_length(text: str, config: RewardConfig) -> float:
    """The seed's length estimate: words x 1.3 (only the seed preset uses it)."""
    return len(text.split()) * config.word_token_ratio


def diversity_weight(step: int, total_steps: int, config: RewardConfig) -> float:
    """w(t): cosine decay from diversity_weight to 0 over training; 0 without a horizon."""
    if total_steps <= 0 or step >= total_steps:
        return 0.0
    return config.diversity_weight * 0.5 * (1.0 + math.cos(math.pi * max(step, 0) / total_steps))


def score_response(
    response: str,
    ground_truth: str | Sequence[str] | None,
    *,
    length: float,
    choices: Sequence[str] | None = None,
    config: RewardConfig,
) -> RewardResult:
    """Correctness, format shaping and the length term of one response (no diversity bonus)."""
    parsed = parse(response)
    valid_gt = bool(ground_truths(ground_truth))
    if not parsed.valid:
        r = config.malformed_reward
        return RewardResult(r, 0, False, length, 1.0, 0.0, r, valid_ground_truth=valid_gt)
    lf = length_factor(length, config)
    verdict = (
        grade(parsed.answer, ground_truth, choices, timeout=config.grading_timeout) if valid_gt else None
    )
    correct = bool(verdict and verdict.correct)
    timed_out = bool(verdict and verdict.timed_out)
    if correct:
        term = config.bonus[parsed.format]
        base = (1.0 + term) * lf
    else:
        term = config.penalty[parsed.format]
        base = term * lf if config.length_on_penalty else term
    return RewardResult(
        base,
        parsed.format,
        correct,
        length,
        lf,
        term,
        base,
        valid_ground_truth=valid_gt,
        grading_timed_out=timed_out,
    )


def diversity_bonuses(
    formats: Sequence[int],
    group_ids: Sequence[Hashable],
    *,
    step: int,
    total_steps: int,
    config: RewardConfig,
) -> list[float]:
    """D for each response: w(t) x (1 - share of its format among its group's valid responses)."""
    w = diversity_weight(step, total_steps, config)
    if w == 0.0:
        return [0.0] * len(formats)
    counts: dict[Hashable, Counter] = defaultdict(Counter)
    for f, g in zip(formats, group_ids, strict=True):
        if f:
            counts[g][f] += 1
    out = []
    for f, g in zip(formats, group_ids, strict=True):
        n_valid = sum(counts[g].values())
        out.append(0.0 if not f or n_valid <= 1 else w * (1.0 - counts[g][f] / n_valid))
    return out


def _count_lengths(responses: Sequence[str], config: RewardConfig) -> list[float]:
    if config.length_unit == "words":
        return [word_length(r, config) for r in responses]
    if not config.tokenizer:
        raise ValueError(
            "score_batch: no lengths given and the reward config names no tokenizer; pass the rollout's "
            "token counts (lengths=...) or set `tokenizer:` in the config (only the seed preset counts words)"
        )
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(config.tokenizer)
    return [float(len(tok(r, add_special_tokens=False)["input_ids"])) for r in responses]


def score_batch(
    responses: Sequence[str],
    ground_truths: Sequence[str | Sequence[str] | None],
    group_ids: Sequence[Hashable],
    *,
    step: int,
    total_steps: int,
    lengths: Sequence[float] | None = None,
    choices: Sequence[Sequence[str] | None] | None = None,
    config: RewardConfig | None = None,
) -> list[RewardResult]:
    """The full FS-GRPO reward of a batch: per-response terms plus each group's diversity bonus."""
    config = config or RewardConfig.load("paper")
    n = len(responses)
    if not (len(ground_truths) == len(group_ids) == n):
        raise ValueError("score_batch: responses, ground_truths and group_ids must have the same length")
    if config.length_unit == "words" or lengths is None:
        lengths = _count_lengths(responses, config)
    choices = choices if choices is not None else [None] * n
    base = [
        score_response(r, gt, length=float(ln), choices=ch, config=config)
        for r, gt, ln, ch in zip(responses, ground_truths, lengths, choices, strict=True)
    ]
    bonus = diversity_bonuses(
        [b.format for b in base], group_ids, step=step, total_steps=total_steps, config=config
    )
    return [replace(b, score=b.base + d, diversity_bonus=d) for b, d in zip(base, bonus, strict=True)]


def summarize(results: Sequence[RewardResult], *, prefix: str = "avr/") -> dict[str, float]:
    """Per-step metrics: share, accuracy and mean length of each format; then every term as
    ``RewardResult`` declares it: means (``mean_<term>``) and counts (how many responses math-verify
    could not grade in time: graded wrong, and a rising count means the grading deadline, not the
    policy, is costing reward)."""
    n = len(results)
    if not n:
        return {}
    out: dict[str, float] = {}
    for k, name in FORMAT_NAMES.items():
        rows = [r for r in results if r.format == k]
        out[f"{prefix}{name}/share"] = len(rows) / n
        if rows and k:
            out[f"{prefix}{name}/accuracy"] = sum(r.correct for r in rows) / len(rows)
            out[f"{prefix}{name}/mean_length"] = sum(r.length for r in rows) / len(rows)
    out[f"{prefix}accuracy"] = sum(r.correct for r in results) / n
    for f in fields(RewardResult):
        log, key = f.metadata["log"], f.metadata["key"]
        values = [getattr(r, f.name) for r in results]
        if log == "mean":
            out[f"{prefix}mean_{f.name}"] = sum(values) / n
        elif log == "count":
            out[f"{prefix}{key}"] = float(sum(bool(v) for v in values))
        elif log == "count_false":
            out[f"{prefix}{key}"] = float(sum(not v for v in values))
    return out
