"""Every evaluation of a native-resolution model, raw and format-aligned side by side, in one table.

    python benchmarks/bench_native_eval.py [--model native] [--out benchmarks/results/native_eval]
                                           [--only native-pool] [--threads 1]

Runs the real CLI, `fakescope evaluate --model MODEL --data DATA [--split S] [--align-format jpeg:96]
--out OUT/<name>-<raw|aligned>`, for each test set below (native-pool test; the out-of-pool sets),
then `--degrade genimage` on native-pool test aligned, and writes OUT/summary.json and
OUT/summary.md (AUROC, accuracy, generator top-1 and macro-F1 where the set has generator labels
the model knows, and native-pool's confusion matrix). Reruns resume finished evaluations.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SHARED = REPO.parent / "shared" / "data"

# name -> (data, split or None); the aligned run of each is jpeg:96 on both classes.
SETS: dict[str, tuple[str, str | None]] = {
    "native-pool": (str(SHARED / "native-pool" / "manifest.csv"), "test"),
    "genimage-tree": (str(SHARED / "genimage-tree"), None),
    "tiny-genimage-sample": (str(SHARED / "tiny-genimage-sample"), None),
    "commfor-sample": (str(SHARED / "commfor-sample"), None),
    "cnndetection_ranking": (str(SHARED / "cnndetection_ranking"), None),
}


def fakescope_bin() -> str:
    candidate = Path(sys.executable).with_name("fakescope")
    return str(candidate) if candidate.exists() else shutil.which("fakescope") or "fakescope"


def evaluate(model: str, name: str, data: str, split: str | None, align: str | None, out: Path, threads: int,
             degrade: str | None = None) -> dict:
    args = [fakescope_bin(), "evaluate", "--model", model, "--data", data, "--out", str(out), "--threads", str(threads),
            "--bootstrap", "200", "--no-progress", "--no-report"]
    if split:
        args += ["--split", split]
    if align:
        args += ["--align-format", align]
    if degrade:
        args += ["--degrade", degrade]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.run(args, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"}
    doc = json.loads((out / "metrics.json").read_text())
    clean = doc["conditions"]["clean"]["overall"]
    row = {"n": clean["n"], "n_real": clean["n_real"], "n_fake": clean["n_fake"], "auroc": clean["auroc"],
           "accuracy": clean["accuracy"], "real_accuracy": clean["real_accuracy"], "fake_accuracy": clean["fake_accuracy"],
           "command": " ".join(args[1:])}
    att = doc.get("attribution") or {}
    if att.get("top1_accuracy") is not None:
        row |= {"top1": att["top1_accuracy"], "macro_f1": att["macro_f1"], "attribution_n": att["n"],
                "labels": att["labels"], "confusion_matrix": att["confusion_matrix"],
                # fakes whose generator the model knows: with none, top-1 only measures the reals
                "attribution_fakes": int(sum(sum(r) for r in att["confusion_matrix"][1:]))}
    if degrade:
        row["conditions"] = {c: {"auroc": v["overall"]["auroc"], "accuracy": v["overall"]["accuracy"]}
                             for c, v in doc["conditions"].items()}
    return row


def fmt(v: float | None, pct: bool = False) -> str:
    if v is None:
        return "-"
    return f"{100 * v:.1f} %" if pct else f"{v:.3f}"


def markdown(summary: dict) -> str:
    lines = ["| test set | n (real/fake) | AUROC raw / aligned | accuracy raw / aligned | top-1 raw / aligned | macro-F1 raw / aligned |",
             "|---|---|---|---|---|---|"]
    for name, r in summary["sets"].items():
        raw, al = r.get("raw", {}), r.get("aligned", {})
        if "error" in raw or "error" in al:
            lines.append(f"| {name} | error: {raw.get('error') or al.get('error')} | | | | |")
            continue
        if raw.get("attribution_fakes", 0) == 0:  # no fake of a generator the model knows: top-1 is not meaningful
            raw, al = ({k: v for k, v in d.items() if k not in ("top1", "macro_f1")} for d in (raw, al))
        lines.append(f"| {name} | {raw['n']} ({raw['n_real']}/{raw['n_fake']}) | {fmt(raw['auroc'])} / {fmt(al['auroc'])} | "
                     f"{fmt(raw['accuracy'], True)} / {fmt(al['accuracy'], True)} | {fmt(raw.get('top1'), True)} / "
                     f"{fmt(al.get('top1'), True)} | {fmt(raw.get('macro_f1'))} / {fmt(al.get('macro_f1'))} |")
    deg = summary.get("degradations")
    if deg and "conditions" in deg:
        lines += ["", "| native-pool test, aligned jpeg:96, then | AUROC | accuracy |", "|---|---|---|"]
        lines += [f"| {c} | {fmt(v['auroc'])} | {fmt(v['accuracy'], True)} |" for c, v in deg["conditions"].items()]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="native")
    ap.add_argument("--out", default=str(HERE / "results" / "native_eval"))
    ap.add_argument("--only", action="append", help="Only these test sets (repeatable).")
    ap.add_argument("--no-degrade", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--render", action="store_true", help="Only rewrite OUT/summary.md from OUT/summary.json.")
    a = ap.parse_args()
    out = Path(a.out)
    if a.render:
        summary = json.loads((out / "summary.json").read_text())
        for sets in summary["sets"].values():  # summaries written before attribution_fakes existed
            for row in sets.values():
                if "confusion_matrix" in row:
                    row.setdefault("attribution_fakes", int(sum(sum(r) for r in row["confusion_matrix"][1:])))
        (out / "summary.md").write_text(markdown(summary))
        print(markdown(summary))
        return
    summary: dict = {"model": a.model, "aligned": "jpeg:96 on both classes", "sets": {}}
    for name, (data, split) in SETS.items():
        if a.only and name not in a.only:
            continue
        summary["sets"][name] = {
            "raw": evaluate(a.model, name, data, split, None, out / f"{name}-raw", a.threads),
            "aligned": evaluate(a.model, name, data, split, "jpeg:96", out / f"{name}-aligned", a.threads),
        }
        print(name, {k: {m: v.get(m) for m in ("auroc", "top1", "macro_f1", "error")} for k, v in summary["sets"][name].items()},
              file=sys.stderr)
    if not a.no_degrade:
        data, split = SETS["native-pool"]
        summary["degradations"] = evaluate(a.model, "native-pool", data, split, "jpeg:96", out / "native-pool-degrade",
                                           a.threads, degrade="genimage")
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    (out / "summary.md").write_text(markdown(summary))
    print(markdown(summary))


if __name__ == "__main__":
    main()
