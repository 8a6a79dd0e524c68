"""The data layer: every dataset form read into one `Sample` schema (label 0 real / 1 fake)."""

from .decode import DEFAULT_MAX_PIXELS, ImageDecodeError, decode_image, guard_file, open_image, to_rgb
from .generators import GENIMAGE_GENERATORS, REAL_CLASS, canonical_generator
from .sample import FAKE, LABEL_NAMES, NO_SPLIT, REAL, DataSource, Sample
from .sources import FORMATS, SourceError, format_names, open_source
from .summary import summarize

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "FAKE",
    "FORMATS",
    "GENIMAGE_GENERATORS",
    "LABEL_NAMES",
    "NO_SPLIT",
    "REAL",
    "REAL_CLASS",
    "DataSource",
    "ImageDecodeError",
    "Sample",
    "SourceError",
    "canonical_generator",
    "decode_image",
    "format_names",
    "guard_file",
    "open_image",
    "open_source",
    "summarize",
    "to_rgb",
]
