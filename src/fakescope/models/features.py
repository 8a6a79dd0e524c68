"""A model's penultimate features beside its outputs, for every registered detector.

Every detector's backbone exposes `forward_features(x) -> (N, D)` (the registry's contract), and
`DetectorNet` puts its heads on exactly that vector: for the CNNs it is the pooled last stage, for
timm and CLIP the pre-logit embedding, for `spectral` its standardised feature vector. The OOD
score (models/ood.py) is fitted and applied on it.
"""

from __future__ import annotations

import numpy as np
import torch

from .multicrop import stack_crops
from .net import DetectorNet, fake_probability, generator_probabilities
from .tta import average_views


@torch.inference_mode()
def embed(net: DetectorNet, x: torch.Tensor) -> dict[str, np.ndarray | None]:
    """Features, the logit the OOD energy uses, P(fake) and generator probabilities for one batch.

    Features and logits are of the image as given (no test-time views; for a multi-crop model the
    mean over its crops); the scores come from the network's forward, so a model with test-time
    views or crops scores exactly as `detect` does.
    """
    net.eval()
    mc = net.config.multicrop
    if mc is None:
        feats = net.backbone.forward_features(x)
        plain = net.heads_from_features(feats)
    else:
        # A multi-crop model sees K native crops of the canvas, never the canvas (models/multicrop.py):
        # its features and logits are the mean over the crops, as its forward averages their logits.
        crops = net.backbone.forward_features(stack_crops(x, mc))
        plain = average_views(net.heads_from_features(crops), mc.crops)
        feats = crops.unflatten(0, (mc.crops, -1)).mean(0)
    out = net(x) if (net.config.tta or mc is not None) else plain
    logit = plain["binary"] if "binary" in plain else plain["generator"]
    gen = generator_probabilities(out)
    return {"features": feats.float().cpu().numpy(), "logits": logit.float().cpu().numpy(),
            "scores": fake_probability(out).cpu().numpy().astype(np.float64),
            "generators": gen.cpu().numpy() if gen is not None else None}
