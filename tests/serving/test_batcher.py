import asyncio
import threading

import pytest

from keras_captioning.serving import DynamicBatcher
from keras_captioning.serving import QueueFullError
from keras_captioning.serving import padded_batch_sizes

pytestmark = pytest.mark.backend_independent


def run(coroutine):
    return asyncio.run(coroutine)


@pytest.mark.parametrize(
    "most, sizes",
    [(1, (1,)), (2, (1, 2)), (8, (1, 2, 4, 8)), (12, (1, 2, 4, 8, 12))],
)
def test_padded_batch_sizes(most, sizes):
    assert padded_batch_sizes(most) == sizes


def test_items_arriving_together_share_a_batch_and_keys_do_not_mix():
    batches, threads = [], set()

    def run_batch(key, items):
        threads.add(threading.current_thread().name)
        batches.append((key, list(items)))
        return [f"{key}:{item}" for item in items]

    async def main():
        batcher = DynamicBatcher(run_batch, max_batch_size=3)
        batcher.start()
        results = await asyncio.gather(
            *(batcher.submit(i, key="a") for i in range(4)),
            batcher.submit(9, key="b"),
        )
        await batcher.stop()
        return results

    assert run(main()) == ["a:0", "a:1", "a:2", "a:3", "b:9"]
    assert batches == [("a", [0, 1, 2]), ("a", [3]), ("b", [9])]
    assert threads == {"keras_captioning-batcher_0"}


def test_a_full_queue_refuses_and_errors_reach_every_item():
    def run_batch(key, items):
        raise RuntimeError("the model failed")

    async def main():
        batcher = DynamicBatcher(
            run_batch, max_batch_size=2, batch_timeout_ms=50, max_queue=2
        )
        batcher.start()
        first = asyncio.ensure_future(batcher.submit(1))
        second = asyncio.ensure_future(batcher.submit(2))
        await asyncio.sleep(0)
        with pytest.raises(QueueFullError, match="max_queue=2"):
            await batcher.submit(3)
        for task in (first, second):
            with pytest.raises(RuntimeError, match="the model failed"):
                await task
        await batcher.stop()

    run(main())


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"run_batch": None}, "`run_batch` must be callable"),
        ({"max_batch_size": 0}, "`max_batch_size` must be"),
        ({"batch_timeout_ms": -1}, "`batch_timeout_ms` must be"),
        ({"max_queue": 0}, "`max_queue` must be"),
    ],
)
def test_bad_arguments_are_refused(arguments, message):
    arguments = {"run_batch": lambda key, items: items, **arguments}
    with pytest.raises((TypeError, ValueError), match=message):
        DynamicBatcher(**arguments)
