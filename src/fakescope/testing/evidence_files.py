"""Write image files carrying evidence the way each generator writes it, for tests and benchmarks.

No real A1111, InvokeAI, NovelAI, IPTC or watermarked file is shared, so these are made with the
generators' own writers: Pillow `PngInfo` text chunks (A1111, InvokeAI, NovelAI, ComfyUI), an EXIF
UserComment with the 'UNICODE' prefix and UTF-16 text (A1111's JPEG/WebP path, via piexif's
layout, written with Pillow's Exif), XMP packets, NovelAI's alpha-channel 'stealth_pngcomp' copy
and Ed25519 `signed_hash`, and the `invisible-watermark` encoder with the published payloads.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
from typing import Any

import numpy as np
from PIL import Image
from PIL.PngImagePlugin import PngInfo

A1111_TEXT = ("a photo of a red fox in the snow, highly detailed\n"
              "Negative prompt: blurry, lowres\n"
              "Steps: 28, Sampler: DPM++ 2M Karras, CFG scale: 6.5, Seed: 1234567890, Size: {w}x{h}, "
              "Model hash: 31e35c80fc, Model: sd_xl_base_1.0, Lora hashes: \"add_detail: 7c6bad76eb54\", "
              "Version: v1.10.1")

IPTC_AI = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
XMP_HEAD = ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
            '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">')
XMP_TAIL = '</rdf:RDF></x:xmpmeta>\n<?xpacket end="w"?>'
NS = 'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"'
# The three syntaxes of IPTC DigitalSourceType found in the wild.
IPTC_SYNTAXES = {
    "attribute": f'<rdf:Description rdf:about="" {NS} Iptc4xmpExt:DigitalSourceType="{IPTC_AI}"/>',
    "element": f'<rdf:Description rdf:about="" {NS}><Iptc4xmpExt:DigitalSourceType>{IPTC_AI}'
               '</Iptc4xmpExt:DigitalSourceType></rdf:Description>',
    "resource": f'<rdf:Description rdf:about="" {NS}><Iptc4xmpExt:DigitalSourceType rdf:resource="{IPTC_AI}"/>'
                '</rdf:Description>',
}


def base_image(w: int = 96, h: int = 64, seed: int = 0) -> Image.Image:
    """A small RGB image with texture (a smooth gradient plus noise), deterministic."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    arr = np.stack([x * 255 // max(w - 1, 1), y * 255 // max(h - 1, 1), (x + y) * 127 // max(w + h - 2, 1)], -1)
    arr = np.clip(arr + rng.integers(-20, 21, size=arr.shape), 0, 255).astype(np.uint8)
    return Image.fromarray(arr)


def encode(im: Image.Image, fmt: str, **params: Any) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **params)
    return buf.getvalue()


def png_with_text(im: Image.Image, chunks: dict[str, str], itxt: bool = False) -> bytes:
    info = PngInfo()
    for k, v in chunks.items():
        if itxt:
            info.add_itxt(k, v)
        else:
            info.add_text(k, v)
    return encode(im, "PNG", pnginfo=info)


def user_comment_exif(text: str, prefix: bytes = b"UNICODE\x00", encoding: str = "utf-16-be") -> bytes:
    """EXIF with UserComment as A1111 writes it (piexif.helper.UserComment.dump(..., 'unicode'))."""
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9286] = prefix + (text.encode(encoding) if isinstance(text, str) else text)
    return exif.tobytes()


def a1111(fmt: str, im: Image.Image | None = None) -> bytes:
    """An A1111 image: PNG `parameters` tEXt, or JPEG/WebP EXIF UserComment."""
    im = im or base_image()
    text = A1111_TEXT.format(w=im.width, h=im.height)
    if fmt == "PNG":
        return png_with_text(im, {"parameters": text})
    return encode(im, fmt, exif=user_comment_exif(text), quality=95)


def invokeai(im: Image.Image | None = None) -> bytes:
    im = im or base_image()
    meta = {"app_version": "5.6.0", "generation_mode": "sdxl_txt2img", "positive_prompt": "a lighthouse at dusk",
            "negative_prompt": "", "width": im.width, "height": im.height, "seed": 42, "steps": 30, "cfg_scale": 7.5,
            "scheduler": "dpmpp_2m", "model": {"name": "Juggernaut XL v9", "base": "sdxl", "hash": "blake3:ab12"}}
    return png_with_text(im, {"invokeai_metadata": json.dumps(meta), "invokeai_graph": "{}"})


def xmp_jpeg(description: str, im: Image.Image | None = None) -> bytes:
    return encode(im or base_image(), "JPEG", quality=90, xmp=(XMP_HEAD + description + XMP_TAIL).encode("utf-8"))


# ------------------------------------------------------------------ NovelAI


def lsb_embed(im: Image.Image, payload: bytes, signature: bytes = b"stealth_pngcomp",
              declared_bits: int | None = None) -> Image.Image:
    """NovelAI's alpha copy: signature, 32-bit length in bits, payload; LSBs of alpha, column-major.
    `declared_bits` writes a different length into the header (a lying header, for bad-input tests)."""
    rgba = np.array(im.convert("RGBA"))
    n_bits = len(payload) * 8 if declared_bits is None else declared_bits
    data = signature + n_bits.to_bytes(4, "big") + payload
    bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8))
    alpha = rgba[:, :, 3].T.copy()  # column-major reading order
    flat = alpha.ravel()
    if len(bits) > flat.size:
        raise ValueError("image too small for the payload")
    flat[: len(bits)] = (flat[: len(bits)] & 0xFE) | bits
    rgba[:, :, 3] = flat.reshape(alpha.shape).T
    return Image.fromarray(rgba)


