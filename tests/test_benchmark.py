"""The staff benchmark still runs and reports what it promises (its figures are not judged here:
speed goals live in the benchmark, not in timed tests)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bot.search.engine import SearchServices
from tests.conftest import REPO, subprocess_env

sys.path.insert(0, str(REPO / "scripts"))
import benchmark


def test_engine_throughput_answers_every_question_from_many_threads(
    search: SearchServices,
) -> None:
    before = search.embedder._batcher.texts
    figures = benchmark.engine_throughput(search, workers=8, count=60)
    assert figures["answers"] == 60
    assert figures["answers_per_s"] > 0
    assert figures["texts_per_model_call"] >= 1
    assert search.embedder._batcher.texts > before  # the questions really went through the model


def test_benchmark_json_has_every_figure(index_dir: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "scripts/benchmark.py",
            "--json",
            "--rounds",
            "1",
            "--skip-build",
            "--skip-load",
            "--index",
            str(index_dir),
        ],
        cwd=REPO,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures["model_runs_at_once"] >= 1
    assert figures["answer"]["calls"] == len(benchmark.QUESTIONS)
    assert 0 < figures["encode_one"]["median_ms"] < figures["answer"]["max_ms"] * 10
    assert figures["startup_s"]["total"] > 0
    assert figures["peak_rss_mb"]["at_end"] >= figures["peak_rss_mb"]["at_start"]
