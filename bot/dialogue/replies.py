"""What the dialogue answers with, and how it is rendered for Telegram (HTML) or a terminal."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Literal

TELEGRAM_LIMIT = 4096
BlockStyle = Literal["title", "text", "bullet", "mark", "note"]


@dataclass(frozen=True)
class Button:
    label: str
    data: str  # callback data, kept under Telegram's 64 bytes

    def __post_init__(self) -> None:
        if len(self.data.encode()) > 64:
            raise ValueError(f"callback data over 64 bytes: {self.data!r}")


@dataclass(frozen=True)
class Block:
    style: BlockStyle
    text: str


@dataclass
class Reply:
    blocks: list[Block] = field(default_factory=list)
    buttons: list[list[Button]] = field(default_factory=list)
    toast: str | None = None  # a short notice for a pressed button
    replace: bool = False  # a button's answer may replace the message that had the button
    support: bool = False  # care for a learner in distress: nothing about careers is added

    def add(self, style: BlockStyle, text: str) -> Reply:
        self.blocks.append(Block(style, text))
        return self

    def row(self, *buttons: Button) -> Reply:
        if buttons:
            self.buttons.append(list(buttons))
        return self

    @property
    def all_buttons(self) -> list[Button]:
        return [button for row in self.buttons for button in row]


def _html_block(block: Block) -> str:
    text = html.escape(block.text, quote=False)
    return {
        "title": f"<b>{text}</b>",
        "text": text,
        "bullet": f"• {text}",
        "mark": f"👉 <b>{text}</b>",
        "note": f"<i>{text}</i>",
    }[block.style]


def _plain_block(block: Block) -> str:
    return {
        "title": f"## {block.text}",
        "text": block.text,
        "bullet": f"  • {block.text}",
        "mark": f"  ➜ {block.text}",
        "note": f"({block.text})",
    }[block.style]


def _join(parts: list[str], blocks: list[Block]) -> str:
    out = ""
    for i, (part, block) in enumerate(zip(parts, blocks, strict=True)):
        if i:
            tight = block.style in ("bullet", "mark") and blocks[i - 1].style in ("bullet", "mark")
            out += "\n" if tight or blocks[i - 1].style == "title" else "\n\n"
        out += part
    return out


def render_plain(reply: Reply) -> str:
    return _join([_plain_block(b) for b in reply.blocks], reply.blocks)


def render_html(reply: Reply) -> str:
    return _join([_html_block(b) for b in reply.blocks], reply.blocks)


def render_html_messages(reply: Reply, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """HTML split on block boundaries so no message passes Telegram's limit or cuts a tag."""
    messages: list[str] = []
    current: list[Block] = []
    for block in reply.blocks:
        for piece in _split_block(block, limit):
            candidate = [*current, piece]
            if current and len(render_html(Reply(blocks=candidate))) > limit:
                messages.append(render_html(Reply(blocks=current)))
                current = [piece]
            else:
                current = candidate
    if current:
        messages.append(render_html(Reply(blocks=current)))
    return messages or [""]


def _split_block(block: Block, limit: int) -> list[Block]:
    budget = limit - 64  # room for the block's own markup
    if len(html.escape(block.text, quote=False)) <= budget:
        return [block]
    pieces, text = [], block.text
    while text:
        cut = budget // 2  # escaping can at most double... close enough, then stay safe
        while len(html.escape(text[:cut], quote=False)) > budget:
            cut //= 2
        space = text.rfind(" ", 0, cut)
        cut = space if space > cut // 2 else cut
        pieces.append(Block(block.style, text[:cut].strip()))
        text = text[cut:].strip()
    return pieces
