"""The one table of commands: Telegram's menu, /help, the terminal and dispatch all read it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    name: str
    summary: str  # Telegram's command menu (short)
    usage: str  # /help's line
    staff: bool = False  # Telegram: ADMIN_USER_IDS only; the terminal is staff's own machine


COMMANDS = (
    Command("start", "Welcome and what I can do", "/start – welcome and what I can do"),
    Command("help", "Examples and commands", "/help – this message"),
    Command("careers", "Browse careers by field", "/careers – browse careers by field"),
    Command("quiz", "Interest quiz that suggests careers", "/quiz – interest quiz"),
    Command("ready", "Readiness check for a career", "/ready CAREER – how ready you are"),
    Command("cancel", "Stop a quiz or check", "/cancel – stop a quiz or check"),
    Command("privacy", "What I store", "/privacy – what I store and for how long"),
    Command("forget", "Delete everything I stored about you", "/forget – delete your data"),
    Command("stats", "Usage figures (staff)", "/stats – usage figures", staff=True),
    Command("report", "What learners missed (staff)", "/report – the staff report", staff=True),
)
BY_NAME = {command.name: command for command in COMMANDS}


def learner_commands() -> tuple[Command, ...]:
    return tuple(command for command in COMMANDS if not command.staff)
