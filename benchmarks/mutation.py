"""Mutation testing of the core modules with mutmut: the kill ratio per module (not part of CI).

A test suite that runs every line can still pin no number: of 27 deliberate one-line bugs, 16 went
uncaught by a green suite. mutmut makes such bugs by the hundred (an operator, a
constant, a string, a dropped call) and runs the tests that cover each; a mutant that survives is a
bug the tests would not see, unless it is *equivalent* (no input tells it from the original).

Each module is mutated alone in a scratch copy of the checkout (``outputs/mutation/<module>/``, kept
for ``mutmut show NAME`` and ``mutmut browse`` there), against only the tests listed for it here, so a
module takes minutes rather than the whole suite per mutant. The table gives, per module, the
mutants, those killed (a test failed or timed out), those that survived, those no selected test
reaches, the survivors listed below as equivalent (each with why), and the kill ratio
``killed / (mutants - equivalent)``. Target: >= 90% per module. Exit status 1 when a module is under.

    .venv/bin/python benchmarks/mutation.py                       # every module (about 1.5 h on 2 cores)
    .venv/bin/python benchmarks/mutation.py avr/formats.py        # one module
    .venv/bin/python benchmarks/mutation.py --list                # the modules and their tests
    .venv/bin/python benchmarks/mutation.py --report              # the table of the last runs, no run
    .venv/bin/python benchmarks/mutation.py --sample 60           # a seeded sample of each module's mutants
    .venv/bin/python benchmarks/mutation.py --survivors           # after new tests: the survivors again

mutmut is a development dependency (``pip install -e .[dev]``); where it lives elsewhere, put it on
PYTHONPATH. The runs use mutmut's fork server (``process_isolation = "forkserver"`` in pyproject.toml):
a worker forked from a process that already ran tests would share that process's math-verify child.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "outputs" / "mutation"
TARGET = 0.90


@dataclass(frozen=True)
class Module:
    path: str  # the file mutated
    tests: tuple[str, ...]  # pytest arguments selecting the tests that cover it
    functions: tuple[str, ...] = ()  # only these functions' mutants (mangled-name globs); all when empty


UNIT = ("-m", "not e2e")
MODULES: tuple[Module, ...] = (
    Module("avr/formats.py", ("tests/test_formats.py",)),
    Module("avr/grading.py", ("tests/test_grading.py",)),
    Module("avr/rl/reward.py", ("tests/rl/test_reward.py",)),
    Module("avr/config.py", ("tests/test_config.py",)),
    Module("avr/eval/scoring.py", ("tests/eval/test_scoring.py", "tests/eval/test_judge.py")),
    Module(
        "avr/eval/rules.py",
        ("tests/eval/test_rules.py", "tests/eval/test_scoring.py", "tests/eval/test_mcq_letters.py"),
    ),
    Module(
        "avr/eval/metrics.py",
        ("tests/eval/test_metrics.py", "tests/eval/test_breakdowns.py", "tests/eval/test_splits.py"),
    ),
    Module("avr/data/sft.py", ("tests/data/test_sft.py", *UNIT)),
    Module("avr/data/rl.py", ("tests/data/test_rl.py", *UNIT)),
    Module("avr/data/exclude.py", ("tests/data/test_exclude.py", *UNIT)),
    # the report's numbers and text; plot_level_shares and _smooth only draw (the test checks the PNG exists)
    Module(
        "avr/miniature/experiment/report.py",
        ("tests/miniature/experiment/test_report.py",),
        functions=(
            "x__read_jsonl",
            "x_levels_of",
            "x_run_metrics",
            "x_training_by_level",
            "x__pct",
            "x__share",
            "x__mean_sd",
            "x_precondition_table",
            "x__row",
            "x_arm_summary",
            "x_targets_table",
            "x_headline_table",
            "x_write_report",
            "x_forced_targets_table",
            "x_shares_at",
            "x_shares_table",
            "x_bootstrap_ci",
            "x_interval_table",
        ),
    ),
    # the stand-in's argument building: the recipe, TRL's config, the groups and the reward's step
    Module(
        "avr/miniature/standin.py",
        ("tests/miniature/test_standin.py", *UNIT),
        functions=(
            "x__flatten",
            "x__check_keys",
            "x_load_standin_recipe",
            "x_updates_per_step",
            "x_grpo_args",
            "x_completion_text",
            "x_group_ids",
            "xǁFSGRPORewardǁ*",
        ),
    ),
)

# Survivors that no test can kill, because no input tells them from the original: name -> why.
# mutmut numbers mutants by position in the function, so an edit to a function renumbers these;
# the report then lists the names that no longer survive or exist, to be reviewed.
_ZIP = "each format's pattern has exactly one group per block, so zip's strictness never decides"
_TWO_ZIPS = (
    "both loops zip the same two sequences; while the other loop stays strict, a length mismatch still raises"
)
EQUIVALENT: dict[str, str] = {
    "avr.formats.x_parse__mutmut_17": _ZIP + " (strict=None)",
    "avr.formats.x_parse__mutmut_20": _ZIP + " (strict dropped)",
    "avr.formats.x_parse__mutmut_21": _ZIP + " (strict=False)",
    "avr.miniature.experiment.report.x_headline_table__mutmut_7": (
        "a reference without level 1 or 3 fails in arm_summary anyway; with both, the default is unused"
    ),
    "avr.miniature.experiment.report.x_headline_table__mutmut_14": "a level's block always has n",
    "avr.miniature.experiment.report.x_headline_table__mutmut_23": (
        "'.1F' and '.1f' differ only for inf and nan; a mean over evaluated items is finite"
    ),
    "avr.miniature.experiment.report.x_headline_table__mutmut_91": "sd=None reads as sd=False",
    "avr.data.sft.x_build_sft_dataset__mutmut_38": "the progress bar's display only (its description)",
    "avr.data.sft.x_build_sft_dataset__mutmut_40": "the progress bar's display only (disable=None shows it)",
    "avr.data.sft.x_build_sft_dataset__mutmut_43": "the progress bar's display only (its unit label)",
    "avr.data.sft.x_build_sft_dataset__mutmut_48": "the progress bar's display only (shown from 200 or 201 rows)",
    "avr.grading.x_gold_letter__mutmut_13": (
        "find and rfind of one letter agree: OPTION_LETTERS has no letter twice (-1 for both when absent)"
    ),
    "avr.grading.xǁ_MathChildǁ__init____mutmut_4": (
        "the first _buf is never read: ensure_started empties it before the first _readline"
    ),
    "avr.grading.xǁ_MathChildǁ__init____mutmut_3": "the first _buf is never read (as mutant 4)",
    "avr.grading.xǁ_MathChildǁkill__mutmut_3": "after a kill, ensure_started empties _buf before any read",
    "avr.grading.x_strip_wrappers__mutmut_4": "changed is read only as a truth value: None is False",
    "avr.grading.x_choice_letter__mutmut_28": "find and rfind of one letter agree (no letter twice in OPTION_LETTERS)",
    "avr.grading.x_grade__mutmut_29": "an empty choices list and None both skip the multiple-choice path",
    "avr.grading.xǁ_MathVerifierǁstart__mutmut_1": (
        "the default patience, 60 or 61 s: only a child that takes a minute to start tells them apart"
    ),
    "avr.eval.scoring.x_extract_answer__mutmut_5": "a text without an answer block or boxed value: 'XXXX' is as empty",
    "avr.eval.scoring.x_extract_answer__mutmut_33": "a text without an answer block or boxed value: 'XXXX' is as empty",
    "avr.eval.scoring.x_extract_answer__mutmut_20": "the block is there exactly once (counted): index and rindex agree",
    "avr.eval.scoring.x_extract_answer__mutmut_24": "the block is there exactly once (counted): index and rindex agree",
    "avr.eval.scoring.x_extract_answer__mutmut_28": "start == end is an empty block, which the strip() test rejects too",
    "avr.eval.scoring.xǁJudgeǁ__call____mutmut_11": "last is overwritten by the first call, and there is always one",
    "avr.eval.scoring.xǁJudgeǁ_ask__mutmut_59": "the reason is read only when there is no verdict; here there is one",
    "avr.eval.scoring.x_score_prediction__mutmut_40": "needs_judge is written out as bool(): None is False",
    "avr.eval.rules.x_mmmu_parse_choice__mutmut_17": "by_text is read only as a truth value: None is False",
    "avr.eval.rules.x_mathv_equal__mutmut_18": (
        "g is stripped, so it is all spaces only when empty: any replacement of ' ' leaves it falsy"
    ),
    "avr.config.x__resolve__mutmut_13": "globbing a folder that does not exist yields nothing, as the guard does",
    "avr.config.x_read_preset__mutmut_15": (
        "encoding=None is the locale's, UTF-8 here and under C/POSIX (PEP 538/540); no latin-1 locale to tell"
    ),
    "avr.config.x_read_preset__mutmut_19": "'UTF-8' and 'utf-8' name the same codec",
    "avr.rl.reward.x__term__mutmut_9": "field(default=MISSING, metadata=m) is field(metadata=m)",
    **{f"avr.rl.reward.x_diversity_bonuses__mutmut_{i}": _TWO_ZIPS for i in (16, 19, 20, 27, 30, 31)},
    "avr.rl.reward.x_diversity_bonuses__mutmut_23": "every count doubled leaves every share count / n_valid as it was",
    "avr.rl.reward.x_diversity_weight__mutmut_4": "at step == total_steps the cosine gives 0.5 x (1 + cos pi) = 0.0 too",
    "avr.rl.reward.x_score_response__mutmut_35": (
        "without a valid ground truth, grade() returns Grade(False): the same not-correct, not-timed-out as None"
    ),
    "avr.rl.reward.x_length_factor__mutmut_1": "at length == threshold the ratio threshold / length is 1.0 too",
    **{
        f"avr.rl.reward.x_score_batch__mutmut_{i}": "a short lengths list still raises, at the strict zip of the bonuses"
        for i in (44, 49, 50)
    },
    "avr.rl.reward.x_score_batch__mutmut_71": "base and bonus always have one entry per response",
    "avr.rl.reward.x_score_batch__mutmut_74": "base and bonus always have one entry per response",
    "avr.rl.reward.x_diversity_bonuses__mutmut_40": (
        "n_valid == 1: the response's own share is 1, so w x (1 - 1) is the same 0.0"
    ),
    "avr.rl.reward.x_score_batch__mutmut_75": "base and bonus always have one entry per response",
}


def module_name(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".")


def scratch_dir(mod: Module) -> Path:
    return WORK / module_name(mod.path)


def _toml_list(values: list[str] | tuple[str, ...]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def _config_for(text: str, mod: Module) -> str:
    """pyproject.toml with its ``[tool.mutmut]`` narrowed to one module and its tests."""
    start = text.index("[tool.mutmut]")
    nxt = re.search(r"^\[", text[start + 1 :], re.MULTILINE)
    end = start + 1 + nxt.start() if nxt else len(text)
    section = text[start:end]
    section = re.sub(r"^only_mutate = .*$", f"only_mutate = {_toml_list([mod.path])}", section, flags=re.M)
    section = re.sub(
        r"^pytest_add_cli_args_test_selection = .*$",
        f"pytest_add_cli_args_test_selection = {_toml_list(mod.tests)}",
        section,
        flags=re.M,
    )
    return text[:start] + section + text[end:]


def _copy_checkout(dest: Path) -> None:
    """The working tree as git sees it (tracked and untracked, not ignored) into ``dest``."""
    if dest.exists():
        shutil.rmtree(dest)
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, check=True, capture_output=True
    ).stdout.split(b"\0")
    for raw in files:
        if not raw:
            continue
        rel = raw.decode()
        src = REPO / rel
        if not src.is_file() or rel.startswith(("build/", "outputs/")):
            continue
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest / rel)


def _env(cwd: Path) -> dict[str, str]:
    env = {**os.environ, "AVR_CONFIG_DIR": str(cwd / "train_configs"), "HF_HUB_OFFLINE": "1"}
    env.setdefault("OMP_NUM_THREADS", "1")
    # tests/rl/test_reward.py's fuzz: 10,000 examples once in the suite, not once per mutant
    env.setdefault("AVR_FUZZ_EXAMPLES", "200")
    return env


def _mutmut(args: list[str], cwd: Path, *, log: Path | None = None) -> subprocess.CompletedProcess:
    """mutmut's command line in ``cwd``; its progress spinner goes to ``log`` when given."""
    cmd = [sys.executable, "-c", "import sys; from mutmut.__main__ import cli; sys.exit(cli())", *args]
    if log is None:
        return subprocess.run(cmd, cwd=cwd, env=_env(cwd), text=True, capture_output=True)
    with open(log, "w") as f:
        done = subprocess.run(cmd, cwd=cwd, env=_env(cwd), stdout=f, stderr=subprocess.STDOUT)
    if done.returncode:
        raise SystemExit(f"mutmut failed on {cwd.name} (exit {done.returncode}); see {log}")
    return done


