"""The built index: its manifest, the atomic swap, and the errors staff see when it is not usable.

Only two real builds happen here (rebuild and stale); everything else works on copies of the
session index, which was built from the same content.
"""

from __future__ import annotations

import json
import os
import shutil
import traceback
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import faiss
import numpy as np
import pytest

import bot.search.index as index_module
from bot.catalog import SECTION_KINDS, SECTION_TITLES, CatalogError, load_catalog
from bot.dialogue.replies import render_plain
from bot.search.embedder import MAX_TOKENS, MODEL_NAME, Embedder, Vectors
from bot.search.engine import SearchServices, open_search
from bot.search.index import (
    INDEX_FORMAT,
    IndexCorruptError,
    IndexMissingError,
    IndexStaleError,
    build_index,
    index_is_fresh,
    knowledge_hash,
    load_index,
    read_manifest,
)
from bot.search.intents import INTENTS, load_intents
from tests.conftest import KNOWLEDGE, copy_knowledge

EDITED_PROFILE = "chef.md"


def copy_index(source: Path, target: Path) -> Path:
    """Copy a built index, keeping `current` a (relative) symlink into the copy."""
    shutil.copytree(source, target, symlinks=True)
    live = (target / "current").resolve()
    assert live.is_relative_to(target.resolve()), "the copy must not point at the session index"
    return target


def live_build(index_dir: Path) -> Path:
    return (index_dir / "current").resolve()


def leftovers(index_dir: Path) -> list[str]:
    """Half-written builds or temporary links a build should never leave behind."""
    return sorted(
        path.name
        for path in [*index_dir.iterdir(), *(index_dir / "builds").iterdir()]
        if path.name.endswith(".partial") or path.name.startswith(".current-")
    )


def append_word_to_bullet(knowledge_dir: Path, word: str = "daily") -> str:
    """Edit one bullet of one profile the way staff would; returns the new bullet text."""
    path = knowledge_dir / "careers" / EDITED_PROFILE
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    number = next(i for i, line in enumerate(lines) if line.startswith("- "))
    bullet = lines[number].rstrip("\n").rstrip(".")
    lines[number] = f"{bullet} {word}.\n"
    path.write_text("".join(lines), encoding="utf-8")
    return lines[number][2:].strip()


# --- the manifest ---------------------------------------------------------------------------


def test_manifest_describes_the_build(index_dir: Path, embedder: Embedder) -> None:
    manifest = read_manifest(index_dir)
    catalog = load_catalog(KNOWLEDGE)
    intents = load_intents(KNOWLEDGE / "intents.yaml")

    assert manifest.format == INDEX_FORMAT
    assert manifest.model == embedder.name == f"{MODEL_NAME}+onnx-int8"
    assert manifest.dimension == embedder.dimension
    assert manifest.knowledge_hash == knowledge_hash(KNOWLEDGE)
    assert manifest.careers == len(catalog) >= 80
    bullets = sum(len(career.section(kind).items) for career in catalog for kind in SECTION_KINDS)
    assert manifest.counts == {
        "name": len(catalog),
        "section": 6 * len(catalog),
        "bullet": bullets,
        "example": sum(len(intents[intent]) for intent in INTENTS),
    }
    built_at = datetime.fromisoformat(manifest.built_at)
    assert built_at.utcoffset() is not None, "built_at should carry its time zone"
    assert built_at <= datetime.now(built_at.tzinfo)

    build = live_build(index_dir)
    vectors = faiss.read_index(str(build / "vectors.faiss"))
    rows = json.loads((build / "rows.json").read_text(encoding="utf-8"))
    assert manifest.vectors == vectors.ntotal == len(rows) == sum(manifest.counts.values())
    assert vectors.d == embedder.dimension
    for kind, count in manifest.counts.items():
        assert sum(1 for row in rows if row["kind"] == kind) == count


