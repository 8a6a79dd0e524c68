"""Model cards are generated, never typed: rebuilding the CIFAKE card from its config.json (the
measurements) and card.toml (the words) gives the committed MODEL_CARD.md byte for byte, through
the same command a maintainer runs (`scripts/build_default_model.py --card-only`)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

from fakescope.models.card import CARD_FILE, CARD_RECIPE, rebuild_card

SHIPPED = REPO / "src" / "fakescope" / "weights" / "default"


def test_rebuilding_the_cifake_card_gives_the_committed_card() -> None:
    assert rebuild_card(SHIPPED) == (SHIPPED / CARD_FILE).read_text(encoding="utf-8")


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    out = tmp_path / "default"
    out.mkdir()
    for name in ("config.json", CARD_RECIPE, CARD_FILE):
        shutil.copyfile(SHIPPED / name, out / name)
    return out


def test_the_build_script_rewrites_it_the_same(copy: Path) -> None:
    (copy / CARD_FILE).write_text("stale\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "build_default_model.py"), "--card-only", "--out", str(copy)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert (copy / CARD_FILE).read_bytes() == (SHIPPED / CARD_FILE).read_bytes()


def test_every_section_comes_from_the_data(copy: Path) -> None:
    """Change a measurement or a word and the card follows: nothing in it is a hand-typed copy."""
    card = (SHIPPED / CARD_FILE).read_text(encoding="utf-8")
    sections = [line for line in card.splitlines() if line.startswith("## ")]
    assert "## Verdicts: domain and operating point" in sections and "## Limitations" in sections
    config = json.loads((copy / "config.json").read_text())
    config["card"]["verdicts"]["test"]["overall"]["coverage"] = 0.5
    config["card"]["metrics"]["cifake_test"]["conditions"]["blur:3"]["accuracy"] = 0.1234
    config["operating_point"]["fake_at"] = 0.9
    (copy / "config.json").write_text(json.dumps(config))
    recipe = (copy / CARD_RECIPE).read_text().replace("Bird & Lotfi's best CNN", "Someone's CNN")
    (copy / CARD_RECIPE).write_text(recipe)
    changed = " ".join(rebuild_card(copy).split())  # the Verdicts paragraph is wrapped
    assert "coverage 50.00 %" in changed and "coverage 95.48 %" in card
    assert "drops accuracy to 12.34 %" in changed and "fake at P(fake) >= 0.900" in changed
    assert "Published reference: Someone's CNN" in changed
    del config["card"]["verdicts"]
    (copy / "config.json").write_text(json.dumps(config))
    assert "## Verdicts" not in rebuild_card(copy)  # no measurement, no section (never a stale copy)
