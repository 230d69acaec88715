"""The built search index: what is embedded, how it is written and swapped in, how it is loaded.

Layout under INDEX_DIR: `builds/<stamp>/` holds one complete build; `current` is a symlink to the
live one, replaced atomically, so a reader never sees half a build.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bm25s
import faiss
import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from bot.catalog import SECTION_KINDS, SECTION_TITLES, Catalog, load_catalog
from bot.search.embedder import MAX_TOKENS, Embedder, Vectors
from bot.search.intents import INTENTS, load_intents
from bot.search.text import tokenize

INDEX_FORMAT = 1
ROW_KINDS = ("name", "section", "bullet", "example")


class IndexProblem(Exception):
    """Base for index problems; the message tells staff what to run."""


class IndexMissingError(IndexProblem):
    pass


class IndexStaleError(IndexProblem):
    pass


class IndexCorruptError(IndexProblem):
    pass


class IndexManifest(BaseModel):
    """manifest.json of a build: what it was built from and with, and how much is in it."""

    model_config = ConfigDict(frozen=True)

    format: int
    model: str
    dimension: int
    knowledge_hash: str
    careers: int
    counts: dict[str, int]  # rows per kind (ROW_KINDS)
    vectors: int
    built_at: str  # ISO 8601, to the second, with its time zone
    build_seconds: float


@dataclass(frozen=True)
class Row:
    """One embedded text: a career's names, a section, a bullet or an intent example."""

    kind: str
    career: str | None
    section: str | None
    position: int
    text: str


