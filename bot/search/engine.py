"""The search services built once at start-up: catalogue, embedder, index and ranker."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.catalog import Catalog, load_catalog
from bot.search.embedder import Embedder
from bot.search.index import LoadedIndex, load_index
from bot.search.ranker import Mode, Ranker


@dataclass
class SearchServices:
    catalog: Catalog
    embedder: Embedder
    index: LoadedIndex
    ranker: Ranker

    def with_mode(self, mode: Mode) -> Ranker:
        """Another ranker over the same loaded parts (the baselines in `eval`)."""
        return Ranker(self.catalog, self.index, self.embedder, mode=mode)


def open_search(
    knowledge_dir: Path,
    index_dir: Path,
    *,
    embedder: Embedder | None = None,
    warm: bool = True,
    threads: int | None = None,
) -> SearchServices:
    """Load everything or fail with a CatalogError / IndexError_ that says what to run."""
    catalog = load_catalog(knowledge_dir)
    index = load_index(index_dir, knowledge_dir, model_name=Embedder.name)
    embedder = embedder or Embedder(threads=threads)
    if warm:
        embedder.warm_up()
    ranker = Ranker(catalog, index, embedder)
    if warm:
        ranker.answer("what does a nurse do")
    return SearchServices(catalog=catalog, embedder=embedder, index=index, ranker=ranker)