def test_current_is_a_relative_link_into_builds(index_dir: Path) -> None:
    link = index_dir / "current"
    assert link.is_symlink()
    target = Path(os.readlink(link))
    assert not target.is_absolute(), "a relative link keeps working when INDEX_DIR is moved"
    assert target.parent == Path("builds")
    assert leftovers(index_dir) == []


def test_every_embedded_text_fits_the_model_window(index_dir: Path, embedder: Embedder) -> None:
    index = load_index(index_dir, KNOWLEDGE, model_name=embedder.name)
    catalog = load_catalog(KNOWLEDGE)
    sections = [row for row in index.rows if row.kind == "section"]
    assert {(row.career, row.section) for row in sections} == {
        (career.id, kind) for career in catalog for kind in SECTION_KINDS
    }
    for row in sections:
        assert row.career is not None
        assert row.section is not None
        title = catalog.get(row.career).title
        assert row.text.startswith(f"{title} – {SECTION_TITLES[row.section]}:"), row.text
        assert embedder.token_count(row.text) <= MAX_TOKENS, (row.career, row.section)
    longest_others = sorted(
        (row for row in index.rows if row.kind != "section"), key=lambda row: -len(row.text)
    )[:50]
    for row in longest_others:
        assert embedder.token_count(row.text) <= MAX_TOKENS, row.text


def test_nearest_bullets_come_from_the_asked_sections(index_dir: Path, embedder: Embedder) -> None:
    """The readiness plan's steps: per requirement, the closest Getting Started/Study bullets."""
    index = load_index(index_dir, KNOWLEDGE, model_name=embedder.name)
    career = load_catalog(KNOWLEDGE).get("registered-nurse")
    gaps = range(len(career.section("requirements").bullets))
    among = ("getting_started", "study")
    nearest = index.nearest_bullets(career.id, "requirements", gaps, among=among, each=2)
    assert nearest
    assert len(set(nearest)) == len(nearest) <= 2 * len(gaps)
    for kind, position in nearest:
        assert kind in among
        assert position < len(career.section(kind).bullets)
    assert index.nearest_bullets(career.id, "requirements", [], among=among, each=2) == []


# --- rebuilding -----------------------------------------------------------------------------


def test_rebuild_swaps_current_and_keeps_only_the_previous_build(
    tmp_path: Path, index_dir: Path, build_embedder: Embedder
) -> None:
    embedder = build_embedder
    knowledge = copy_knowledge(tmp_path / "knowledge")
    index = copy_index(index_dir, tmp_path / "index")
    old = live_build(index)

    new = build_index(knowledge, index, embedder)

    assert new != old
    assert live_build(index) == new.resolve()
    assert not Path(os.readlink(index / "current")).is_absolute()
    # The previous build stays (a reader may have resolved the old link); older ones go.
    assert sorted(path.name for path in (index / "builds").iterdir()) == [old.name, new.name]
    assert leftovers(index) == []
    loaded = load_index(index, knowledge, model_name=embedder.name)
    assert loaded.path == new.resolve()
    assert loaded.manifest.knowledge_hash == knowledge_hash(knowledge)


def _fake_vectors(embedder: Embedder) -> Callable[..., Vectors]:
    def encode(texts: list[str], **_: object) -> Vectors:
        return np.zeros((len(texts), embedder.dimension), dtype=np.float32)

    return encode


