"""`fakescope evaluate` records each file's evidence in the predictions and reports how many
images carry a claim, per claim, and the claims' precision against the labels."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pyarrow.parquet as pq

from conftest import SHARED, run_cli
from fakescope.testing import evidence_files as E


def test_evaluate_records_evidence_and_claim_precision(tmp_path: Path) -> None:
    data = tmp_path / "set"
    real, fake = data / "0_real", data / "1_fake"
    real.mkdir(parents=True)
    fake.mkdir()
    for i, src in enumerate(sorted((SHARED / "cifake" / "test" / "REAL").glob("*.jpg"))[:4]):
        shutil.copy(src, real / f"r{i}.jpg")
    # a real-labelled file that nevertheless declares itself AI-made: the claims' precision drops
    (real / "mislabelled.jpg").write_bytes(E.xmp_jpeg(E.IPTC_SYNTAXES["attribute"], E.base_image(32, 32)))
    (real / "screenshot.png").write_bytes((SHARED / "provenance" / "comfyui" / "lora__lora.png").read_bytes())
    (fake / "a1111.png").write_bytes(E.a1111("PNG", E.base_image(32, 32)))
    (fake / "iptc.jpg").write_bytes(E.xmp_jpeg(E.IPTC_SYNTAXES["resource"], E.base_image(32, 32)))
    (fake / "firefly.jpg").write_bytes((SHARED / "provenance" / "c2pa" / "Firefly_tabby_cat.jpg").read_bytes())
    for i, src in enumerate(sorted((SHARED / "cifake" / "test" / "FAKE").glob("*.jpg"))[:3]):
        shutil.copy(src, fake / f"f{i}.jpg")
    out = tmp_path / "e"
    proc = run_cli("evaluate", "--data", data, "--out", out, "--bootstrap", "20", "--no-progress", "--threads", "1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    ev = json.loads((out / "metrics.json").read_text())["evidence"]
    assert ev["n_images"] == 12 and ev["with_claim"] == 4
    assert ev["by_verdict"] == {"ai-generated": 4, "no-claim": 8}
    assert ev["by_claim"] == {"generated": 4, "workflow-only": 1}
    assert ev["by_source"] == {"iptc": 2, "a1111": 1, "c2pa": 1, "comfyui": 1}
    assert ev["precision"]["ai-generated"] == {"n": 4, "labelled_fake": 3, "precision": 0.75}
    assert ev["precision"]["claim:workflow-only"]["labelled_fake"] == 0
    pred = pq.read_table(out / "predictions.parquet").to_pydict()
    rows = {Path(p).name: (v, g, e) for p, v, g, e in zip(pred["path"], pred["evidence_verdict"],
                                                           pred["evidence_generator"], pred["evidence"])}
    assert rows["firefly.jpg"][:2] == ("ai-generated", "Adobe Firefly")
    assert json.loads(rows["firefly.jpg"][2])[0]["signer"].startswith("Adobe")
    assert rows["r0.jpg"] == ("no-claim", None, None)
    # the report shows the same: the summary and, per file, what it declares (eval/evidence_report.py)
    page = (out / "report.html").read_text(encoding="utf-8")
    section = page[page.index("<h2>Evidence: what the files declare</h2>"):]
    section = section[:section.index("</section>")]
    listed = re.findall(r"<tr><td class=\"l\">([^<]*)</td>", section)
    assert sorted(Path(p).name for p in listed) == ["a1111.png", "firefly.jpg", "iptc.jpg", "mislabelled.jpg", "screenshot.png"]
    assert "<code>c2pa</code> generated (Adobe Firefly), Adobe Inc." in section
    assert "<code>comfyui</code> workflow-only" in section and "3 / 4 = 0.750" in section
    # and the selective-prediction figures metrics.json has: coverage, wrong-verdict rate, risk-coverage
    verdicts = json.loads((out / "metrics.json").read_text())["verdicts"]["overall"]
    assert "<h2>Verdicts: answering only inside the domain, at the operating point</h2>" in page
    assert 'data-figure="risk_coverage"' in page and f"{verdicts['coverage']:.3f}" in page
