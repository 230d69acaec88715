"""The terminal chat: the same dialogue, numbered choices for buttons, works when piped."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from bot.channels.terminal import chat
from bot.services import Services
from tests.conftest import REPO, subprocess_env


def test_piped_chat_with_numbered_buttons(services: Services) -> None:
    script = "\n".join(
        [
            "how do I become a dentist?",
            "2",  # the first section button after "Did you mean"/sections: some section
            "and what about a pharmacist?",
            "/careers",
            "1",
            "   ",
            "/nonsense",
            "/quit",
            "this line is never read",
        ]
    )
    out = io.StringIO()
    assert chat(services.dialogue, stdin=io.StringIO(script), stdout=out, user="tester") == 0
    text = out.getvalue()
    assert "careers guide" in text
    assert "## Dentist ·" in text
    assert "Choose a number: [1]" in text
    assert "## Pharmacist ·" in text
    assert "Pick a field" in text
    assert "I don't know /nonsense" in text
    assert "never read" not in text
    assert text.rstrip().endswith("Bye! Good luck with your plans.")


@pytest.mark.slow
def test_python_m_bot_chat_reads_stdin(tmp_path: Path, index_dir: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "chat", "--user", "pipe"],
        input="what does an economist do\n/quiz\n3\n",
        capture_output=True,
        text=True,
        cwd=REPO,
        env=subprocess_env(INDEX_DIR=str(index_dir), DATABASE_URL=f"sqlite:///{tmp_path}/c.db"),
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "## Economist ·" in result.stdout
    assert "Question 2 of 30" in result.stdout  # pressed "Like" on question 1 by number
    assert "Traceback" not in result.stderr
