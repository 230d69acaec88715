"""A chat in the terminal on the same dialogue: numbered choices stand in for buttons.

It reads standard input line by line, so it also works piped; /quit or end of input ends it.
"""

from __future__ import annotations

import getpass
import sys
from typing import TextIO

from bot.dialogue.core import Dialogue
from bot.dialogue.replies import Button, Reply, render_plain

PROMPT = "you> "


def format_reply(reply: Reply) -> str:
    lines = []
    if reply.toast:
        lines.append(f"[{reply.toast}]")
    if reply.blocks:
        lines.append(render_plain(reply))
    if reply.buttons:
        numbered = [f"[{i}] {b.label}" for i, b in enumerate(reply.all_buttons, start=1)]
        lines.append("Choose a number: " + "  ".join(numbered))
    return "\n".join(lines)


def chat(
    dialogue: Dialogue,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    user: str | None = None,
) -> int:
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    interactive = stdin.isatty()
    key = f"term:{user or getpass.getuser()}"[:64]

    def show(reply: Reply) -> list[Button]:
        print(format_reply(reply), file=stdout)
        print(file=stdout)
        stdout.flush()
        return reply.all_buttons

    buttons = show(dialogue.on_command(key, "start"))
    print("(Type a question, a number to press a button, /help, or /quit to leave.)", file=stdout)
    while True:
        if interactive:
            print(PROMPT, end="", file=stdout, flush=True)
        line = stdin.readline()
        if not line:
            break
        text = line.strip()
        if text.lower() in ("/quit", "/exit", "quit", "exit"):
            break
        if not text:  # a bare Enter is not a message
            continue
        if not interactive:
            print(f"{PROMPT}{text}", file=stdout)
        if text.isdigit() and buttons and 1 <= int(text) <= len(buttons):
            reply = dialogue.on_action(key, buttons[int(text) - 1].data)
        elif text == "/stats":  # the terminal is staff's own machine
            reply = dialogue.stats()
        elif text.startswith("/"):
            command, _, argument = text[1:].partition(" ")
            reply = dialogue.on_command(key, command, argument)
        else:
            reply = dialogue.on_text(key, text)
        if reply.blocks or reply.buttons:
            buttons = show(reply)
        elif reply.toast:
            print(f"[{reply.toast}]", file=stdout)
    print("Bye! Good luck with your plans.", file=stdout)
    return 0