@pytest.mark.parametrize("failure", ["model fails", "invalid profile", "disk fails mid-write"])
def test_failed_build_keeps_the_previous_one(
    tmp_path: Path,
    index_dir: Path,
    embedder: Embedder,
    monkeypatch: pytest.MonkeyPatch,
    failure: str,
) -> None:
    knowledge = copy_knowledge(tmp_path / "knowledge")
    index = copy_index(index_dir, tmp_path / "index")
    before = live_build(index)
    expected: type[Exception]

    if failure == "model fails":

        def broken_encode(texts: list[str], **_: object) -> Vectors:
            raise RuntimeError("out of memory")

        monkeypatch.setattr(embedder, "encode", broken_encode)
        expected = RuntimeError
    elif failure == "invalid profile":
        profile = knowledge / "careers" / EDITED_PROFILE
        text = profile.read_text(encoding="utf-8")
        profile.write_text(text.replace("id: chef\n", "", 1), encoding="utf-8")
        expected = CatalogError
    else:
        # Vectors are faked to keep this fast; the failure comes after files were written.
        monkeypatch.setattr(embedder, "encode", _fake_vectors(embedder))

        def broken_corpus(*_: object) -> None:
            raise OSError("No space left on device")

        monkeypatch.setattr(index_module, "lexical_corpus", broken_corpus)
        expected = OSError

    with pytest.raises(expected):
        build_index(knowledge, index, embedder)

    assert live_build(index) == before
    assert [path.name for path in (index / "builds").iterdir()] == [before.name]
    assert leftovers(index) == []
    loaded = load_index(index, KNOWLEDGE, model_name=embedder.name)
    assert loaded.path == before


# --- stale ----------------------------------------------------------------------------------


def test_edited_profile_makes_the_index_stale_until_rebuilt(
    tmp_path: Path, index_dir: Path, build_embedder: Embedder
) -> None:
    embedder = build_embedder
    knowledge = copy_knowledge(tmp_path / "knowledge")
    index = copy_index(index_dir, tmp_path / "index")
    assert index_is_fresh(index, knowledge)

    bullet = append_word_to_bullet(knowledge)

    assert not index_is_fresh(index, knowledge)
    with pytest.raises(IndexStaleError, match="out of date") as error:
        load_index(index, knowledge, model_name=embedder.name)
    assert "make index" in str(error.value)

    build_index(knowledge, index, embedder)

    assert index_is_fresh(index, knowledge)
    loaded = load_index(index, knowledge, model_name=embedder.name)
    assert any(row.kind == "bullet" and row.text.endswith(bullet) for row in loaded.rows)


def _edit_intents(knowledge: Path) -> None:
    path = knowledge / "intents.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("\n", "  # edited\n", 1), encoding="utf-8")


def _remove_profile(knowledge: Path) -> None:
    (knowledge / "careers" / EDITED_PROFILE).unlink()


def _add_profile(knowledge: Path) -> None:
    shutil.copy(knowledge / "careers" / EDITED_PROFILE, knowledge / "careers" / "zz-copy.md")


@pytest.mark.parametrize(
    "change",
    [append_word_to_bullet, _edit_intents, _remove_profile, _add_profile],
    ids=["bullet", "intents", "removed", "added"],
)
def test_any_indexed_change_is_stale(
    tmp_path: Path, index_dir: Path, embedder: Embedder, change: Callable[[Path], object]
) -> None:
    knowledge = copy_knowledge(tmp_path / "knowledge")
    change(knowledge)
    assert knowledge_hash(knowledge) != knowledge_hash(KNOWLEDGE)
    assert not index_is_fresh(index_dir, knowledge)
    with pytest.raises(IndexStaleError, match="make index"):
        load_index(index_dir, knowledge, model_name=embedder.name)


