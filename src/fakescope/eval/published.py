"""Published numbers for the same protocols (DESIGN.md section 2): the one place they live in code.

Reports print them beside our numbers, always labelled as published, never as ours.
"""

from __future__ import annotations

from typing import Any

GENIMAGE_CITATION = "Zhu et al. 2023, GenImage (NeurIPS Datasets and Benchmarks)"
PUBLISHED_LABEL = "published, Zhu et al. 2023, not ours"

# GenImage Table 3: ResNet-50 trained on the SD1.4 subset, accuracy (%) on each subset's test set,
# in the paper's column order.
GENIMAGE_RESNET50_SD14_ROW: dict[str, float] = {
    "Midjourney": 54.9, "SD14": 99.9, "SD15": 99.7, "ADM": 53.5, "GLIDE": 61.9, "Wukong": 98.2, "VQDM": 56.6,
    "BigGAN": 52.0,
}
GENIMAGE_RESNET50_SD14_AVG = 72.1
GENIMAGE_COLUMN_ORDER = tuple(GENIMAGE_RESNET50_SD14_ROW)

# Row averages of the SD1.4 row for other detectors (Table 3 and later papers on the same protocol).
GENIMAGE_SD14_ROW_AVERAGES: dict[str, float] = {
    "ResNet-50": 72.1, "Swin-T": 74.8, "CNNSpot": 64.2, "UnivFD": 79.5, "FreqNet": 86.8, "NPR": 88.6,
    "FatFormer": 88.9, "DRCT": 89.5, "Effort": 91.1,
}

# GenImage Table 5: ResNet-50 trained and tested on SD1.4, test images degraded (accuracy %).
GENIMAGE_RESNET50_DEGRADED: dict[str, float] = {
    "resize:112": 96.2, "resize:64": 57.4, "jpeg:65": 51.9, "jpeg:30": 51.2, "blur:3": 97.9, "blur:5": 69.4,
}

CIFAKE_BEST_CNN_ACCURACY = 92.98  # Bird & Lotfi 2023, their best CNN (%)
COMMFOR_MEAN_AP_SMALL = 0.943  # Community Forensics (CVPR 2025), small training set, mean AP over families


def is_genimage(names: list[str] | set[str], data_format: str | None = None) -> bool:
    """GenImage data: its release layout, or at least two generators, all among GenImage's eight.
    (One SD14 generator alone is not enough: CIFAKE's fakes are SD1.4 too.)"""
    if data_format == "genimage":
        return True
    return len(set(names)) >= 2 and set(names) <= set(GENIMAGE_COLUMN_ORDER)


def evaluation_references(data_spec: str, data_format: str, generators: set[str], has_families: bool,
                          conditions: list[str]) -> list[dict[str, Any]]:
    """Published figures comparable with an evaluation of this data and these conditions (may be empty)."""
    refs: list[dict[str, Any]] = []
    if "cifake" in data_spec.lower() or data_format == "cifake":
        refs.append({"what": "CIFAKE test accuracy, best CNN", "metric": "accuracy", "value": CIFAKE_BEST_CNN_ACCURACY / 100,
                     "source": "Bird & Lotfi 2023", "compare_with": "conditions.clean.overall.accuracy"})
    if has_families and "commfor" in data_format:
        refs.append({"what": "Community Forensics, small training set, mean AP over evaluation families", "metric": "ap",
                     "value": COMMFOR_MEAN_AP_SMALL, "source": "Park & Owens, CVPR 2025",
                     "compare_with": "conditions.clean.mean_ap_over_families"})
    if is_genimage(generators, data_format):
        for cond, acc in GENIMAGE_RESNET50_DEGRADED.items():
            if cond not in conditions:
                continue
            refs.append({"what": f"GenImage Table 5, ResNet-50 trained on SD1.4, SD1.4 test images, {cond}",
                         "metric": "accuracy", "value": acc / 100, "source": GENIMAGE_CITATION,
                         "compare_with": f"conditions.{cond}.per_generator.SD14.accuracy"})
    for r in refs:
        r["label"] = "published, not ours"
    return refs
