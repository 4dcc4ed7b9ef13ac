"""The FS-GRPO reward: each term as a table, the seed preset against hand-computed values, a fuzz run."""

import math
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from avr.grading import warm_up
from avr.rl.reward import (
    RewardConfig,
    RewardResult,
    diversity_bonuses,
    diversity_weight,
    length_factor,
    score_batch,
    score_response,
    summarize,
)

PAPER = RewardConfig.load("paper")
SEED = RewardConfig.load("seed")
F1 = "<answer>{}</answer>"
F2 = "<perception>two red dots</perception><answer>{}</answer>"
F3 = "<perception>two red dots</perception><reasoning>1+1=2</reasoning><answer>{}</answer>"


@pytest.fixture(scope="module")
def _math_worker():
    """A warm math-verify child, for the tests that grade LaTeX within the reward's 1 s deadline (the
    others never start one, which keeps a mutation run's per-mutant cost down)."""
    warm_up()


def test_presets_load_and_reject_unknown_keys(tmp_path):
    assert PAPER.bonus == {1: 0.5, 2: 0.3, 3: 0.0} and PAPER.penalty == {1: -0.5, 2: -0.2, 3: 0.0}
    assert (PAPER.length_on_penalty, PAPER.length_unit) == (False, "tokens")
    assert (SEED.length_on_penalty, SEED.length_unit) == (True, "words")
    bad = tmp_path / "bad.yaml"
    bad.write_text("bonus: {1: 0.5, 2: 0.3, 3: 0.0}\nlenght_threshold: 10\n")
    with pytest.raises(ValueError, match=r"bad\.yaml: unknown key\(s\) \['lenght_threshold'\]"):
        RewardConfig.load(bad)
    with pytest.raises(FileNotFoundError):
        RewardConfig.load("no_such_preset")


@pytest.mark.parametrize(
    "length, factor", [(0, 1.0), (300, 1.0), (301, 300 / 301), (600, 0.5), (1000, 0.3), (10**6, 0.3)]
)
def test_length_factor(length, factor):
    assert length_factor(length, PAPER) == pytest.approx(factor)


@pytest.mark.parametrize(
    "step, total, w",
    [
        (0, 100, 0.5),
        (50, 100, 0.25),
        (100, 100, 0.0),
        (150, 100, 0.0),
        (25, 100, 0.25 * (1 + math.cos(math.pi / 4))),
        (3, 0, 0.0),
    ],
)
def test_diversity_weight_cosine(step, total, w):
    assert diversity_weight(step, total, PAPER) == pytest.approx(w)


@pytest.mark.parametrize(
    "template, answer, length, score, fmt, correct",
    [
        (F1, "2", 10, 1.5, 1, True),
        (F2, "2", 10, 1.3, 2, True),
        (F3, "2", 10, 1.0, 3, True),
        (F1, "3", 10, -0.5, 1, False),
        (F2, "3", 10, -0.2, 2, False),
        (F3, "3", 10, 0.0, 3, False),
        (F1, "2", 600, 0.75, 1, True),  # 1.5 x L(600)=0.5
        (F3, "2", 1000, 0.3, 3, True),  # floor
        (F1, "3", 600, -0.5, 1, False),  # paper: L never softens a penalty
        ("{}", "2", 1, -1.0, 0, False),  # no tags
        ("<answer></answer>{}", "", 1, -1.0, 0, False),  # empty answer block is malformed
        ("<answer>2</answer><answer>{}</answer>", "2", 5, -1.0, 0, False),  # duplicated
        ("<answer>{}</answer><perception>p</perception>", "2", 5, -1.0, 0, False),  # out of order
        ("<answer>x <answer>{}</answer></answer>", "2", 5, -1.0, 0, False),  # nested
        ("I think <answer>{}</answer>", "2", 5, -1.0, 0, False),  # stray text
    ],
)
def test_score_response_paper(template, answer, length, score, fmt, correct):
    r = score_response(template.format(answer), "2", length=length, config=PAPER)
    assert (r.score, r.format, r.correct) == (pytest.approx(score), fmt, correct)


def test_diversity_bonus_groups():
    formats = [1, 1, 1, 2, 0, 3, 3, 0, 2]
    groups = ["a", "a", "a", "a", "a", "b", "b", "c", "c"]
    d = diversity_bonuses(formats, groups, step=0, total_steps=10, config=PAPER)
    w = 0.5
    assert d[:4] == pytest.approx([w * 0.25, w * 0.25, w * 0.25, w * 0.75])  # shares among 4 valid
    assert d[4] == 0.0  # malformed: no bonus
    assert d[5:7] == [0.0, 0.0]  # one format in the group: share 1
    assert d[7:] == [0.0, 0.0]  # a single valid response: no bonus
    assert diversity_bonuses(formats, groups, step=10, total_steps=10, config=PAPER) == [0.0] * 9


