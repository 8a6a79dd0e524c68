"""The detector registry: named entrypoints, as timm's `@register_model`, never `if name == ...`.

A detector registers a builder that returns a *backbone*: an `nn.Module` with `num_features` and
`forward_features(x) -> (N, D)`. The registry adds the heads (binary and/or generator) the task
asks for, so every detector supports Task A, Task B, or both without code of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from .config import ModelConfig, PreprocessConfig

Builder = Callable[[ModelConfig], nn.Module]
PreprocessFactory = Callable[[str, dict[str, Any]], PreprocessConfig]


@dataclass(frozen=True)
class DetectorSpec:
    name: str
    description: str
    build: Builder
    preprocess: PreprocessFactory
    # "gradient": trained by the SGD loop; "features": features extracted once, heads fitted in
    # closed form (logistic regression) - the classical baselines that train in seconds.
    fit: str = "gradient"
    family: bool = False  # the name is a prefix: "timm" serves "timm:<backbone>"
    train_defaults: dict[str, Any] = field(default_factory=dict)

    @property
    def display_name(self) -> str:
        return f"{self.name}:<name>" if self.family else self.name


_REGISTRY: dict[str, DetectorSpec] = {}


def register_detector(
    name: str,
    description: str,
    *,
    preprocess: PreprocessFactory,
    fit: str = "gradient",
    family: bool = False,
    train_defaults: dict[str, Any] | None = None,
) -> Callable[[Builder], Builder]:
    """Decorator registering a backbone builder under `name`."""

    def deco(build: Builder) -> Builder:
        if name in _REGISTRY:
            raise ValueError(f"detector {name!r} registered twice")
        _REGISTRY[name] = DetectorSpec(name, description, build, preprocess, fit, family, dict(train_defaults or {}))
        return build

    return deco


def get_spec(architecture: str) -> DetectorSpec:
    """The spec for `architecture` ("cnn-small", "timm:resnet50", ...); KeyError listing the known ones."""
    _ensure_loaded()
    if architecture in _REGISTRY and not _REGISTRY[architecture].family:
        return _REGISTRY[architecture]
    prefix, sep, rest = architecture.partition(":")
    if sep and rest and prefix in _REGISTRY and _REGISTRY[prefix].family:
        return _REGISTRY[prefix]
    known = ", ".join(s.display_name for s in list_detectors())
    raise KeyError(f"unknown detector {architecture!r} (known: {known})")


def list_detectors() -> list[DetectorSpec]:
    _ensure_loaded()
    return sorted(_REGISTRY.values(), key=lambda s: s.name)


def _ensure_loaded() -> None:
    # Importing the package registers the built-in detectors (their heavy imports stay lazy).
    from . import detectors  # noqa: F401
