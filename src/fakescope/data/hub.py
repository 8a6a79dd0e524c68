"""Datasets on the Hugging Face hub: `hf:OWNER/NAME[:config]`, through `datasets.load_dataset`.

Rows go through the same `RowSchema` adapters as local parquet shards. Images are read with
`Image(decode=False)`, so the bytes reach fakescope's own decoder (same errors, same RGB policy)
and nothing is decoded twice. With `streaming=True` nothing is downloaded up front, which is the
only sane way to read Community Forensics (hundreds of GB).

`load_dataset` also accepts a local folder with the same layout as the hub repository, which is
how the tests exercise this exact code offline: `hf:../shared/data/tiny-genimage-sample`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .rows import RowSchema, detect_schema
from .sample import DataSource, Sample

HUB_PREFIX = "hf:"


def parse_hub_spec(spec: str) -> tuple[str, str | None]:
    """`hf:OWNER/NAME[:config]` -> (path, config)."""
    body = spec[len(HUB_PREFIX):] if spec.startswith(HUB_PREFIX) else spec
    if not body:
        raise ValueError("empty hub id: expected hf:OWNER/NAME[:config]")
    # A Windows drive or a local path never has a config suffix; only split on the last ':'.
    path, sep, config = body.rpartition(":")
    if sep and path and "/" not in config:
        return path, config or None
    return body, None


class HubSource(DataSource):
    format = "hf-hub"

    def __init__(self, spec: str, split: str | None = None, streaming: bool = False, **load_kwargs: Any) -> None:
        super().__init__(spec, split)
        import datasets  # imported here: `datasets` is slow to import and only this reader needs it

        self.path, self.config = parse_hub_spec(spec)
        self.streaming = streaming
        kwargs = dict(load_kwargs)
        if split is not None:
            kwargs["split"] = split
        loaded = datasets.load_dataset(self.path, self.config, streaming=streaming, **kwargs)
        if split is not None:
            self._splits = {split: loaded}
        else:
            self._splits = dict(loaded.items())
        first = next(iter(self._splits.values()))
        features = first.features
        feats: dict = features.to_dict() if features is not None else {}
        columns = list(feats) if feats else list(first.column_names or [])
        self.schema: RowSchema = detect_schema(columns, feats)
        self.format = f"hf-hub/{self.schema.name}"

    def splits(self) -> list[str]:
        return list(self._splits)

    def count(self, split: str) -> int | None:
        ds = self._splits[split]
        if not self.streaming:
            return len(ds)
        info = getattr(ds, "info", None)
        if info is not None and info.splits and split in info.splits:
            n = info.splits[split].num_examples
            return int(n) if n else None
        return None

    def _dataset(self, split: str) -> Any:
        import datasets

        ds = self._splits[split]
        if self.schema.image_column in (ds.features or {}) and isinstance(ds.features[self.schema.image_column], datasets.Image):
            ds = ds.cast_column(self.schema.image_column, datasets.Image(decode=False))
        return ds.select_columns(self.schema.columns)

    def _iter_split(self, split: str) -> Iterator[Sample]:
        for i, row in enumerate(self._dataset(split)):
            where = f"{self.path}[{split}]#row={i}"
            yield self.schema.to_sample(row, key=where, split=split, where=where, source_id=self.spec)

    def _fingerprint_parts(self, split: str) -> Iterator[str]:
        ds = self._splits[split]
        fp = getattr(ds, "_fingerprint", None)
        yield f"{self.path}|{self.config}|{split}|{fp or self.count(split)}"
