"""The search services built once at start-up: catalogue, embedder, index, ranker and the
distress detector that looks at every message first."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from threadpoolctl import threadpool_limits

from bot.catalog import Catalog, CatalogError, load_catalog
from bot.guides import Guides, load_guides
from bot.search.across import Across
from bot.search.distress import DistressDetector
from bot.search.embedder import Embedder
from bot.search.index import LoadedIndex, load_index
from bot.search.names import NameMatcher
from bot.search.ranker import Mode, Ranker, RankerWeights
from bot.search.text import words
from bot.support import load_language, load_support
from bot.vocabulary import Glossary, Uncovered, load_glossary, load_uncovered, load_vocabulary


@dataclass
class SearchServices:
    catalog: Catalog
    guides: Guides
    embedder: Embedder
    index: LoadedIndex
    ranker: Ranker
    distress: DistressDetector
    across: Across
    glossary: Glossary
    # Turns computing at once. Python work holds the GIL, so more turns than cores only take
    # turns at it (measured with 16 threads: 280 answers/s, against 380 with 2 at a time).
    computing: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(1))

    def with_mode(self, mode: Mode, weights: RankerWeights | None = None) -> Ranker:
        """Another ranker over the same loaded parts (the baselines and sweeps in `eval`)."""
        return Ranker(
            self.catalog,
            self.index,
            self.embedder,
            mode=mode,
            other_names=self.distress.language.career_words,
            weights=weights,
        )


def open_search(
    knowledge_dir: Path,
    index_dir: Path,
    *,
    embedder: Embedder | None = None,
    warm: bool = True,
    threads: int | None = None,
) -> SearchServices:
    """Load everything or fail with a CatalogError / IndexProblem that says what to run."""
    # The ranker's matrix products are small; BLAS threads would only spin against the model
    # runs and the other turns for the same cores (measured: 80 instead of 300 answers/s).
    threadpool_limits(limits=1, user_api="blas")
    catalog = load_catalog(knowledge_dir)
    guides = load_guides(knowledge_dir, catalog)
    support = load_support(knowledge_dir / "support.yaml")
    language = load_language(knowledge_dir / "language.yaml")
    index = load_index(index_dir, knowledge_dir, model_name=Embedder.name)
    embedder = embedder or Embedder(threads=threads)
    if warm:
        embedder.warm_up()
    for career_id in language.career_words:
        if career_id not in catalog:
            path = knowledge_dir / "language.yaml"
            raise CatalogError(path, None, f"unknown career id '{career_id}'")
    ranker = Ranker(catalog, index, embedder, other_names=language.career_words)
    # Everything the bot already knows as ordinary learner talk is a harmless comparison.
    harmless = [row.text for row in index.rows if row.kind == "example"]
    harmless += [example for guide in guides for example in guide.examples]
    distress = DistressDetector(support, language, embedder, harmless)
    vocabulary = load_vocabulary(knowledge_dir / "vocabulary.yaml")
    uncovered = load_uncovered(knowledge_dir / "uncovered.yaml")
    _check_uncovered(knowledge_dir / "uncovered.yaml", uncovered, ranker.names, catalog)
    across = Across(
        catalog, guides, vocabulary, uncovered, language, index, embedder, ranker.names
    )
    if warm:
        ranker.answer("what does a nurse do")
    return SearchServices(
        catalog=catalog,
        guides=guides,
        embedder=embedder,
        index=index,
        ranker=ranker,
        distress=distress,
        across=across,
        glossary=load_glossary(knowledge_dir / "glossary.yaml"),
        computing=threading.Semaphore(embedder.threads),
    )


def _check_uncovered(
    path: Path, uncovered: Uncovered, names: NameMatcher, catalog: Catalog
) -> None:
    """A name on the "no profile yet" list must not be a career we cover."""
    for name, near in uncovered.careers.items():
        for career_id in near:
            if career_id not in catalog:
                raise CatalogError(path, None, f"careers.{name}: unknown career id '{career_id}'")
        tokens = words(name)
        exact = [m for m in names.find(tokens) if m.exact and m.end - m.start == len(tokens)]
        if exact:
            raise CatalogError(
                path, None, f"careers.{name}: is a name of {exact[0].career}; delete the line"
            )
