"""The 'stealth pnginfo' format: metadata hidden in the least significant bits of the alpha
channel (or of R, G, B), read column by column, as NovelAI and the A1111 stealth-pnginfo
extension write it: a 15-byte signature, a 32-bit big-endian payload length in bits, the payload
(gzip-compressed for the *comp variants).

The length comes from the pixels of an untrusted file: it is checked against the bits the image
actually holds before anything is read, and decompression has a ceiling.
"""

from __future__ import annotations

import zlib

import numpy as np
from PIL import Image

SIGNATURES = {b"stealth_pnginfo": ("alpha", False), b"stealth_pngcomp": ("alpha", True),
              b"stealth_rgbinfo": ("rgb", False), b"stealth_rgbcomp": ("rgb", True)}
SIG_BITS = 15 * 8
MAX_PAYLOAD = 8 * 1024 * 1024


class StealthError(ValueError):
    pass


def _bits(im: Image.Image, mode: str) -> np.ndarray:
    """The LSB stream in reading order: column by column, top to bottom (RGB: r, g, b per pixel)."""
    if mode == "alpha":
        a = np.asarray(im.getchannel("A"), dtype=np.uint8)
        return (a.T & 1).ravel()
    rgb = np.asarray(im.convert("RGB"), dtype=np.uint8)
    return (rgb.transpose(1, 0, 2) & 1).ravel()


def _bytes(bits: np.ndarray) -> bytes:
    return np.packbits(bits[: len(bits) // 8 * 8]).tobytes()


def read_stealth(im: Image.Image) -> tuple[str, bytes] | None:
    """(signature, payload) when the image carries a stealth copy, else None. Raises StealthError
    for a signature followed by a length the image cannot hold or a payload that does not inflate."""
    modes = ["alpha", "rgb"] if "A" in im.getbands() else ["rgb"]
    for mode in modes:
        bits = _bits(im, mode)
        if len(bits) < SIG_BITS + 32:
            continue
        sig = _bytes(bits[:SIG_BITS])
        if sig not in SIGNATURES or SIGNATURES[sig][0] != mode:
            continue
        n_bits = int.from_bytes(_bytes(bits[SIG_BITS:SIG_BITS + 32]), "big")
        available = len(bits) - SIG_BITS - 32
        if n_bits > available or n_bits // 8 > MAX_PAYLOAD:
            raise StealthError(f"{sig.decode()} header announces {n_bits} bits but the image holds {available}")
        payload = _bytes(bits[SIG_BITS + 32:SIG_BITS + 32 + n_bits])
        if SIGNATURES[sig][1]:
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            try:
                payload = d.decompress(payload, MAX_PAYLOAD)
            except zlib.error as exc:
                raise StealthError(f"{sig.decode()} payload does not inflate: {exc}") from None
        return sig.decode(), payload
    return None