def test_score_batch_composes_both_halves():
    responses = [F1.format("2"), F2.format("2"), F1.format("9"), "junk"]
    res = score_batch(
        responses, ["2"] * 4, [0, 0, 0, 0], step=0, total_steps=10, lengths=[5, 5, 5, 5], config=PAPER
    )
    # valid formats in the group: 1, 2, 1 -> shares 2/3, 1/3, 2/3; w(0) = 0.5
    assert [r.score for r in res] == pytest.approx([1.5 + 0.5 / 3, 1.3 + 0.5 * 2 / 3, -0.5 + 0.5 / 3, -1.0])
    assert [r.diversity_bonus for r in res][3] == 0.0
    m = summarize(res)
    assert m["avr/malformed/share"] == 0.25 and m["avr/answer/accuracy"] == 0.5
    assert m["avr/accuracy"] == 0.5 and m["avr/invalid_ground_truth"] == 0.0


def test_grading_timeouts_are_counted_not_hidden(_math_worker):
    slow_gold, slow_pred = "(x+1)^{100000}", "(x+2)^{99999}"  # sympy would expand this for a long time
    cfg = RewardConfig.from_dict({"grading_timeout": 0.5})
    res = score_batch(
        [F1.format(slow_pred), F1.format("2")], [slow_gold, "2"], [0, 0], step=0, total_steps=1,
        lengths=[3, 3], config=cfg,
    )  # fmt: skip
    assert res[0].grading_timed_out and not res[0].correct and not res[1].grading_timed_out
    assert summarize(res)["avr/grading_timeouts"] == 1.0 and summarize(res[1:])["avr/grading_timeouts"] == 0.0


def test_lengths_are_required_without_a_tokenizer():
    with pytest.raises(ValueError, match="no lengths given"):
        score_batch([F1.format("2")], ["2"], [0], step=0, total_steps=1, config=PAPER)


def test_lengths_from_the_configured_tokenizer(tmp_path):
    """The tiny model's tokenizer alone (no model to build): its own count of the response's tokens."""
    from avr.miniature.tiny import build_tokenizer

    tok = build_tokenizer()
    tok.save_pretrained(tmp_path)
    cfg = RewardConfig.from_dict({"tokenizer": str(tmp_path)})
    texts = [F1.format("2"), F3.format("2")]
    res = score_batch(texts, ["2", "2"], [0, 0], step=0, total_steps=1, config=cfg)
    assert [r.length for r in res] == [
        float(len(tok(t, add_special_tokens=False)["input_ids"])) for t in texts
    ]
    assert res[0].length < res[1].length


def test_missing_ground_truth_scores_wrong_and_is_counted():
    res = score_batch(
        [F1.format("2"), F1.format("")],
        [None, ""],
        [0, 0],
        step=0,
        total_steps=1,
        lengths=[3, 3],
        config=PAPER,
    )
    assert res[0].correct is False and res[0].valid_ground_truth is False
    assert summarize(res)["avr/invalid_ground_truth"] == 2.0


def test_seed_preset_reproduces_hand_computed_reference_values():
    """Reference arithmetic: words x 1.3 lengths, and the length factor on penalties too."""
    long_words = " ".join(["word"] * 300)  # 300 words -> 390 "tokens" -> L = 300/390
    cases = [
        (F1.format("2"), 1.5),  # short, right, F1: 1.5
        (F1.format("3"), -0.5),  # short, wrong
        # "<perception>two", "red", then the 300 words (the first and last glued to tags): 302 words
        (F3.replace("1+1=2", long_words).format("2"), 1.0 * 300 / (302 * 1.3)),
        (F1.replace("{}", long_words + " {}").format("3"), -0.5 * 300 / (301 * 1.3)),  # softened penalty
    ]
    res = score_batch([c[0] for c in cases], ["2"] * 4, [0, 1, 2, 3], step=5, total_steps=10, config=SEED)
    assert [r.score for r in res] == pytest.approx([c[1] for c in cases])
    # the paper preset does not soften the penalty of the long wrong answer
    paper = score_response(cases[3][0], "2", length=391.3, config=PAPER)
    assert paper.score == -0.5


