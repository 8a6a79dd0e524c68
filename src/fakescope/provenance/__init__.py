"""Evidence beyond pixels: what an image file declares about its own making.

C2PA Content Credentials, IPTC DigitalSourceType in XMP, generator records (A1111/Forge, ComfyUI,
InvokeAI, NovelAI, Fooocus, SwarmUI, Draw Things, Midjourney, Software tags) and the invisible
watermarks of the Stable Diffusion reference code. One reader per source (`readers/`), one record
and its rules (`record.py`). Imports only `data/`, `utils/` and `errors`.
"""

from .inspect import inspect_bytes, inspect_path
from .record import CLAIMS, VERDICTS, FileEvidence
from .registry import READERS

__all__ = ["inspect_bytes", "inspect_path", "FileEvidence", "CLAIMS", "VERDICTS", "READERS"]
