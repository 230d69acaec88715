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


MAX_CHOICES = 9  # one key press each
# Buttons in a fixed order, so a number means the same thing from one reply to the next:
# other careers' sections first (did you mean...), this career's sections, flows, then the rest,
# feedback always last.
ORDER = ("sec", "gd", "rdy", "quiz", "related", "more", "fls", "fld", "menu", "fgt", "fb")


def choices(reply: Reply) -> list[Button]:
    """The reply's buttons, de-duplicated, in a stable order, at most MAX_CHOICES."""
    unique = list({button.data: button for button in reply.all_buttons}.values())

    def kind(button: Button) -> str:
        verb = button.data.split(":")[0]
        return "related" if button.label.startswith("↗") else verb

    ranked = sorted(
        enumerate(unique),
        key=lambda item: (
            ORDER.index(kind(item[1])) if kind(item[1]) in ORDER else len(ORDER),
            item[0],
        ),
    )
    ordered = [button for _, button in ranked]
    if len(ordered) <= MAX_CHOICES:
        return ordered
    feedback = [b for b in ordered if b.data.startswith("fb:")]
    rest = [b for b in ordered if not b.data.startswith("fb:")]
    return rest[: MAX_CHOICES - len(feedback)] + feedback


def format_reply(reply: Reply) -> str:
    lines = []
    if reply.toast:
        lines.append(f"[{reply.toast}]")
    if reply.blocks:
        lines.append(render_plain(reply))
    buttons = choices(reply)
    if buttons:
        numbered = [f"[{i}] {b.label}" for i, b in enumerate(buttons, start=1)]
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
        return choices(reply)

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
        if text.isdigit() and buttons and not 1 <= int(text) <= len(buttons):
            print(f"There is no button {text}: choose 1 to {len(buttons)}, or type a question.",
                  file=stdout)  # fmt: skip
            continue
        if text.isdigit() and buttons:
            reply = dialogue.on_action(key, buttons[int(text) - 1].data)
        elif text.startswith("/"):
            command, _, argument = text[1:].partition(" ")
            # The terminal is staff's own machine: staff commands work here.
            reply = dialogue.on_command(key, command, argument, staff=True)
        else:
            reply = dialogue.on_text(key, text)
        if reply.blocks or reply.buttons:
            buttons = show(reply)
        elif reply.toast:
            print(f"[{reply.toast}]", file=stdout)
    print("Bye! Good luck with your plans.", file=stdout)
    return 0