def test_the_seed_preset_counts_words_even_when_token_lengths_are_given():
    """verl hands every rollout's token count; the seed preset's reference arithmetic still counts words."""
    long_text = " ".join(["w"] * 400)
    res = score_batch(
        [F1.format("2"), F1.format(long_text)], ["2", "2"], [0, 1], step=0, total_steps=1,
        lengths=[1000, 5], config=SEED,
    )  # fmt: skip
    assert [r.length for r in res] == [pytest.approx(1.3), pytest.approx(400 * 1.3)]
    assert res[0].score == pytest.approx(1.5)  # 1 word: L = 1, not L(1000 tokens) = 0.3
    assert res[1].score == pytest.approx(-0.5 * 300 / 520)  # 400 words: a penalty softened by L(520)
    paper = score_batch([F1.format("2")], ["2"], [0], step=0, total_steps=1, lengths=[1000], config=PAPER)
    assert paper[0].length == 1000 and paper[0].score == pytest.approx(1.5 * 0.3)  # tokens as given


def _result(fmt: int, correct: bool, length: float, score: float, **kw) -> RewardResult:
    lf = kw.pop("length_factor", 1.0)
    return RewardResult(score, fmt, correct, length, lf, kw.pop("term", 0.0), kw.pop("base", score), **kw)


def test_summarize_key_set_and_values():
    results = [
        _result(1, True, 10, 1.5, term=0.5, diversity_bonus=0.0),
        _result(1, False, 30, -0.5, term=-0.5, length_factor=0.5, grading_timed_out=True),
        _result(3, True, 100, 1.2, term=0.0, base=1.0, diversity_bonus=0.2),
        _result(0, False, 7, -1.0, valid_ground_truth=False),
    ]
    assert summarize(results) == {
        "avr/malformed/share": 0.25,
        "avr/answer/share": 0.5,
        "avr/answer/accuracy": 0.5,
        "avr/answer/mean_length": 20.0,
        "avr/perception/share": 0.0,  # no format-2 rollout: a share, but no accuracy or length
        "avr/full/share": 0.25,
        "avr/full/accuracy": 1.0,
        "avr/full/mean_length": 100.0,
        "avr/accuracy": 0.5,
        "avr/mean_score": pytest.approx(1.2 / 4),
        "avr/mean_length_factor": pytest.approx(3.5 / 4),
        "avr/mean_format_term": 0.0,
        "avr/mean_base": pytest.approx(1.0 / 4),
        "avr/mean_diversity_bonus": pytest.approx(0.05),
        "avr/invalid_ground_truth": 1.0,
        "avr/grading_timeouts": 1.0,
    }
    assert set(summarize(results, prefix="x/")) == {k.replace("avr/", "x/") for k in summarize(results)}
    assert summarize([]) == {}


RESPONSE = st.one_of(
    st.text(max_size=200),
    st.builds(
        lambda parts: "".join(parts),
        st.lists(
            st.sampled_from(
                [
                    "<answer>",
                    "</answer>",
                    "<perception>",
                    "</perception>",
                    "<reasoning>",
                    "</reasoning>",
                    "B",
                    "2",
                    "\\frac{1}{2}",
                    "x^2",
                    " ",
                    "\n",
                    "(B)",
                    "a",
                    "1,000",
                    "$",
                    "{",
                    "}",
                ]
            ),
            max_size=30,
        ),
    ),
)


# 10,000 by default; benchmarks/mutation.py runs fewer, once per mutant
FUZZ_EXAMPLES = int(os.environ.get("AVR_FUZZ_EXAMPLES", "10000"))


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(response=RESPONSE, gt=st.sampled_from(["B", "2", "0.5", "x^2", "red", ""]))
def test_fuzz_random_responses_never_raise_and_stay_bounded(_math_worker, response, gt):
    """No response raises or scores outside [-1, 1.5]. How long a call may take is grading's time
    bound, tested in tests/test_grading.py against a runaway input; here a timed-out call is wrong."""
    r = score_response(
        response, gt, length=len(response), choices=["red", "blue"] if gt == "B" else None, config=PAPER
    )
    assert r.format in (0, 1, 2, 3) and -1.0 <= r.score <= 1.5


def test_cpu_standin_logs_grading_timeouts(monkeypatch):
    """The CPU stand-in's per-step avr/* metrics carry the timeout count, as verl's trainer mode does."""
    import avr.rl.reward
    from avr.grading import Grade
    from avr.miniature.standin import FSGRPOReward

    class State:
        global_step = 0

    reward = FSGRPOReward(PAPER, num_generations=2, updates_per_step=1, total_steps=4)
    real_grade = avr.rl.reward.grade
    monkeypatch.setattr(
        avr.rl.reward,
        "grade",
        lambda a, *r, **k: Grade(False, timed_out=True) if a == "x" else real_grade(a, *r, **k),
    )
    reward(
        ["p", "p"], [F1.format("x"), F1.format("2")], [[1, 2], [1, 2]],
        ground_truth=[["2"], ["2"]], choices=[None, None], prompt_id=["0", "0"], trainer_state=State(),
    )  # fmt: skip
    metrics = reward.pop_metrics()
    assert metrics["avr/grading_timeouts"] == 1.0 and metrics["avr/accuracy"] == 0.5