def test_quiz_edits_do_not_need_a_rebuild(tmp_path: Path, index_dir: Path) -> None:
    knowledge = copy_knowledge(tmp_path / "knowledge")
    for quiz in (knowledge / "quizzes").glob("*.yaml"):
        quiz.write_text(quiz.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    assert index_is_fresh(index_dir, knowledge)


def test_index_from_another_model_is_stale(index_dir: Path) -> None:
    with pytest.raises(IndexStaleError, match="make index"):
        load_index(index_dir, KNOWLEDGE, model_name="some/other-model")


# --- missing --------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["empty", "absent", "dangling link"])
def test_missing_index_says_how_to_build_it(
    tmp_path: Path, embedder: Embedder, layout: str
) -> None:
    index = tmp_path / "index"
    if layout != "absent":
        index.mkdir()
    if layout == "dangling link":
        (index / "current").symlink_to("builds/20200101T000000000000")

    assert not index_is_fresh(index, KNOWLEDGE)
    with pytest.raises(IndexMissingError) as error:
        load_index(index, KNOWLEDGE, model_name=embedder.name)
    message = str(error.value)
    assert str(index) in message
    assert "make index" in message


# --- corrupt --------------------------------------------------------------------------------


def _garbage_vectors(build: Path) -> None:
    (build / "vectors.faiss").write_bytes(b"\x00not a faiss index\xff" * 64)


def _truncated_vectors(build: Path) -> None:
    data = (build / "vectors.faiss").read_bytes()
    (build / "vectors.faiss").write_bytes(data[: len(data) // 2])


def _invalid_manifest(build: Path) -> None:
    (build / "manifest.json").write_text('{"format": 1, "model": ', encoding="utf-8")


def _deleted_rows(build: Path) -> None:
    (build / "rows.json").unlink()


def _invalid_rows(build: Path) -> None:
    (build / "rows.json").write_text("[{]", encoding="utf-8")


def _fewer_rows(build: Path) -> None:
    rows = json.loads((build / "rows.json").read_text(encoding="utf-8"))
    (build / "rows.json").write_text(json.dumps(rows[:-1]), encoding="utf-8")


def _deleted_bm25(build: Path) -> None:
    shutil.rmtree(build / "bm25")


@pytest.mark.parametrize(
    "damage",
    [
        _garbage_vectors,
        _truncated_vectors,
        _invalid_manifest,
        _deleted_rows,
        _invalid_rows,
        _fewer_rows,
        _deleted_bm25,
    ],
    ids=lambda damage: damage.__name__.strip("_"),
)
def test_damaged_index_is_reported_as_corrupt(
    tmp_path: Path, index_dir: Path, embedder: Embedder, damage: Callable[[Path], None]
) -> None:
    index = copy_index(index_dir, tmp_path / "index")
    damage(live_build(index))

    with pytest.raises(IndexCorruptError) as error:
        load_index(index, KNOWLEDGE, model_name=embedder.name)

    assert "make index" in str(error.value)
    # Raised `from None`: the report shows no chained faiss/json error with its own trace.
    report = "".join(traceback.format_exception(error.value))
    assert "During handling of the above exception" not in report
    assert "direct cause" not in report
    # The session index itself is untouched.
    assert load_index(index_dir, KNOWLEDGE, model_name=embedder.name).rows


def test_a_running_bot_picks_up_a_new_build_without_a_restart(
    tmp_path: Path, index_dir: Path, search: SearchServices, sqlite_url: str
) -> None:
    from bot.search.index import _point_current_at
    from bot.services import build_services
    from bot.settings import Settings

    live = tmp_path / "index"
    shutil.copytree(index_dir, live, symlinks=True)
    settings = Settings(
        database_url=sqlite_url,
        index_dir=live,
        knowledge_dir=KNOWLEDGE,
        _env_file=None,  # type: ignore[call-arg]
    )
    services = build_services(
        settings, search=open_search(KNOWLEDGE, live, embedder=search.embedder)
    )
    try:
        assert not services.index_changed()
        old = services.search.index.path
        # Staff rebuild: a new build appears beside the old one and `current` moves to it.
        new = live / "builds" / "29991231T000000000000"
        shutil.copytree(old, new)
        _point_current_at(live, new)
        assert services.index_changed()
        services.reload_search()
        assert services.search.index.path == new.resolve()
        assert services.dialogue.search is services.search
        assert old.exists()  # a build in use is never deleted under a reader
        reply = services.dialogue.on_text("tg:reload", "what does a plumber do")
        assert "Plumber" in render_plain(reply)
    finally:
        services.close()