def novelai(im: Image.Image | None = None, private_key: Any = None, comment_extra: dict | None = None) -> bytes:
    """A NovelAI PNG: text chunks, the gzip'd alpha copy, and `signed_hash` made with `private_key`
    (an Ed25519 test key: a signature that must NOT verify against NovelAI's published key)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    im = (im or base_image(128, 96)).convert("RGB")
    key = private_key or Ed25519PrivateKey.generate()
    comment = {"prompt": "1girl, cherry blossoms", "steps": 28, "height": im.height, "width": im.width,
               "scale": 5.0, "seed": 987654321, "sampler": "k_euler_ancestral", "n_samples": 1, "uc": "lowres",
               "request_type": "PromptGenerateRequest", **(comment_extra or {})}
    message = np.asarray(im, dtype=np.uint8).tobytes() + json.dumps(comment).encode("utf-8")
    comment["signed_hash"] = base64.b64encode(key.sign(message)).decode()
    record = {"Description": comment["prompt"], "Software": "NovelAI", "Source": "NovelAI Diffusion V4.5 4BDE2A90",
              "Generation time": "3.1", "Comment": json.dumps(comment)}
    stego = lsb_embed(im, gzip.compress(json.dumps(record).encode("utf-8")))
    # The RGB pixels are untouched by the alpha copy, so the signature still covers them.
    return png_with_text(stego, {k: v for k, v in record.items()})


# ------------------------------------------------------------------ invisible watermarks


def watermarked(im: Image.Image, payload: str) -> Image.Image:
    """Encode a published payload with `invisible-watermark` (dwtDct), as the generator code does:
    RGB -> BGR array -> encode -> back to RGB."""
    from imwatermark import WatermarkEncoder

    from fakescope.provenance.readers.watermark import payloads

    spec = next(p for p in payloads() if p["name"] == payload)
    enc = WatermarkEncoder()
    if spec["kind"] == "hex":
        enc.set_watermark("bits", [int(b) for b in spec["bits"]])
    else:
        enc.set_watermark("bytes", spec["value"].encode("utf-8"))
    bgr = enc.encode(np.ascontiguousarray(np.asarray(im.convert("RGB"))[:, :, ::-1]), "dwtDct")
    return Image.fromarray(np.ascontiguousarray(bgr[:, :, ::-1]))


# ------------------------------------------------------------------ C2PA signed with a test CA


def c2pa_signed_jpeg(source_type: str = "trainedAlgorithmicMedia", agent: str = "TestGen 1.0",
                     im: Image.Image | None = None) -> tuple[bytes, str]:
    """(a JPEG signed with c2pa-python's Builder under a throw-away CA, that CA's PEM).

    The manifest says `c2pa.created` with the given IPTC digitalSourceType; the leaf certificate
    carries what C2PA requires of a signer (EC P-256, digitalSignature, emailProtection EKU)."""
    import datetime

    import c2pa
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, "fakescope tests")])

    def usage(sign: bool) -> x509.KeyUsage:
        return x509.KeyUsage(digital_signature=not sign, content_commitment=False, key_encipherment=False,
                             data_encipherment=False, key_agreement=False, key_cert_sign=sign, crl_sign=sign,
                             encipher_only=False, decipher_only=False)

    def cert(subject: str, key: Any, issuer: x509.Name, issuer_key: Any, ca: bool) -> x509.Certificate:
        b = (x509.CertificateBuilder().subject_name(name(subject)).issuer_name(issuer).public_key(key.public_key())
             .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
             .not_valid_after(now + datetime.timedelta(days=30))
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
             .add_extension(usage(ca), critical=True))
        if ca:
            b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        else:  # C2PA wants a signer's EKU and the link to its issuer
            b = (b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
                 .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                                critical=False))
        return b.sign(issuer_key, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    root = cert("fakescope test root", ca_key, name("fakescope test root"), ca_key, ca=True)
    leaf = cert("fakescope test signer", key, root.subject, ca_key, ca=False)
    pem = lambda c: c.public_bytes(serialization.Encoding.PEM)  # noqa: E731
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    manifest = {"claim_generator_info": [{"name": "fakescope-tests", "version": "1"}], "title": "signed.jpg",
                "assertions": [{"label": "c2pa.actions", "data": {"actions": [
                    {"action": "c2pa.created", "softwareAgent": {"name": agent},
                     "digitalSourceType": f"http://cv.iptc.org/newscodes/digitalsourcetype/{source_type}"}]}}]}
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(alg=b"es256", sign_cert=pem(leaf) + pem(root),
                                                       private_key=private, ta_url=None))
    source, out = io.BytesIO(encode(im or base_image(), "JPEG", quality=90)), io.BytesIO()
    with c2pa.Builder(manifest) as builder:
        builder.sign(signer, "image/jpeg", source, out)
    return out.getvalue(), pem(root).decode()
