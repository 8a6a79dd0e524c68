"""Detectors: a registry of named architectures, their configs, preprocessing and weights I/O."""

from .config import ModelConfig, PreprocessConfig
from .io import load_model, read_config, save_model
from .net import DetectorNet, create_model, default_preprocess, fake_probability, generator_probabilities
from .registry import DetectorSpec, get_spec, list_detectors, register_detector

__all__ = [
    "DetectorNet",
    "DetectorSpec",
    "ModelConfig",
    "PreprocessConfig",
    "create_model",
    "default_preprocess",
    "fake_probability",
    "generator_probabilities",
    "get_spec",
    "list_detectors",
    "load_model",
    "read_config",
    "register_detector",
    "save_model",
]
