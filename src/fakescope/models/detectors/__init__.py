"""Built-in detectors; importing this package registers them."""

from . import clip_probe, cnn_small, encoder, npr, npr_resnet, rine, spectral, timm_family  # noqa: F401
