"""Canonical generator names: the one place that maps the datasets' spellings to one vocabulary.

GenImage spells the same generator three ways (release folder `stable_diffusion_v_1_4`, subset
folder `imagenet_ai_0419_sdv4`, Tiny GenImage ClassLabel `SD14`). Every reader passes names through
`canonical_generator`, so a model trained on one form is evaluated on another under the same names.
Names that are not in the table (Community Forensics has thousands) are kept as the data spells them.

The rule for versions: a version is part of a generator's name. Spellings of one release meet
(case and punctuation are ignored: `midjourney_v5`, `Midjourney V5`, `MJ-v5` are `Midjourney-v5`),
two releases never do (`Midjourney-v3` and `Midjourney-v5`, `SD2` and `SD21` stay distinct). One
documented exception: GenImage names its Midjourney V5 subset plain `Midjourney` (so does Tiny
GenImage's ClassLabel); that name is kept as GenImage spells it, so GenImage results keep their
published class names. An unversioned `midjourney`/`mj` therefore means GenImage's.
"""

from __future__ import annotations

import re
from functools import lru_cache

# The name used for real images in generator (Task B) vocabularies, as in Tiny GenImage's ClassLabel.
REAL_CLASS = "Real"

# GenImage's eight generators, in the order of the Tiny GenImage ClassLabel.
GENIMAGE_GENERATORS = ("ADM", "BigGAN", "GLIDE", "Midjourney", "SD14", "SD15", "VQDM", "Wukong")

_ALIASES: dict[str, tuple[str, ...]] = {
    "ADM": ("adm", "imagenet_ai_0508_adm", "guided_diffusion", "guided"),
    "BigGAN": ("biggan", "big_gan", "big gan", "imagenet_ai_0419_biggan"),
    "GLIDE": ("glide", "imagenet_glide"),
    "Midjourney": ("midjourney", "mj", "imagenet_midjourney"),
    "SD14": (
        "sd14", "sdv4", "sd_v1_4", "stable_diffusion_v_1_4", "stable_diffusion_1_4",
        "stable diffusion 1.4", "stable-diffusion-v1-4", "imagenet_ai_0419_sdv4",
    ),
    "SD15": (
        "sd15", "sdv5", "sd_v1_5", "stable_diffusion_v_1_5", "stable_diffusion_1_5",
        "stable diffusion 1.5", "stable-diffusion-v1-5", "imagenet_ai_0424_sdv5",
    ),
    "VQDM": ("vqdm", "imagenet_ai_0419_vqdm"),
    "Wukong": ("wukong", "imagenet_ai_0424_wukong"),
    # Versioned releases outside GenImage's eight (native-pool, Community Forensics, ...).
    "Midjourney-v3": ("midjourney_v3", "mj_v3", "midjourney 3"),
    "Midjourney-v5": ("midjourney_v5", "mj_v5", "midjourney 5"),
    "SD2": ("sd20", "stable_diffusion_2", "stable_diffusion_v_2", "stable-diffusion-2"),
    "SD21": ("sd_v2_1", "stable_diffusion_2_1", "stable_diffusion_v_2_1", "stable-diffusion-2-1"),
}

# Names that mean "this is a real photograph", wherever a generator column holds them.
_REAL_NAMES = ("real", "nature", "natural", "none", "imagenet", "0_real")


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


_LOOKUP: dict[str, str] = {}
for _canon, _aliases in _ALIASES.items():
    for _alias in (_canon, *_aliases):
        _LOOKUP[_key(_alias)] = _canon


_REAL_KEYS = frozenset(_key(r) for r in _REAL_NAMES)


@lru_cache(maxsize=65536)
def _canonical(text: str) -> str | None:
    key = _key(text)
    if key in _REAL_KEYS:
        return None
    return _LOOKUP.get(key, text)


def canonical_generator(name: str | None) -> str | None:
    """Canonical generator name, or None for a real image / missing name.

    >>> canonical_generator("stable_diffusion_v_1_4"), canonical_generator("imagenet_ai_0419_sdv4")
    ('SD14', 'SD14')
    """
    if name is None:
        return None
    text = str(name).strip()
    return _canonical(text) if text else None


def is_known_generator_name(name: str) -> bool:
    """True when `name` is an alias in the table (used to recognise a generator level in a path)."""
    return _key(name) in _LOOKUP
