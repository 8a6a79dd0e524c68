"""Built-in detectors; importing this package registers them."""

from . import clip_probe, cnn_small, npr, spectral, timm_family  # noqa: F401
