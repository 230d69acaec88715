#!/usr/bin/env python3
"""Rebuild the search index from knowledge/ (staff run this after editing content).

The new build is written beside the old one and swapped in atomically, so a running bot never
reads half an index. `--if-stale` skips the work when the index already matches knowledge/.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from bot.catalog import CatalogError
from bot.search.embedder import Embedder, ModelMissingError
from bot.search.index import build_index, index_is_fresh, read_manifest
from bot.settings import SettingsError, load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Rebuild the search index from knowledge/.")
    parser.add_argument("--knowledge", type=Path, help="content folder (default: KNOWLEDGE_DIR)")
    parser.add_argument("--index", type=Path, help="index folder (default: INDEX_DIR)")
    parser.add_argument("--if-stale", action="store_true", help="only rebuild when out of date")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    knowledge_dir = args.knowledge or settings.knowledge_dir
    index_dir = args.index or settings.index_dir
    if args.if_stale and index_is_fresh(index_dir, knowledge_dir):
        print(f"Index in {index_dir} is up to date.", file=sys.stderr)
        return 0
    started = time.perf_counter()
    try:
        embedder = Embedder()
        build = build_index(
            knowledge_dir,
            index_dir,
            embedder,
            progress=not args.quiet and sys.stderr.isatty(),
            log=lambda line: print(line, file=sys.stderr),
        )
    except (CatalogError, ModelMissingError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    manifest = read_manifest(index_dir)
    counts = ", ".join(f"{n} {kind}s" for kind, n in manifest.counts.items())
    print(
        f"Built {build.name}: {manifest.careers} careers ({counts}) "
        f"in {time.perf_counter() - started:.1f}s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