def test_each_term_declares_how_it_is_logged():
    """``_term`` runs when RewardResult is defined; called here so that what it declares is pinned."""
    from dataclasses import MISSING

    from avr.rl.reward import PER_SAMPLE_FIELDS, _term

    f = _term("mean")
    assert dict(f.metadata) == {"log": "mean", "per_sample": True, "key": None} and f.default is MISSING
    g = _term("count", per_sample=False, key="k", default=0.0)
    assert dict(g.metadata) == {"log": "count", "per_sample": False, "key": "k"} and g.default == 0.0
    assert PER_SAMPLE_FIELDS == (
        "format", "correct", "length", "length_factor", "format_term", "base", "valid_ground_truth",
        "grading_timed_out",
    )  # fmt: skip


def test_a_result_as_a_dict_and_back_from_its_per_sample_fields():
    r = _result(2, True, 12.0, 1.3, term=0.3, base=1.3, valid_ground_truth=False, grading_timed_out=True)
    d = r.as_dict()
    assert d == {
        "score": 1.3, "format": 2, "correct": True, "length": 12.0, "length_factor": 1.0, "format_term": 0.3,
        "base": 1.3, "diversity_bonus": 0.0, "valid_ground_truth": False, "grading_timed_out": True,
    }  # fmt: skip
    # as a reward manager reports it (numbers as strings or numpy scalars), plus the group's bonus
    info = {
        k: str(v) if isinstance(v, float) else v
        for k, v in d.items()
        if k not in ("score", "diversity_bonus")
    }
    back = RewardResult.from_per_sample(info, diversity_bonus=0.25)
    assert back == RewardResult(1.55, 2, True, 12.0, 1.0, 0.3, 1.3, 0.25, False, True)
    assert type(back.format) is int and type(back.length) is float
    with pytest.raises(KeyError, match=r"reward info lacks \['base'\]"):
        RewardResult.from_per_sample({k: v for k, v in info.items() if k != "base"})


def test_the_default_preset_is_paper_and_a_bad_name_says_what_was_looked_for(tmp_path):
    assert RewardConfig.load() == PAPER
    with pytest.raises(FileNotFoundError, match=r"^reward config not found: .*nope\.yaml \(presets: .*paper"):
        RewardConfig.load("nope")
    listed = tmp_path / "list.yaml"
    listed.write_text("- 1\n")
    with pytest.raises(ValueError, match=r"expected a mapping of reward config settings, got list"):
        RewardConfig.load(listed)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"bonus": {1: 0.5, 2: 0.3}}, r"bonus needs entries for formats 1, 2 and 3, got \[1, 2\]"),
        (
            {"penalty": {1: 0, 2: 0, 3: 0, 4: 0}},
            r"penalty needs entries for formats 1, 2 and 3, got \[1, 2, 3, 4\]",
        ),
        ({"length_unit": "chars"}, r"length_unit must be 'tokens' or 'words', got 'chars'"),
        ({"length_threshold": 0}, r"length_threshold must be > 0 and length_floor in \[0, 1\]"),
        ({"length_floor": 1.5}, r"length_threshold must be > 0 and length_floor in \[0, 1\]"),
        ({"length_floor": -0.1}, r"length_threshold must be > 0 and length_floor in \[0, 1\]"),
    ],
)
def test_a_config_that_cannot_be_a_reward_is_refused(data, message):
    with pytest.raises(ValueError, match=rf"^reward config: {message}$"):
        RewardConfig.from_dict(data)


def test_table_keys_are_read_as_formats_and_the_bounds_are_inclusive():
    cfg = RewardConfig.from_dict(
        {"bonus": {"1": "0.5", "2": 0.25, "3": 0}, "length_threshold": 1, "length_floor": 0}
    )
    assert cfg.bonus == {1: 0.5, 2: 0.25, 3: 0.0} and type(cfg.bonus[3]) is float
    assert RewardConfig.from_dict({"length_floor": 1.0}).length_floor == 1.0


