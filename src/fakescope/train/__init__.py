"""Training: options, the streaming data pipeline, the loop, checkpoints and DDP."""

from .options import AugmentOptions, TrainOptions

__all__ = ["AugmentOptions", "TrainOptions", "train"]


def train(options: TrainOptions):  # noqa: ANN201 - re-exported lazily: the loop imports torch
    from .loop import train as _train

    return _train(options)
