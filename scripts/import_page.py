#!/usr/bin/env python3
"""Import career pages (source text format) as profile drafts: import_page.py PAGE.txt --out DIR.

Every page is parsed before anything is written, so one bad page leaves DIR untouched.
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

    drafts: list[tuple[Path, str, str]] = []
    for page_path in args.pages:
        try:
            page = parse_page(page_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as error:
            print(f"error: {page_path}: can't read the page ({error})", file=sys.stderr)
            return 1
        except PageError as error:
            print(f"error: {page_path}: {error}; nothing was written", file=sys.stderr)
            return 1
        target = args.out / f"{page.career_id}.md"
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

    args.out.mkdir(parents=True, exist_ok=True)
    for target, text, report in drafts:
        target.write_text(text, encoding="utf-8")
        print(report, file=sys.stderr)
    print(
        "Drafts also need aliases, riasec and related (marked TODO) before `python -m bot "
        "check` accepts them.",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
