"""What `fakescope detect PATH...` scores: files, folders, globs, `-` (paths on stdin) and datasets.

Everything is lazy: folders are read entry by entry with `os.scandir`, globs with `glob.iglob`,
stdin line by line, datasets row by row, so the first verdict of a million-image folder comes out
at once and memory does not grow with the collection.

- a file is scored whatever its extension (the decoder sniffs the content);
- a folder yields the image files in it (by extension, hidden entries skipped), and with
  `recursive` those of its subfolders too; symlinked folders are not followed (no loops);
- a pattern with `*`, `?` or `[` that is not an existing path is a glob (`**` with `recursive`);
- `-` reads one path per line from stdin (no glob expansion: the shell or `find` did that);
- a dataset (a `.parquet` file, a folder of parquet shards without images, or `hf:OWNER/NAME`)
  yields its rows through `fakescope.data.open_source`.
An argument that yields no image (missing file, empty folder, glob without match) becomes an
`InputProblem`, i.e. one error entry in the results, and the run goes on.

Order: small folders and globs come out sorted by name; more than `SORT_LIMIT` images come out
in directory order, so that it never has to be listed in memory first.
"""

from __future__ import annotations

import glob
import os
from dataclasses import replace
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any, TextIO

from fakescope.data import open_source
from fakescope.data.formats import is_image_name
from fakescope.data.hub import HUB_PREFIX
from fakescope.data.parquet import parquet_files
from fakescope.errors import UserError

from .inputs import InputProblem

SORT_LIMIT = 10_000
GLOB_MAGIC = frozenset("*?[")
STDIN = "-"


def sorted_if_small(names: Iterator[str], limit: int = SORT_LIMIT) -> Iterator[str]:
    """`names` sorted when there are at most `limit`, else in arrival order (never all in memory)."""
    head = list(islice(names, limit + 1))
    if len(head) <= limit:
        yield from sorted(head)
        return
    yield from head
    yield from names


class FolderWalk:
    """The image files of a folder, lazily; `skipped_subfolders` counts what `recursive=False` left."""

    def __init__(self, root: str, recursive: bool) -> None:
        self.root = root
        self.recursive = recursive
        self.skipped_subfolders = 0

    def __iter__(self) -> Iterator[str]:
        return self._walk(self.root)

    def _walk(self, folder: str) -> Iterator[str]:
        subfolders: list[str] = []

        def image_names() -> Iterator[str]:
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.name.startswith("."):
                        continue
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            subfolders.append(entry.name)
                            continue
                    except OSError:
                        continue
                    if is_image_name(entry.name):
                        yield entry.name

        for name in sorted_if_small(image_names()):
            yield os.path.join(folder, name)
        if not self.recursive:
            self.skipped_subfolders += len(subfolders)
            return
        for sub in sorted(subfolders):
            try:
                yield from self._walk(os.path.join(folder, sub))
            except OSError:
                continue  # an unreadable subfolder is skipped, like `find` does, not fatal


def is_dataset(arg: str) -> bool:
    """A dataset rather than images: hf:..., a .parquet file, or a folder of parquet shards only."""
    if arg.startswith(HUB_PREFIX):
        return True
    p = Path(arg)
    if p.is_file():
        return p.suffix.lower() == ".parquet"
    if p.is_dir():
        # Look for an image first: it is found at once in an image folder, where a search for
        # parquet files would walk the whole tree.
        return next(iter(FolderWalk(arg, recursive=True)), None) is None and bool(parquet_files(p))
    return False


def _dataset_rows(arg: str, split: str | None) -> Iterator[Any]:
    source = open_source(arg, split=split)
    root = None if arg.startswith(HUB_PREFIX) else (arg if os.path.isdir(arg) else os.path.dirname(arg))
    for sample in source:
        # Parquet origins are relative to the dataset root; make them point at the real shard.
        if root and not os.path.isabs(sample.origin):
            sample = replace(sample, origin=os.path.join(root, sample.origin))
        yield sample


def _expand_path(arg: str, recursive: bool, split: str | None, patterns: bool = True) -> Iterator[Any]:
    if is_dataset(arg):
        yield from _dataset_rows(arg, split)
        return
    if os.path.isdir(arg):
        walk = FolderWalk(arg, recursive)
        try:
            found = False
            for path in walk:
                found = True
                yield path
        except OSError as exc:
            yield InputProblem(arg, f"cannot read folder: {exc.strerror or exc}")
            return
        if not found:
            hint = f" (it has {walk.skipped_subfolders} subfolder(s): add --recursive)" if walk.skipped_subfolders else ""
            yield InputProblem(arg, f"no image files in this folder{hint}")
        return
    if os.path.lexists(arg):
        yield arg  # a file (or a broken link: the decoder reports it), whatever its extension
        return
    if patterns and GLOB_MAGIC & set(arg):
        matched = False
        descends = recursive and "**" in arg
        for match in sorted_if_small(glob.iglob(arg, recursive=recursive)):
            matched = True
            if descends and os.path.isdir(match):
                continue  # with `**` the pattern itself already lists what is inside folders
            # a match is read like an argument: a folder lists its images, a parquet file its rows
            yield from _expand_path(match, recursive, split, patterns=False)
        if not matched:
            yield InputProblem(arg, "no files match this pattern")
        return
    yield InputProblem(arg, "file not found")


def expand_inputs(args: Iterable[str], *, recursive: bool = False, split: str | None = None,
                  stdin: TextIO | None = None) -> Iterator[Any]:
    """Every image input named by `args`, lazily, in order: paths (str), dataset rows, InputProblems."""
    for arg in args:
        if arg == STDIN:
            if stdin is None:
                raise ValueError("'-' needs a stdin stream")
            for line in stdin:
                path = line.rstrip("\r\n")
                if path:  # a listed path is literal: whoever listed it expanded the patterns
                    yield from _expand_path(path, recursive, split, patterns=False)
            continue
        yield from _expand_path(arg, recursive, split)


def check_inputs(args: list[str], split: str | None) -> None:
    """Fail early, with exit code 2, on what is an argument mistake rather than a bad file: a dataset
    that cannot be opened, a split it does not have, or --split without any dataset to apply to."""
    datasets = [a for a in args if a != STDIN and is_dataset(a)]
    for arg in datasets:
        open_source(arg, split=split)  # SourceError (a UserError) names the problem and the splits
    if split is not None and not datasets and STDIN not in args:
        raise UserError(f"--split {split} applies to datasets (parquet, hf:NAME); no input here is one")
