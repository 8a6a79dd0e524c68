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
from fakescope.models.io import read_config

FIT_SAMPLES = 20_000


def record_domain(directories: list[Path], plan: Any, say: Callable[[str], None],
                  accepts: dict[str, Any] | None = None) -> None:
    """Calibrate each trained model directory on the data plan of its run."""
    fit_sel, fit_stats = narrow(scan_records(plan.train_source), plan.train_selection, FIT_SAMPLES)
    sizes = observe_sizes(s for s in plan.train_source if plan.train_selection(s))
    d = plan.description
    about_training = {"source": d["source"], "split": d["split"], "fingerprint": d["fingerprint"],
                      "selection": f"the training images ({fit_stats.n:,} of them fit the OOD statistics)",
                      "observed": "the training images (headers)"}
    about_validation = {"source": d["source"], "description": d["validation"]["how"]}
    done: dict[str, Path] = {}  # weights checksum -> the directory already calibrated with them
    for directory in directories:
        sha = read_config(directory).card.get("weights_sha256")
        if sha and sha in done:  # the same weights (a closed-form fit's final and best): same records, no second pass
            copy_records(done[sha], directory)
            continue
        try:
            calibrate_model(directory, fit=(s for s in plan.train_source if fit_sel(s)),
                            validation=(s for s in plan.val_source if plan.val_selection(s)),
                            about_training=about_training, about_validation=about_validation, training_sizes=sizes,
                            accepts=accepts)
            if sha:
                done[sha] = directory
        except UserError as exc:
            say(f"warning: {directory}: no domain or operating point recorded: {exc}")


def copy_records(source: Path, target: Path) -> None:
    """The domain, OOD statistics and operating point of `source` written into `target` (same weights)."""
    import shutil

    from fakescope.models.calibration import write_records
    from fakescope.models.ood import OOD_FILE
    from fakescope.utils.atomic import atomic_write

    config = read_config(source)
    atomic_write(target / OOD_FILE, lambda p: shutil.copyfile(source / OOD_FILE, p))
    write_records(target, config.domain, config.operating_point)
