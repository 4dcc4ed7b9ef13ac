"""Format annotation: pass rates pick the format, the teacher's texts are kept only when it is right,
and a killed run resumes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from avr.data.annotate import OUTPUT, REPORT, AnnotateConfig, annotate, choose_format
from avr.generation import Generation, _cut_at_stop
from avr.records import read_records
from tests.helpers.kill import kill_after_lines

CFG = AnnotateConfig(samples=4, direct_pass_rate=0.75, perception_pass_rate=0.5, batch_size=2)


@pytest.mark.parametrize(
    ("direct", "perception", "fmt"),
    [
        (1.0, None, 1),
        (0.75, None, 1),
        (0.5, 0.5, 2),
        (0.5, 1.0, 2),
        (0.5, 0.25, 3),
        (0.0, 0.0, 3),
        (0.0, None, 3),
    ],
)
def test_choose_format_by_pass_rate(direct, perception, fmt):
    assert choose_format(direct, perception, CFG) == fmt


def test_config_rejects_unknown_keys_and_bad_thresholds():
    with pytest.raises(ValueError, match=r"default.yaml: unknown key\(s\) \['sample'\]"):
        AnnotateConfig.load("default", {"sample": 3})
    with pytest.raises(ValueError, match="perception_pass_rate <= direct_pass_rate"):
        AnnotateConfig.load("default", {"perception_pass_rate": 0.9, "direct_pass_rate": 0.5})
    assert AnnotateConfig.load("default").samples == 8


class Scripted:
    """Answers by question: how many of the k direct / perception samples are right, and the teacher."""

    def __init__(self, plan):
        self.plan = plan
        self.prefills: list[str] = []

    def count_tokens(self, text):
        return len(text)

    def generate(self, requests):
        out = []
        for req in requests:
            self.prefills.append(req.prefill)
            p = self.plan[req.question]
            if req.prefill == "<answer>\n":
                texts = [f"{a}</answer>" for a in p["direct"]]
            elif req.prefill == "<perception>\n" and req.n > 1:
                texts = ["seen</perception>" for _ in range(req.n)]
            elif (
                req.prefill.endswith("<answer>\n")
                and "<reasoning>" not in req.prefill
                and "seen<" in req.prefill
            ):
                texts = [f"{p['perceived'].pop(0)}</answer>"]
            elif req.prefill.endswith("<perception>\n"):
                texts = ["teacher sees</perception>"]
            elif req.prefill.endswith("<reasoning>\n"):
                texts = ["teacher reasons</reasoning>"]
            else:
                texts = [f"{p['teacher']}</answer>"]
            out.append([Generation(*(lambda t: (t, len(t)))(_cut_at_stop(t, req.stop)[0])) for t in texts])
        return out


def _records(tmp_path, rows):
    from PIL import Image

    img = tmp_path / "im.png"
    Image.new("RGB", (8, 8), (255, 0, 0)).save(img)
    path = tmp_path / "recs.jsonl"
    path.write_text("".join(json.dumps({"image": "im.png", **r}) + "\n" for r in rows))
    return path


def test_annotate_picks_formats_and_keeps_only_correct_teacher_texts(tmp_path):
    rows = [
        {"id": "easy", "question": "easy", "answer": "1"},
        {"id": "mid", "question": "mid", "answer": "2"},
        {"id": "hard", "question": "hard", "answer": "3", "perception": "a given description"},
        {"id": "bad", "question": "bad", "answer": "4"},
    ]
    plan = {
        "easy": {"direct": ["1", "1", "1", "0"]},  # 3/4 -> format 1, needs no text
        "mid": {"direct": ["0"] * 4, "perceived": ["2", "2", "0", "0"], "teacher": "2"},  # 2/4 -> format 2
        "hard": {"direct": ["0"] * 4, "perceived": ["0"] * 4, "teacher": "3"},  # -> 3, keeps its perception
        "bad": {"direct": ["0"] * 4, "perceived": ["0"] * 4, "teacher": "9"},  # teacher wrong twice -> report
    }
    policy, teacher = Scripted(plan), Scripted(plan)
    stats = annotate(
        [_records(tmp_path, rows)], tmp_path / "out", backend=policy, teacher=teacher, config=CFG
    )
    assert stats["annotated"] == 3 and stats["skipped"] == 1 and stats["by_format"] == {1: 1, 2: 1, 3: 1}
    recs = {r.id: r for r in read_records([tmp_path / "out" / OUTPUT])[0]}
    assert recs["easy"].format == 1 and recs["easy"].perception is None
    assert recs["mid"].format == 2 and recs["mid"].perception == "teacher sees"
    assert recs["hard"].format == 3 and recs["hard"].perception == "a given description"
    assert recs["hard"].reasoning == "teacher reasons"
    assert recs["mid"].extra["annotation"] == {
        "pass_rate_direct": 0.0,
        "pass_rate_perception": 0.5,
        "teacher": ["perception"],
    }
    # the teacher wrote the reasoning after the record's own perception, not its own
    assert "<perception>\na given description\n</perception>\n\n<reasoning>\n" in teacher.prefills
    report = [json.loads(x) for x in (tmp_path / "out" / REPORT).read_text().splitlines()]
    assert [r["id"] for r in report] == ["bad"] and "teacher never answered correctly" in report[0]["error"]
    assert report[0]["row"] == 4
    # a rerun does nothing: done rows and reported rows are not redone
    again = annotate([_records(tmp_path, rows)], tmp_path / "out", backend=Scripted({}), config=CFG)
    assert again["annotated"] == 0 and again["already_done"] == 3


@pytest.mark.e2e
def test_annotate_on_the_tiny_model_resumes_after_kill(tmp_path, tiny_model, env):
    from avr.miniature.synthetic import generate

    src = generate(tmp_path / "syn", n=24, seed=3, name="all")
    rows = [json.loads(x) for x in src.read_text().splitlines()]
    full = [r for r in rows if r.get("reasoning")]  # a random model never answers right: keep rows with texts
    recs = src.with_name("full.jsonl")
    recs.write_text("".join(json.dumps(r) + "\n" for r in full))
    out = tmp_path / "ann"
    cmd = [sys.executable, "-m", "avr.cli", "data", "annotate", "--input", str(recs), "--out", str(out),
           "--model", str(tiny_model), "--set", "samples=2", "--set", "batch_size=1",
           "--set", "max_new_tokens=6", "--set", "temperature=1.0"]  # fmt: skip
    path = out / OUTPUT
    first = kill_after_lines(cmd, env, path)
    assert 2 <= len(first) < len(full), "the run must be killed midway for this test to mean anything"
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert f"({len(first)} done before)" in r.stdout
    lines = path.read_text().splitlines()
    assert lines[: len(first)] == first  # finished rows were kept, not redone
    ids = [json.loads(x)["id"] for x in lines]
    assert sorted(ids) == sorted(r["id"] for r in full) and len(set(ids)) == len(ids)
    recs_out, _ = read_records([path])
    assert all(r.format == 3 for r in recs_out)  # random model: pass rate 0 -> the full format