# mutmut's own generation step, alone: the mutated copy under mutants/ and its list of mutants (.meta)
_GENERATE = """
import os
os.makedirs("mutants", exist_ok=True)
from mutmut.__main__ import create_mutants
from mutmut.mutation.trampoline import set_mutant_under_test
from mutmut.utils.file_utils import copy_also_copy_files, copy_src_dir
set_mutant_under_test("mutant_generation")
copy_src_dir()
copy_also_copy_files()
create_mutants(2)
"""


def run_module(mod: Module, max_children: int | None, sample: int | None, seed: int) -> None:
    """mutmut on one module in its scratch copy: every mutant in scope, or a seeded sample of them."""
    work = scratch_dir(mod)
    _copy_checkout(work)
    pyproject = work / "pyproject.toml"
    pyproject.write_text(_config_for(pyproject.read_text(encoding="utf-8"), mod), encoding="utf-8")
    subprocess.run(
        [sys.executable, "-c", _GENERATE], cwd=work, env=_env(work), check=True, capture_output=True
    )
    names = sorted(results(mod) or {})
    if sample is not None and sample < len(names):
        names = sorted(random.Random(f"{seed}:{mod.path}").sample(names, sample))
    extra = ["--max-children", str(max_children)] if max_children else []
    print(f"== {mod.path}: {len(names)} mutants in {work} against {' '.join(mod.tests)}", flush=True)
    _mutmut(["run", *extra, *names], work, log=work / "mutmut-run.log")


