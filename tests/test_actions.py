"""Buttons: every action encodes under 64 bytes and decodes back; forged data is None."""

from __future__ import annotations

import pytest

from bot.dialogue import actions
from bot.dialogue.actions import (
    AskPrompt,
    BrowseField,
    BrowseFields,
    FlowStep,
    Forget,
    MoreCareers,
    Rate,
    ShowSection,
    decode,
)

EVERY_KIND = [
    ShowSection("human-resources-practitioner", "getting_started"),
    BrowseFields(3),
    BrowseField(10, 2),
    Rate(2**31 - 1, helpful=False),
    AskPrompt(),
    MoreCareers(12),
    Forget("yes"),
    FlowStep("quiz", "start"),
    FlowStep("quiz", "x"),
    FlowStep("rdy", "go", career="early-childhood-practitioner"),
    FlowStep("rdy", "a", "a1b2c3", 29, choice="s"),
    FlowStep("quiz", "b", "a1b2c3", 7),
    FlowStep("rdy", "x", "a1b2c3"),
]


@pytest.mark.parametrize("action", EVERY_KIND, ids=lambda a: type(a).__name__)
def test_round_trip_under_64_bytes(action: actions.Action) -> None:
    data = action.encode()
    assert len(data.encode()) <= 64
    assert decode(data) == action


@pytest.mark.parametrize(
    "forged",
    [
        "",
        "fb:99999999999999999999:1",  # would overflow the database's integer
        "fb:-4:1",
        "fb:12:maybe",
        "sec:../../etc:o",
        "sec:nurse:z",
        "fls:1e9",
        "quiz:a:run;drop:1:like",
        "quiz:a:abc:1",  # no choice
        "rdy:go:<script>",
        "fgt:everything",
        "zzz:1",
    ],
)
def test_forged_or_broken_data_decodes_to_nothing(forged: str) -> None:
    assert decode(forged) is None


def test_guide_action_round_trips() -> None:
    assert decode(actions.ShowGuide("nsfas").encode()) == actions.ShowGuide("nsfas")
