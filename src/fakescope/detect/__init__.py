"""Detection for users: the `Detector` API, backends, explanations, export and batch engines."""

from .detector import Detector

__all__ = ["Detector"]