def test_edges_of_w_and_of_the_config():
    assert diversity_weight(0, 1, PAPER) == pytest.approx(0.5)  # one step: the full weight at t = 0
    assert diversity_weight(-1, 0, PAPER) == 0.0  # no horizon: never a division by zero
    assert RewardConfig.from_dict({"length_unit": "words"}).length_unit == "words"
    with pytest.raises(ValueError, match=r"^reward config: unknown key\(s\) \['nope'\]"):
        RewardConfig.from_dict({"nope": 1})


def test_the_grading_deadline_is_the_configs(monkeypatch):
    import avr.rl.reward
    from avr.grading import Grade

    seen: list[float] = []
    monkeypatch.setattr(avr.rl.reward, "grade", lambda *a, timeout, **k: seen.append(timeout) or Grade(True))
    score_response(F1.format("2"), "2", length=1, config=RewardConfig.from_dict({"grading_timeout": 7.5}))
    assert seen == [7.5]


# --- boundaries and plumbing the mutation run found unpinned --------------------------------------


def test_a_rebuilt_result_has_no_bonus_unless_given():
    info = score_response(F1.format(4), "4", length=10, config=PAPER).as_dict()
    plain = RewardResult.from_per_sample(info)
    assert plain.diversity_bonus == 0.0 and plain.score == plain.base == 1.5


def test_the_length_threshold_itself_is_not_penalised():
    assert length_factor(PAPER.length_threshold, PAPER) == 1.0
    assert length_factor(PAPER.length_threshold + 1, PAPER) < 1.0


def test_a_malformed_response_keeps_its_length_and_no_shaping():
    r = score_response("no tags at all", "4", length=37, config=PAPER)
    assert (r.score, r.format, r.length, r.length_factor, r.format_term) == (
        PAPER.malformed_reward,
        0,
        37,
        1.0,
        0.0,
    )


def test_a_letter_answer_is_graded_against_the_options():
    """ "B" is right for the gold "blue" only with the options in hand: they must reach grading."""
    opts = ["red", "blue"]
    assert score_response(F1.format("B"), "blue", length=5, choices=opts, config=PAPER).correct
    assert not score_response(F1.format("B"), "blue", length=5, config=PAPER).correct
    batch = score_batch(
        [F1.format("B"), F1.format("A")], ["blue", "blue"], [0, 0], step=0, total_steps=10,
        lengths=[5, 5], choices=[opts, opts], config=PAPER,
    )  # fmt: skip
    assert [r.correct for r in batch] == [True, False]


def test_a_full_weight_bonus_and_a_group_of_two():
    """w(0) = 1.0 exactly is a weight like any other, and two valid responses in two formats share."""
    from dataclasses import replace

    one = replace(PAPER, diversity_weight=1.0)
    assert diversity_bonuses([1, 3], [0, 0], step=0, total_steps=10, config=one) == [0.5, 0.5]
    assert diversity_bonuses([1, 3], [0, 0], step=0, total_steps=10, config=PAPER) == [0.25, 0.25]


def test_score_batch_defaults_to_the_paper_preset_and_records_the_bonus():
    rs, gts, gids = [F1.format(4), F3.format(4), F3.format(4)], ["4"] * 3, [0, 0, 0]
    mine = score_batch(rs, gts, gids, step=0, total_steps=10, lengths=[5, 9, 9], config=PAPER)
    assert score_batch(rs, gts, gids, step=0, total_steps=10, lengths=[5, 9, 9]) == mine
    assert [r.diversity_bonus for r in mine] == pytest.approx([0.5 * 2 / 3, 0.5 / 3, 0.5 / 3])
    assert [r.score - r.base for r in mine] == pytest.approx([r.diversity_bonus for r in mine])


def test_score_batch_errors_say_what_is_wrong():
    with pytest.raises(
        ValueError, match=r"^score_batch: responses, ground_truths and group_ids must have the same length$"
    ):
        score_batch(["a", "b"], ["1"], [0, 0], step=0, total_steps=1, lengths=[1, 1], config=PAPER)
    with pytest.raises(ValueError, match="zip"):  # lengths for two of three responses
        score_batch(["a", "b", "c"], ["1"] * 3, [0] * 3, step=0, total_steps=1, lengths=[1, 1], config=PAPER)
    with pytest.raises(ValueError) as e:
        score_batch(["a"], ["1"], [0], step=0, total_steps=1, config=PAPER)  # no lengths, no tokenizer
    assert str(e.value) == (
        "score_batch: no lengths given and the reward config names no tokenizer; pass the rollout's "
        "token counts (lengths=...) or set `tokenizer:` in the config (only the seed preset counts words)"
    )
