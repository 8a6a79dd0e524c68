"""`calibrate(...)`: which images fit a model's domain, OOD score and operating point (never a test split).

Validation images:
- the calibration data IS the model's training split (same fingerprint): the training run's own
  hold-out, reproduced exactly (the same key hash, salt and fraction as train/data.py);
- `holdout=F`: F of the given split by that key hash (the rest may fit the OOD statistics);
- otherwise the whole split given (a validation split).
OOD statistics are fitted on training images: the training data named in config.json when it is
readable here with the same fingerprint (its training side, up to `fit_samples`), else the other
side of the hold-out, else half of the validation images by key hash (the other half then sets the
threshold and the operating point).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from fakescope.data import DataSource, Sample, open_source
from fakescope.errors import UserError
from fakescope.models import read_config
from fakescope.models.calibration import DEFAULT_OOD_METHOD, OOD_QUANTILE, calibrate_model, observe_sizes
from fakescope.data.selection import Selection, narrow, scan_records

FIT_SAMPLES = 20_000
REFERENCE_SAMPLES = 2_000
TEST_SPLITS = ("test",)
VAL_SPLITS = ("val", "validation", "valid")


def open_spec(spec: str) -> DataSource:
    """`SOURCE[:SPLIT]` (a trailing `:name` is a split when the source has one of that name)."""
    head, sep, tail = spec.rpartition(":")
    if sep and head and head != "hf" and Path(head).exists() and not Path(spec).exists():
        return open_source(head, split=tail)
    return open_source(spec)


def _selected(source: DataSource, selection: Selection) -> Iterator[Sample]:
    return (s for s in source if selection(s))


def _training_data(training: dict[str, Any]) -> tuple[DataSource, Selection] | None:
    """The model's training split and training-side selection, when readable here unchanged."""
    d = training.get("data") or {}
    if not d.get("source") or not Path(str(d["source"])).exists():
        return None
    try:
        src = open_source(d["source"], split=d.get("split"), format=(training.get("options") or {}).get("format"))
        if d.get("subset"):
            from fakescope.data.filtered import only_subset

            src = only_subset(src, d["subset"])
        if d.get("fingerprint") and src.fingerprint() != d["fingerprint"]:
            return None
    except UserError:
        return None
    sel = d.get("selection") or {}
    return src, Selection(holdout_fraction=float(sel.get("holdout_fraction", 0.0)), side=str(sel.get("side", "all")))


def _pick_split(source: DataSource, requested: str | None, training_split: str | None) -> str:
    splits = source.splits()
    if requested is not None:
        if requested not in splits:
            raise UserError(f"{source.spec}: no split {requested!r} (available: {', '.join(splits)})")
        split = requested
    else:
        split = next((s for s in VAL_SPLITS if s in splits), None) or \
            (training_split if training_split in splits else splits[0] if len(splits) == 1 else None)
        if split is None:
            raise UserError(f"{source.spec} has splits {splits}: choose the validation split with --split")
    if split in TEST_SPLITS:
        raise UserError(f"calibrate chooses thresholds on validation data; fitting them on split {split!r} "
                        "would make every test number of this model dishonest (use a validation split or --holdout)")
    return split


def calibrate(model_dir: str, data: str, split: str | None = None, *, fpr: float = 0.01, fnr: float = 0.05,
              holdout: float | None = None, ood_method: str = DEFAULT_OOD_METHOD, ood_quantile: float = OOD_QUANTILE,
              fit_samples: int = FIT_SAMPLES, references: list[str] | None = None, batch_size: int = 128,
              device: str = "cpu", accepts: dict[str, Any] | None = None,
              say: Callable[[str], None] = lambda m: None) -> dict[str, Any]:
    """Fit and write the model's domain, OOD statistics and operating point; returns the record."""
    config = read_config(model_dir)
    training = _training_data(config.training)
    tdata = config.training.get("data") or {}
    source = open_source(data)
    split = _pick_split(source, split, tdata.get("split"))
    cal = source.with_split(split)
    fingerprint = cal.fingerprint()
    is_training_split = training is not None and fingerprint == tdata.get("fingerprint")
    if holdout is not None and not 0.0 < holdout < 1.0:
        raise UserError("--holdout must be a fraction between 0 and 1")

    if is_training_split:
        fraction = training[1].holdout_fraction
        if not fraction:
            raise UserError(f"{data} [{split}] is this model's training data and training held nothing out: "
                            "calibrate on other validation data")
        val_sel = Selection(holdout_fraction=fraction, side="val")
        how = f"the training run's own hold-out: {fraction:.0%} of split {split!r} by key hash (salt {val_sel.salt})"
    elif holdout is not None:
        val_sel = Selection(holdout_fraction=holdout, side="val")
        how = f"{holdout:.0%} of split {split!r} held out by key hash (salt {val_sel.salt})"
    elif training is None:
        val_sel = Selection(holdout_fraction=0.5, side="val")
        how = f"half of split {split!r} by key hash (the other half fits the OOD statistics)"
    else:
        val_sel = Selection()
        how = f"split {split!r}"

    if training is not None:
        fit_source, fit_base = training
        fit_what = f"training data {tdata.get('source')} [{tdata.get('split')}], training side"
    else:
        fit_source, fit_base = cal, Selection(holdout_fraction=val_sel.holdout_fraction, side="train")
        fit_what = f"{data} [{split}], the side not held out"
    fit_sel, fit_stats = narrow(scan_records(fit_source), fit_base, fit_samples)
    say(f"fitting OOD statistics on {fit_stats.n:,} images of {fit_what}; validation: {how}")
    domain_source = fit_source if training is not None else cal
    domain_sel = fit_base
    say("reading the training images' sizes and formats (headers only) ...")
    sizes = observe_sizes(_selected(domain_source, domain_sel))

    refs = {}
    for spec in references or []:
        refs[spec] = (s for _, s in zip(range(REFERENCE_SAMPLES), open_spec(spec)))
    about_training = {"source": tdata.get("source") if training is not None else data,
                      "split": tdata.get("split") if training is not None else split,
                      "fingerprint": tdata.get("fingerprint") if training is not None else fingerprint,
                      "selection": fit_what,
                      "observed": "the training images (headers)" if training is not None else
                                  "the calibration data's fitting side (the training data is not readable here)"}
    about_validation = {"source": data, "split": split, "fingerprint": fingerprint, "description": how}
    result = calibrate_model(model_dir, fit=_selected(fit_source, fit_sel), validation=_selected(cal, val_sel),
                             about_training=about_training, about_validation=about_validation, training_sizes=sizes,
                             fpr=fpr, fnr=fnr, ood_method=ood_method, ood_quantile=ood_quantile, references=refs,
                             batch_size=batch_size, device=device, accepts=accepts, say=say)
    result["command"] = None  # filled by the CLI with the exact command line
    return result
