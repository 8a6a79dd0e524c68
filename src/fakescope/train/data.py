"""Training data: a sharded, shuffled, streaming torch dataset over a selection.

Nothing here holds a dataset in memory. The selection (validation hold-out, `--max-samples`
subset) comes from a cheap scan (fakescope.data.selection); `SampleStream` then streams it, each
DDP rank and DataLoader worker reading its own shard, decoding lazily and skipping bad files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import IterableDataset, get_worker_info

from fakescope.data import REAL, REAL_CLASS, DataSource, ImageDecodeError, Sample
from fakescope.data.selection import Selection

SHUFFLE_BUFFER = 8192
SHUFFLE_BUFFER_BYTES = 256 * 2**20  # in-memory samples (parquet rows) hold their bytes: cap the buffer
PATCH_BUFFER = 1024  # crops from several images are mixed before batching (not P crops of one image per batch)
IGNORE_GENERATOR = -1  # fakes whose generator is unknown take no part in the generator loss


def _shuffled(items: Iterator[Sample], rng: np.random.Generator) -> Iterator[Sample]:
    """Full permutation for path-only samples (a list of paths is small); a bounded buffer for
    samples that carry their bytes (parquet rows), so memory never holds the dataset."""
    first = next(items, None)
    if first is None:
        return
    if first.data is None:
        pool = [first, *items]
        for i in rng.permutation(len(pool)):
            yield pool[i]
        return
    buf: list[Sample] = [first]
    size = len(first.data)
    for item in items:
        if len(buf) >= SHUFFLE_BUFFER or size >= SHUFFLE_BUFFER_BYTES:
            j = int(rng.integers(len(buf)))
            out = buf[j]
            size -= len(out.data or b"")
            buf[j] = item
            size += len(item.data or b"")
            yield out
        else:
            buf.append(item)
            size += len(item.data or b"")
    for i in rng.permutation(len(buf)):
        yield buf[i]


Transform = Callable[[Image.Image, np.random.Generator], np.ndarray]


class SampleStream(IterableDataset):
    """Streams (uint8 HWC image, label, generator index) for one shard of a selection.

    The global shard is (DDP rank, DataLoader worker); sample i of the selection belongs to shard
    i mod (world size x workers). Randomness (shuffle order, augmentation) comes from a generator
    seeded by (seed, epoch, shard), so a run is reproducible and a resumed epoch replays exactly.
    Unreadable images yield None, which the collate function drops and counts.
    """

    def __init__(self, source: DataSource, selection: Selection, transform: Transform, vocabulary: list[str] | None,
                 *, seed: int, shuffle: bool, rank: int = 0, world_size: int = 1, patches: int = 1,
                 per_image: Callable[[Image.Image, np.random.Generator], Image.Image] | None = None) -> None:
        super().__init__()
        self.source = source
        self.selection = selection
        self.transform = transform
        self.gen_index = {name: i for i, name in enumerate(vocabulary or [])}
        self.seed = seed
        self.shuffle = shuffle
        self.rank = rank
        self.world_size = world_size
        self.patches = patches  # random crops per decoded image and epoch (native-resolution training)
        self.per_image = per_image  # runs once per decoded image before the `patches` transforms
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _generator_index(self, s: Sample) -> int:
        if not self.gen_index:
            return IGNORE_GENERATOR
        if s.label == REAL:
            return self.gen_index[REAL_CLASS]
        return self.gen_index.get(s.generator or "", IGNORE_GENERATOR)

    def __iter__(self) -> Iterator[tuple[np.ndarray, int, int, str] | tuple[None, str, str]]:
        info = get_worker_info()
        wid, nworkers = (info.id, info.num_workers) if info is not None else (0, 1)
        shard, nshards = self.rank * nworkers + wid, self.world_size * nworkers
        rng = np.random.default_rng([self.seed, self.epoch, shard])
        selected = (s for s in self.source if self.selection(s))
        mine = (s for i, s in enumerate(selected) if i % nshards == shard)
        ordered = _shuffled(mine, rng) if self.shuffle else mine
        items = self._items(ordered, rng)
        yield from (_mixed(items, rng) if self.patches > 1 and self.shuffle else items)

    def _items(self, ordered: Iterator[Sample], rng: np.random.Generator) -> Iterator[tuple[Any, ...]]:
        for s in ordered:
            try:
                im = s.image()
            except ImageDecodeError as exc:
                yield None, s.origin, exc.reason
                continue
            if self.per_image is not None:
                im = self.per_image(im, rng)
            for _ in range(self.patches):  # one decode, several independent crops
                yield self.transform(im, rng), int(s.label), self._generator_index(s), s.key


def _mixed(items: Iterator[tuple[Any, ...]], rng: np.random.Generator) -> Iterator[tuple[Any, ...]]:
    """A bounded shuffle buffer, so a batch holds crops of many images rather than P of one."""
    buf: list[tuple[Any, ...]] = []
    for item in items:
        if len(buf) < PATCH_BUFFER:
            buf.append(item)
            continue
        j = int(rng.integers(len(buf)))
        buf[j], item = item, buf[j]
        yield item
    for i in rng.permutation(len(buf)):
        yield buf[i]


@dataclass
class Batch:
    images: torch.Tensor  # uint8 NHWC
    labels: torch.Tensor  # int64 (N,)
    generators: torch.Tensor  # int64 (N,), IGNORE_GENERATOR where unknown
    keys: list[str]
    skipped: list[tuple[str, str]]

    def __len__(self) -> int:
        return int(self.labels.shape[0])


def collate(items: list[tuple[Any, ...]]) -> Batch:
    good = [it for it in items if it[0] is not None]
    skipped = [(it[1], it[2]) for it in items if it[0] is None]
    if not good:
        empty = torch.zeros((0,), dtype=torch.int64)
        return Batch(torch.zeros((0, 1, 1, 3), dtype=torch.uint8), empty, empty, [], skipped)
    images = torch.from_numpy(np.stack([it[0] for it in good]))
    labels = torch.tensor([it[1] for it in good], dtype=torch.int64)
    gens = torch.tensor([it[2] for it in good], dtype=torch.int64)
    return Batch(images, labels, gens, [it[3] for it in good], skipped)