def rerun_survivors(mod: Module, max_children: int | None) -> None:
    """After new tests: the last run's survivors and timeouts (not listed as equivalent) again, against
    the tests and [tool.mutmut] as they are now, in the same scratch copy (the others keep their results)."""
    work = scratch_dir(mod)
    # timeouts too: a mutant that only ran past its limit was not shown wrong by a test
    again = ("survived", "timeout")
    survivors = [n for n, s in (results(mod) or {}).items() if s in again and n not in EQUIVALENT]
    if not survivors:
        print(f"== {mod.path}: no survivor to rerun", flush=True)
        return
    for dest in (work / "tests", work / "mutants" / "tests"):
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(REPO / "tests", dest, ignore=shutil.ignore_patterns("__pycache__"))
    pyproject = work / "pyproject.toml"
    pyproject.write_text(
        _config_for((REPO / "pyproject.toml").read_text(encoding="utf-8"), mod), encoding="utf-8"
    )
    shutil.copy2(pyproject, work / "mutants" / "pyproject.toml")
    extra = ["--max-children", str(max_children)] if max_children else []
    print(f"== {mod.path}: {len(survivors)} survivors again", flush=True)
    _mutmut(["run", *extra, *survivors], work, log=work / "mutmut-rerun.log")


STATUS = {1: "killed", 3: "killed", 36: "timeout", 37: "killed", 24: "timeout", -24: "timeout"}
STATUS |= {152: "timeout", 255: "timeout", 0: "survived", 5: "no tests", 33: "no tests"}


