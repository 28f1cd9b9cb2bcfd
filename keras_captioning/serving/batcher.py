"""Requests that arrive together, captioned together."""

import asyncio
import concurrent.futures

from keras_captioning import _validation


class QueueFullError(RuntimeError):
    """Raised by `DynamicBatcher.submit` when `max_queue` items wait."""


def padded_batch_sizes(max_batch_size):
    """The batch sizes a batch is padded to: powers of two, then the most.

    Compiled generation is traced once per batch size; padding every batch
    up to one of these few sizes keeps it from being rebuilt per size.

    Args:
        max_batch_size: positive int.

    Returns:
        Sorted tuple of ints ending with `max_batch_size`.

    Example:

    >>> keras_captioning.serving.padded_batch_sizes(8)
    (1, 2, 4, 8)
    >>> keras_captioning.serving.padded_batch_sizes(6)
    (1, 2, 4, 6)
    """
    max_batch_size = _validation.check_int("max_batch_size", max_batch_size)
    sizes, size = [], 1
    while size < max_batch_size:
        sizes.append(size)
        size *= 2
    return tuple(sizes + [max_batch_size])


class DynamicBatcher:
    """Gathers items submitted within a short window into batches.

    `submit(item)` (a coroutine) queues one item and returns its result.
    One worker task takes the first waiting item, waits at most
    `batch_timeout_ms` for more (up to `max_batch_size`), and hands the
    batch to `run_batch` in one worker thread, off the event loop, so the
    model never runs two batches at once and the loop keeps accepting
    requests meanwhile. Items of different `key`s are never batched
    together (they need different compiled functions). The queue is
    bounded: past `max_queue` waiting items, `submit` raises
    `QueueFullError` at once.

    Args:
        run_batch: callable `(key, items) -> results`, one result per item
            in order; an exception fails every item of the batch.
        max_batch_size: int. Most items per batch. Defaults to `8`.
        batch_timeout_ms: float. How long the first item of a batch waits
            for others, in milliseconds; `0` takes only what already waits.
            Defaults to `10`.
        max_queue: int. Most items waiting for a batch. Defaults to `64`.
        on_batch: callable `(size) -> None` or `None`, told the size of
            each batch before it runs (for metrics). Defaults to `None`.

    Example:

    >>> import asyncio
    >>> sizes = []
    >>> async def main():
    ...     batcher = keras_captioning.serving.DynamicBatcher(
    ...         lambda key, items: [item * 10 for item in items],
    ...         on_batch=sizes.append,
    ...     )
    ...     batcher.start()
    ...     results = await asyncio.gather(*(batcher.submit(i) for i in (1, 2)))
    ...     await batcher.stop()
    ...     return results
    >>> asyncio.run(main()), sizes
    ([10, 20], [2])
    """

    def __init__(
        self,
        run_batch,
        max_batch_size=8,
        batch_timeout_ms=10,
        max_queue=64,
        on_batch=None,
    ):
        if not callable(run_batch):
            raise TypeError(
                "`run_batch` must be callable. "
                f"Received: run_batch={run_batch!r}"
            )
        self.run_batch = run_batch
        self.max_batch_size = _validation.check_int(
            "max_batch_size", max_batch_size
        )
        self.batch_timeout_ms = _validation.check_float(
            "batch_timeout_ms", batch_timeout_ms, minimum=0
        )
        self.max_queue = _validation.check_int("max_queue", max_queue)
        self.on_batch = on_batch
        self._waiting = 0
        self._queue = None
        self._worker = None
        self._executor = None

    @property
    def waiting(self):
        """Items submitted and not yet handed to `run_batch`."""
        return self._waiting

    def start(self):
        """Starts the worker task on the running event loop."""
        self._queue = asyncio.Queue()
        self._executor = concurrent.futures.ThreadPoolExecutor(
            1, thread_name_prefix="keras_captioning-batcher"
        )
        self._worker = asyncio.get_running_loop().create_task(self._work())

    async def stop(self):
        """Runs what is queued, then stops the worker and its thread."""
        if self._worker is None:
            return
        await self._queue.put(None)
        await self._worker
        self._executor.shutdown(wait=True)
        self._worker = None

    async def call_in_worker(self, function, *args):
        """Runs `function(*args)` in the worker thread, between batches
        (to compile or warm up the model there); returns its result."""
        if self._worker is None:
            raise RuntimeError("The batcher is not started; call start().")
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, function, *args
        )

    async def submit(self, item, key=None):
        """Queues `item` and returns its result once its batch has run.

        Raises `QueueFullError` when `max_queue` items already wait, and
        what `run_batch` raised for the batch.
        """
        if self._worker is None:
            raise RuntimeError("The batcher is not started; call start().")
        if self._waiting >= self.max_queue:
            raise QueueFullError(
                f"{self._waiting} items are waiting, the most allowed "
                f"(max_queue={self.max_queue})."
            )
        future = asyncio.get_running_loop().create_future()
        self._waiting += 1
        self._queue.put_nowait((key, item, future))
        return await future

    async def _work(self):
        loop = asyncio.get_running_loop()
        held = None
        stopping = False
        while not stopping:
            first = held if held is not None else await self._queue.get()
            held = None
            if first is None:
                break
            batch = [first]
            deadline = loop.time() + self.batch_timeout_ms / 1000
            while len(batch) < self.max_batch_size:
                timeout = deadline - loop.time()
                try:
                    if timeout <= 0:
                        entry = self._queue.get_nowait()
                    else:
                        entry = await asyncio.wait_for(
                            self._queue.get(), timeout
                        )
                except (asyncio.TimeoutError, asyncio.QueueEmpty):
                    break
                if entry is None:
                    stopping = True
                    break
                if entry[0] != first[0]:
                    held = entry
                    break
                batch.append(entry)
            await self._run(loop, batch)

    async def _run(self, loop, batch):
        key = batch[0][0]
        self._waiting -= len(batch)
        if self.on_batch is not None:
            self.on_batch(len(batch))
        try:
            results = await loop.run_in_executor(
                self._executor,
                self.run_batch,
                key,
                [item for _, item, _ in batch],
            )
        except Exception as error:
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        for (_, _, future), result in zip(batch, results):
            if not future.done():
                future.set_result(result)