def knowledge_hash(knowledge_dir: Path) -> str:
    """A hash of exactly the files the index is built from."""
    digest = hashlib.sha256()
    files = [*sorted((knowledge_dir / "careers").glob("*.md")), knowledge_dir / "intents.yaml"]
    for path in files:
        if path.exists():
            digest.update(path.relative_to(knowledge_dir).as_posix().encode())
            digest.update(b"\0")
            digest.update(path.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()


def career_names(catalog: Catalog) -> dict[str, tuple[str, ...]]:
    """Every name a career goes by: title, id, aliases, and its title's head noun.

    A head noun shared by several careers ("engineer", "manager") is kept too: the matcher
    then sees an ambiguous name and the answer offers the other careers as alternatives.
    """
    names = {}
    explicit = {
        name: career.id
        for career in catalog
        for name in (career.title.lower(), career.id.replace("-", " "), *career.aliases)
    }
    for career in catalog:
        found = [career.title.lower(), career.id.replace("-", " "), *career.aliases]
        head = career.title.lower().split()[-1]
        # "mechanic" is the motor mechanic's own alias: then it is not also the diesel one's.
        if len(career.title.split()) > 1 and explicit.get(head, career.id) == career.id:
            found.append(head)
        names[career.id] = tuple(dict.fromkeys(found))
    return names


def section_document(catalog: Catalog, career_id: str, kind: str, embedder: Embedder) -> str:
    """The section with its career and heading as context, cut to fit the model's window."""
    career = catalog.get(career_id)
    head = f"{career.title} – {SECTION_TITLES[kind]}:"
    items = list(career.section(kind).items)
    text = " ".join([head, *items])
    while items and embedder.token_count(text) > MAX_TOKENS:
        items.pop()
        text = " ".join([head, *items])
    return text


def bullet_document(title: str, kind: str, bullet: str) -> str:
    return f"{title} – {SECTION_TITLES[kind]}: {bullet}"


def build_rows(
    catalog: Catalog, intents: dict[str, tuple[str, ...]], embedder: Embedder
) -> list[Row]:
    rows: list[Row] = []
    for career_id, names in career_names(catalog).items():
        rows.append(Row("name", career_id, None, 0, ", ".join(names)))
    for career in catalog:
        for kind in SECTION_KINDS:
            text = section_document(catalog, career.id, kind, embedder)
            rows.append(Row("section", career.id, kind, 0, text))
    for career in catalog:
        for kind in SECTION_KINDS:
            for position, item in enumerate(career.section(kind).items):
                rows.append(
                    Row(
                        "bullet",
                        career.id,
                        kind,
                        position,
                        bullet_document(career.title, kind, item),
                    )
                )
    for intent in INTENTS:
        for position, example in enumerate(intents[intent]):
            rows.append(Row("example", None, intent, position, example))
    return rows


def lexical_corpus(catalog: Catalog) -> tuple[list[tuple[str, str]], list[str]]:
    """Section texts for BM25, with the career's names so a name also counts as evidence."""
    names = career_names(catalog)
    keys, texts = [], []
    for career in catalog:
        for kind in SECTION_KINDS:
            keys.append((career.id, kind))
            texts.append(
                " ".join([*names[career.id], SECTION_TITLES[kind], career.section(kind).text])
            )
    return keys, texts


def build_index(
    knowledge_dir: Path,
    index_dir: Path,
    embedder: Embedder,
    *,
    progress: bool = False,
    log: Callable[[str], None] = lambda _: None,
) -> Path:
    """Build a complete index in a new folder and point `current` at it."""
    started = time.perf_counter()
    catalog = load_catalog(knowledge_dir)
    intents = load_intents(knowledge_dir / "intents.yaml")
    content_hash = knowledge_hash(knowledge_dir)
    rows = build_rows(catalog, intents, embedder)
    log(f"Embedding {len(rows)} texts from {len(catalog)} careers…")
    vectors = embedder.encode([row.text for row in rows], progress=progress)

    builds = index_dir / "builds"
    builds.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    staging = builds / f".{stamp}.partial"
    staging.mkdir()
    try:
        faiss_index = faiss.IndexFlatIP(embedder.dimension)
        faiss_index.add(vectors)
        faiss.write_index(faiss_index, str(staging / "vectors.faiss"))
        (staging / "rows.json").write_text(
            json.dumps([row.__dict__ for row in rows], ensure_ascii=False), encoding="utf-8"
        )
        keys, texts = lexical_corpus(catalog)
        retriever = bm25s.BM25()
        retriever.index([tokenize(text) for text in texts], show_progress=False)
        retriever.save(str(staging / "bm25"), show_progress=False)
        (staging / "bm25_keys.json").write_text(json.dumps(keys), encoding="utf-8")
        manifest = IndexManifest(
            format=INDEX_FORMAT,
            model=embedder.name,
            dimension=embedder.dimension,
            knowledge_hash=content_hash,
            careers=len(catalog),
            counts={kind: sum(1 for row in rows if row.kind == kind) for kind in ROW_KINDS},
            vectors=len(rows),
            built_at=datetime.now(UTC).isoformat(timespec="seconds"),
            build_seconds=round(time.perf_counter() - started, 2),
        )
        (staging / "manifest.json").write_text(
            manifest.model_dump_json(indent=2), encoding="utf-8"
        )
        final = builds / stamp
        staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _point_current_at(index_dir, final)
    _remove_old_builds(builds, keep=final)
    return final


def _point_current_at(index_dir: Path, build: Path) -> None:
    link = index_dir / "current"
    temporary = index_dir / f".current-{os.getpid()}"
    if temporary.is_symlink() or temporary.exists():
        temporary.unlink()
    temporary.symlink_to(build.relative_to(index_dir))
    os.replace(temporary, link)


def _remove_old_builds(builds: Path, keep: Path) -> None:
    """Keep the live build and the one before it: a bot that resolved `current` just before
    the swap may still be reading the previous build."""
    finished = sorted(b for b in builds.iterdir() if not b.name.startswith("."))
    for build in finished[:-2] if finished[-1] == keep else [b for b in finished if b != keep]:
        shutil.rmtree(build, ignore_errors=True)


@dataclass
class LoadedIndex:
    manifest: IndexManifest
    rows: list[Row]
    vectors: Vectors
    faiss_index: Any
    bm25: Any
    bm25_keys: list[tuple[str, str]]
    path: Path

    def nearest_bullets(
        self,
        career: str,
        section: str,
        positions: Iterable[int],
        *,
        among: Sequence[str],
        each: int,
    ) -> list[tuple[str, int]]:
        """For each of a career's `section` bullets at `positions`, the `each` bullets of its
        `among` sections closest in meaning: (section, position) pairs, each listed once."""
        rows = {
            (row.section, row.position): i
            for i, row in enumerate(self.rows)
            if row.career == career and row.kind == "bullet" and row.section is not None
        }
        candidates = sorted(
            (key for key in rows if key[0] in among), key=lambda key: (among.index(key[0]), key[1])
        )
        if not candidates:
            return []
        candidate_vectors = self.vectors[[rows[key] for key in candidates]]
        nearest: dict[tuple[str, int], None] = {}
        for position in positions:
            row = rows.get((section, position))
            if row is None:
                continue
            closeness = candidate_vectors @ self.vectors[row]  # unit vectors: cosine similarity
            for best in np.argsort(-closeness)[:each]:
                kind, at = candidates[int(best)]
                nearest[(kind, at)] = None
        return list(nearest)


def read_manifest(index_dir: Path, build: Path | None = None) -> IndexManifest:
    manifest_path = (build or index_dir / "current") / "manifest.json"
    if not manifest_path.exists():
        raise IndexMissingError(
            f"no search index in {index_dir}; build it with `make index` "
            "(or `python scripts/build_index.py`)"
        )
    try:
        return IndexManifest.model_validate_json(manifest_path.read_bytes())
    except ValidationError:  # not JSON, not UTF-8, or not a manifest
        raise IndexCorruptError(
            f"the index manifest {manifest_path} is damaged; rebuild with `make index`"
        ) from None


def index_is_fresh(index_dir: Path, knowledge_dir: Path) -> bool:
    try:
        manifest = read_manifest(index_dir)
    except IndexProblem:
        return False
    return (
        manifest.format == INDEX_FORMAT
        and manifest.model == Embedder.name
        and manifest.knowledge_hash == knowledge_hash(knowledge_dir)
    )


def load_index(index_dir: Path, knowledge_dir: Path, *, model_name: str) -> LoadedIndex:
    # Resolve the link once: a rebuild may swap it while we read.
    path = (index_dir / "current").resolve()
    manifest = read_manifest(index_dir, build=path)
    if manifest.format != INDEX_FORMAT or manifest.model != model_name:
        raise IndexStaleError(
            "the index was built by another version or model; rebuild with `make index`"
        )
    if manifest.knowledge_hash != knowledge_hash(knowledge_dir):
        raise IndexStaleError(
            f"the index is out of date: {knowledge_dir} changed since it was built "
            f"({manifest.built_at}); rebuild with `make index`"
        )
    try:
        faiss_index = faiss.read_index(str(path / "vectors.faiss"))
        raw_rows = json.loads((path / "rows.json").read_text(encoding="utf-8"))
        rows = [Row(**raw) for raw in raw_rows]
        bm25 = bm25s.BM25.load(str(path / "bm25"), show_progress=False)
        bm25_keys = [tuple(key) for key in json.loads((path / "bm25_keys.json").read_text())]
        vectors = faiss_index.reconstruct_n(0, faiss_index.ntotal)
    except Exception as error:  # faiss raises RuntimeError, json ValueError, numpy OSError...
        raise IndexCorruptError(
            f"the index in {path} can't be read ({type(error).__name__}); "
            "rebuild with `make index`"
        ) from None
    if faiss_index.ntotal != len(rows) or len(rows) != manifest.vectors:
        raise IndexCorruptError(
            f"the index in {path} is incomplete ({faiss_index.ntotal} vectors, {len(rows)} rows); "
            "rebuild with `make index`"
        )
    return LoadedIndex(
        manifest=manifest,
        rows=rows,
        vectors=np.asarray(vectors, dtype=np.float32),
        faiss_index=faiss_index,
        bm25=bm25,
        bm25_keys=[(str(a), str(b)) for a, b in bm25_keys],
        path=path,
    )