def results(mod: Module) -> dict[str, str] | None:
    """Mutant name -> status in the module's scratch copy (``not run`` if unchecked), or None."""
    meta = scratch_dir(mod) / "mutants" / (mod.path + ".meta")
    if not meta.is_file():
        return None
    codes = json.loads(meta.read_text())["exit_code_by_key"]
    prefix = module_name(mod.path) + "."
    out = {}
    for name, code in codes.items():
        short = name.removeprefix(prefix).partition("__mutmut_")[0]
        if mod.functions and not any(re.fullmatch(_glob(f), short) for f in mod.functions):
            continue
        out[name] = "not run" if code is None else STATUS.get(code, f"suspicious ({code})")
    return out


def _glob(pattern: str) -> str:
    return ".*".join(map(re.escape, pattern.split("*")))


def report(mods: list[Module], *, diffs: bool) -> bool:
    """The table, then every survivor not listed as equivalent (with its diff); True if all meet TARGET."""
    rows, ok, notes = [], True, []
    for mod in mods:
        scoped = results(mod)
        res = {n: s for n, s in (scoped or {}).items() if s != "not run"}
        if not res:
            rows.append((mod.path, "-", "-", "-", "-", "-", "not run"))
            ok = False
            continue
        killed = sum(s in ("killed", "timeout") for s in res.values())
        survived = [n for n, s in res.items() if s == "survived"]
        untested = [n for n, s in res.items() if s == "no tests"]
        other = [n for n, s in res.items() if s not in ("killed", "timeout", "survived", "no tests")]
        equivalent = [n for n in survived if n in EQUIVALENT]
        denominator = len(res) - len(equivalent)
        ratio = killed / denominator if denominator else 1.0
        ok &= ratio >= TARGET
        run = f"{len(res)}" if len(res) == len(scoped) else f"{len(res)} of {len(scoped)}"
        rows.append(
            (mod.path, run, killed, len(survived), len(untested), len(equivalent), f"{100 * ratio:.1f}%")
        )
        mine = [n for n in EQUIVALENT if n.startswith(module_name(mod.path) + ".")]
        notes += [f"listed as equivalent but {res[n]}: {n}" for n in mine if n in res and n not in survived]
        for n in [x for x in survived if x not in EQUIVALENT] + untested + other:
            notes.append(f"{res[n]}: {n}")
            if diffs:
                shown = _mutmut(["show", n], scratch_dir(mod)).stdout
                notes += ["    " + line for line in shown.splitlines()[1:] if line.startswith(("+", "-"))]
    head = ("module", "mutants run", "killed", "survived", "no tests", "equivalent", "kill ratio")
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    for r in [head, *rows]:
        cells = (
            str(c).ljust(w) if i == 0 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        print("  ".join(cells))
    print(
        f"kill ratio = killed (timeouts included) / (run - equivalent); target {100 * TARGET:.0f}% per module"
    )
    print("'N of M': a seeded sample of N of the module's M mutants (--sample); the ratio is the sample's")
    if notes:
        print("\nnot killed, and not listed as equivalent:")
        print("\n".join(notes))
    names = {module_name(m.path) + "." for m in mods}
    eq = [(n, why) for n, why in EQUIVALENT.items() if any(n.startswith(x) for x in names)]
    if eq:
        print("\nequivalent survivors (no input tells them from the original):")
        print("\n".join(f"- {n}: {why}" for n, why in eq))
    return ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("modules", nargs="*", help="module paths (default: all)")
    ap.add_argument("--list", action="store_true", help="print the modules and their tests")
    ap.add_argument("--report", action="store_true", help="print the table of the last runs only")
    ap.add_argument("--no-diffs", action="store_true", help="do not print the diff of each survivor")
    ap.add_argument("--max-children", type=int, help="parallel mutant workers (mutmut's default: CPUs)")
    ap.add_argument("--sample", type=int, help="run a seeded sample of this many mutants per module")
    ap.add_argument("--seed", type=int, default=0, help="the sample's seed")
    ap.add_argument(
        "--survivors", action="store_true", help="rerun the last run's survivors against the tests now"
    )
    args = ap.parse_args()
    known = {m.path: m for m in MODULES}
    unknown = [m for m in args.modules if m not in known]
    if unknown:
        ap.error(f"unknown module(s) {unknown}; known: {', '.join(known)}")
    mods = [known[m] for m in args.modules] if args.modules else list(MODULES)
    if args.list:
        for m in mods:
            scope = f" (functions {', '.join(m.functions)})" if m.functions else ""
            print(f"{m.path}{scope}: {' '.join(m.tests)}")
        return 0
    if not args.report:
        for mod in mods:
            try:
                if args.survivors:
                    rerun_survivors(mod, args.max_children)
                else:
                    run_module(mod, args.max_children, args.sample, args.seed)
            except (SystemExit, subprocess.CalledProcessError) as e:  # reported; the other modules still run
                print(f"{mod.path}: {e}", flush=True)
    return 0 if report(mods, diffs=not args.no_diffs) else 1


if __name__ == "__main__":
    sys.exit(main())
