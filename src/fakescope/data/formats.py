"""The image formats fakescope reads: Pillow's own plugins plus HEIC/HEIF (and AVIF where needed).

Phones save HEIC (iPhone default since iOS 11) and modern tools AVIF; both reach Pillow through
plugins registered here, once, at import: `pillow-heif` for HEIC/HEIF, Pillow's own AVIF plugin
(Pillow >= 11.3 built with libavif), else pillow-heif's AVIF opener when that build has one.
Every module that opens image bytes (`data.decode`, the provenance container walk) or lists image
files by extension (`IMAGE_EXTENSIONS`, the folder walks of `data` and `detect`) imports this
module, so a HEIC file is an image on every surface or on none.

Orientation: libheif applies a HEIF file's `irot`/`imir` transforms while decoding and pillow-heif
then reports EXIF Orientation 1 (the HEIF rule: the transforms, not EXIF, say how to show it), so
the size Pillow reports is already the shown size; AVIF keeps the tag and `exif_transpose` turns it,
as for JPEG. Either way `decode_image` and `header_size` give the size a viewer shows.
"""

from __future__ import annotations

import os

from PIL import Image, features


def _register() -> tuple[str, ...]:
    """Register the optional plugins; the names of the formats they added (for the record)."""
    added: list[str] = []
    try:
        import pillow_heif
    except ImportError:  # a trimmed install still reads every format Pillow reads by itself
        return ()
    pillow_heif.register_heif_opener()
    added.append("HEIF")
    if not features.check("avif") and hasattr(pillow_heif, "register_avif_opener"):
        try:
            pillow_heif.register_avif_opener()
            added.append("AVIF")
        except Exception:  # noqa: BLE001 - a pillow-heif built without an AVIF decoder refuses it
            pass
    return tuple(added)


PLUGIN_FORMATS = _register()

# `ftyp` major brands of HEIF-family still images (ISO/IEC 23008-12 and the AVIF spec): a file that
# starts with one of them is an image even when it is too damaged for its plugin to open.
ISOBMFF_IMAGE_BRANDS = frozenset({"heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1", "mif2",
                                  "avif", "avis", "avci"})

# Every file extension an image may have, lower case with the dot: the one list the folder walks
# use. Pillow's registry (after the registrations above) is the source, so a plugin's extensions
# (.heic, .heif, .avif, .hif, ...) come with it.
IMAGE_EXTENSIONS: frozenset[str] = frozenset(ext.lower() for ext in Image.registered_extensions())


def is_image_name(name: str) -> bool:
    """True when a file name's extension is one an image format uses (case-insensitive)."""
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS
