"""After training: write the model's domain, OOD statistics and operating point into its directory.

The same routine as `fakescope calibrate` (models/calibration.py), on the run's own data: the OOD
statistics are fitted on (up to FIT_SAMPLES of) the training images, the OOD threshold and the
operating point (the stated FPR/FNR of `calibrate`'s defaults) on the validation images, and the
domain records the training images' sizes and formats. A failure here (e.g. a validation set with
one class) is reported and leaves the trained model usable without a domain.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fakescope.data.selection import narrow, scan_records
from fakescope.errors import UserError
from fakescope.models.calibration import calibrate_model, observe_sizes

FIT_SAMPLES = 20_000


def record_domain(directories: list[Path], plan: Any, say: Callable[[str], None]) -> None:
    """Calibrate each trained model directory on the data plan of its run."""
    fit_sel, fit_stats = narrow(scan_records(plan.train_source), plan.train_selection, FIT_SAMPLES)
    sizes = observe_sizes(s for s in plan.train_source if plan.train_selection(s))
    d = plan.description
    about_training = {"source": d["source"], "split": d["split"], "fingerprint": d["fingerprint"],
                      "selection": f"the training images ({fit_stats.n:,} of them fit the OOD statistics)",
                      "observed": "the training images (headers)"}
    about_validation = {"source": d["source"], "description": d["validation"]["how"]}
    for directory in directories:
        try:
            calibrate_model(directory, fit=(s for s in plan.train_source if fit_sel(s)),
                            validation=(s for s in plan.val_source if plan.val_selection(s)),
                            about_training=about_training, about_validation=about_validation, training_sizes=sizes)
        except UserError as exc:
            say(f"warning: {directory}: no domain or operating point recorded: {exc}")
