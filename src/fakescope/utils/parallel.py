"""An ordered, bounded, threaded map that also says whether more input is waiting.

`ordered_map(fn, items, workers)` runs `fn` over `items` in a thread pool and yields
`(fn(item), more_ready)` in input order. A reader thread pulls `items` (a folder walk, a parquet
scan, stdin) and keeps at most `depth` calls in flight, so memory stays bounded however long the
input is. `more_ready` is False when the next input has not arrived yet: a batching consumer
flushes then, so a slow input (paths typed or piped one at a time) still gets each answer at once,
while a fast one fills whole batches.

Threads, not processes: image decoding and resizing release the GIL in Pillow, and the model
runs in the main thread while the pool prepares the next batch.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_END = object()


class _Raised:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def ordered_map(fn: Callable[[T], R], items: Iterable[T], workers: int, depth: int) -> Iterator[tuple[R, bool]]:
    """(fn(item), more_ready) in input order, computed by `workers` threads, at most `depth` ahead.

    An exception raised by `fn` or by iterating `items` is re-raised in the caller, in order.
    Closing the iterator early stops the reader and drops what is in flight.
    """
    if workers < 1 or depth < 1:
        raise ValueError("ordered_map needs workers >= 1 and depth >= 1")
    stop = threading.Event()
    inflight: queue.Queue[Any] = queue.Queue(maxsize=depth)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fakescope-prepare")

    def put(obj: Any) -> bool:
        while not stop.is_set():
            try:
                inflight.put(obj, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def reader() -> None:
        try:
            for item in items:
                if not put(pool.submit(fn, item)):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            put(_Raised(exc))
            return
        put(_END)

    thread = threading.Thread(target=reader, name="fakescope-reader", daemon=True)
    thread.start()
    try:
        while True:
            got = inflight.get()
            if got is _END:
                return
            if isinstance(got, _Raised):
                raise got.exc
            future: Future[R] = got
            more_ready = not inflight.empty()
            yield future.result(), more_ready
    finally:
        stop.set()
        pool.shutdown(wait=False, cancel_futures=True)
        thread.join(timeout=1.0)  # a reader blocked on a slow input (stdin) is a daemon: not waited for
