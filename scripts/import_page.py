#!/usr/bin/env python3
"""Import career pages (source text format) as profile drafts: import_page.py PAGE.txt --out DIR.

Every page is parsed and checked before anything is written, so one bad page (or two pages that
would become the same <id>.md) leaves DIR untouched.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.importer import PageError, parse_page, render_profile


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("pages", nargs="+", type=Path, help="career page text files")
    parser.add_argument("--out", type=Path, required=True, help="folder for the <id>.md drafts")
    parser.add_argument("--field", help="the career field to write into the drafts")
    parser.add_argument("--force", action="store_true", help="overwrite existing profiles")
    args = parser.parse_args(argv)
    if args.out.exists() and not args.out.is_dir():
        print(
            f"error: --out {args.out} is a file, not a folder; nothing was written",
            file=sys.stderr,
        )
        return 1

    drafts: list[tuple[Path, str, str]] = []
    sources: dict[Path, Path] = {}
    for page_path in args.pages:
        try:
            # utf-8-sig: pages saved by Windows Notepad start with a BOM.
            page = parse_page(page_path.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError) as error:
            print(f"error: {page_path}: can't read the page ({error})", file=sys.stderr)
            return 1
        except PageError as error:
            print(f"error: {page_path}: {error}; nothing was written", file=sys.stderr)
            return 1
        target = args.out / f"{page.career_id}.md"
        if target in sources:
            print(
                f"error: {sources[target]} and {page_path} both become {target} (their titles "
                "give the same id); nothing was written",
                file=sys.stderr,
            )
            return 1
        sources[target] = page_path
        if target.exists() and not args.force:
            print(
                f"error: {target} exists (use --force to overwrite); nothing was written",
                file=sys.stderr,
            )
            return 1
        counts = ", ".join(f"{n} {heading.lower()}" for heading, n in page.counts().items())
        report = f"{page_path.name} -> {target}: {counts}"
        for heading in page.empty_sections:
            report += f"\n  TODO: '{heading}' was empty on the page; fill it in by hand"
        drafts.append((target, render_profile(page, args.field), report))

    done = 0
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        for target, text, report in drafts:
            target.write_text(text, encoding="utf-8")
            done += 1
            print(report, file=sys.stderr)
    except OSError as error:
        print(
            f"error: can't write the drafts ({error}); {done} of {len(drafts)} were written",
            file=sys.stderr,
        )
        return 1
    print(
        "Drafts need every TODO filled in (riasec, related, field unless --field was given, "
        "empty sections) before `python -m bot check` accepts them.",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
