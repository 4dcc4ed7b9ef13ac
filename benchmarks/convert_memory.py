"""Peak memory of ``avr data convert`` on a large JSON file: the converters stream their input.

Writes a GQA-layout ``val_balanced_questions.json`` of N questions (all on one small image, so the
figure is the JSON's cost, not the images'), converts it in a fresh process, and prints the file's
size, the converter's peak resident memory and rows/s. Reading the file whole would cost several
times its size; streamed, the peak stays near the interpreter's baseline whatever N is.

    .venv/bin/python benchmarks/convert_memory.py [--n 300000] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = """
import resource, sys, time
from avr.data.sources import convert
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
stats = convert("gqa", sys.argv[1], sys.argv[2], split="val_balanced")
dt = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(stats["rows"], base // 1024, peak // 1024, f"{stats['rows'] / dt:.0f}")
"""

# For scale: what holding the same file in memory costs (what the converters did before streaming).
WHOLE = """
import json, resource, sys
data = json.load(open(sys.argv[1], encoding="utf-8"))
print(len(data), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def write_questions(path: Path, n: int) -> None:
    """GQA's shape: one object, question id -> question, streamed out so this script stays small too."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        f.write("{")
        for i in range(n):
            q = {
                "imageId": "n1",
                "question": f"Is the bowl number {i} to the left of the cup?",
                "answer": "yes" if i % 2 else "no",
                "fullAnswer": f"Yes, bowl {i} is to the left of the cup.",
                "types": {"structural": "verify", "semantic": "rel", "detailed": "relVerify"},
                "semanticStr": f"select: cup ({i}) ->relate: bowl,to the left of,s ({i + 1}) ->exist: ?",
            }
            f.write(("," if i else "") + json.dumps(str(2_000_000 + i)) + ":" + json.dumps(q))
        f.write("}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300_000)
    ap.add_argument("--out", default=None, help="work directory (default: a temporary one)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.out or tmp)
        src = work / "gqa"
        qfile = src / "questions1.2" / "val_balanced_questions.json"
        write_questions(qfile, args.n)
        from PIL import Image

        (src / "images").mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (32, 32), (200, 30, 30)).save(src / "images" / "n1.jpg")
        env = {**os.environ, "TQDM_DISABLE": "1"}

        def child(code: str, *argv: Path) -> list[str]:
            cmd = [sys.executable, "-c", code, *map(str, argv)]
            return subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout.split()

        rows, base_mb, peak_mb, rate = child(CHILD, src, work / "out")[-4:]
        whole_mb = child(WHOLE, qfile)[-1]
        size_mb = qfile.stat().st_size / 2**20
        print(f"questions file: {args.n} questions, {size_mb:.0f} MiB")
        print(f"converted: {rows} rows at {rate} rows/s")
        print(f"peak resident memory: {peak_mb} MiB (after imports: {base_mb} MiB)")
        print(f"for scale, json.load of the same file alone: {whole_mb} MiB")


if __name__ == "__main__":
    main()
