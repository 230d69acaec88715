"""The answer engine on questions of our own (the shared dev set is for `bot eval`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.evaluation import evaluate, read_dialogues, read_questions
from bot.search.engine import SearchServices
from bot.search.ranker import Context

DATA = Path(__file__).parent / "data"


def test_own_question_set_beats_baselines(search: SearchServices) -> None:
    items = read_questions(DATA / "questions.jsonl") + read_dialogues(DATA / "dialogues.jsonl")
    ours = evaluate(search, items).figures()
    lexical = evaluate(search, items, ranker=search.with_mode("lexical")).figures()
    dense = evaluate(search, items, ranker=search.with_mode("dense")).figures()
    assert ours["top1"] >= 0.9
    assert ours["off_topic_declined"] >= 0.9
    assert ours["wrongly_declined"] <= 0.03
    assert ours["top1"] > lexical["top1"]
    assert ours["top1"] > dense["top1"]
    assert ours["mrr"] >= ours["top1"]


@pytest.mark.parametrize(
    ("question", "career", "section"),
    [
        ("What do sparkies do at work?", "electrician", "tasks"),
        ("which varsity for physio", "physiotherapist", "study"),
        ("backend", "backend-developer", "overview"),
        ("who hires actuaries?", "actuary", "employment"),
        ("qualities needed to be a social worker", "social-worker", "requirements"),
        ("pharmasist", "pharmacist", "overview"),  # a typo still finds the career
    ],
)
def test_finds_career_and_section(
    search: SearchServices, question: str, career: str, section: str
) -> None:
    answer = search.ranker.answer(question)
    assert answer.outcome == "answer"
    assert (answer.career, answer.section) == (career, section)
    assert 0 < answer.confidence <= 1


@pytest.mark.parametrize(
    ("question", "outcome"),
    [
        ("hi there", "smalltalk"),
        ("cheers, that helped", "smalltalk"),
        ("what's 17 times 3", "decline"),
        ("tell me a joke about cats", "decline"),
        ("will it be sunny in Joburg tomorrow", "decline"),
        ("🙂🙂", "decline"),
        ("", "decline"),
    ],
)
def test_declines_what_is_not_about_careers(
    search: SearchServices, question: str, outcome: str
) -> None:
    answer = search.ranker.answer(question)
    assert answer.outcome == outcome
    assert answer.career is None


def test_follow_up_keeps_career_for_a_new_section(search: SearchServices) -> None:
    first = search.ranker.answer("what does a dietitian do")
    assert first.career == "dietitian"
    follow = search.ranker.answer("and what must I study?", Context(first.career, first.section))
    assert (follow.career, follow.section) == ("dietitian", "study")


def test_follow_up_keeps_section_for_a_new_career(search: SearchServices) -> None:
    context = Context("chef", "employment")
    follow = search.ranker.answer("what about for a dentist?", context)
    assert (follow.career, follow.section) == ("dentist", "employment")


def test_section_question_without_career_or_context_asks_which(search: SearchServices) -> None:
    answer = search.ranker.answer("how long is the course?")
    assert answer.outcome == "clarify"
    assert answer.career is None


def test_best_matching_bullets_are_highlighted(search: SearchServices) -> None:
    answer = search.ranker.answer("which programming languages should I learn for backend?")
    assert answer.career == "backend-developer"
    section = search.catalog.get("backend-developer").section(answer.section or "")
    assert answer.highlights
    marked = " ".join(section.bullets[i] for i in answer.highlights)
    assert "Python" in marked


def test_alternatives_are_ranked_and_exclude_the_answer(search: SearchServices) -> None:
    answer = search.ranker.answer("what does an engineer do")
    assert answer.outcome == "answer"
    pairs = [(a.career, a.section) for a in answer.alternatives]
    assert (answer.career, answer.section) not in pairs
    confidences = [a.confidence for a in answer.alternatives]
    assert confidences == sorted(confidences, reverse=True)


def test_huge_and_hostile_input_is_handled(search: SearchServices) -> None:
    answer = search.ranker.answer("<b>nurse</b> & requirements " + "x" * 5000)
    assert answer.career == "registered-nurse"


def test_a_generic_question_marks_no_bullets(search: SearchServices) -> None:
    answer = search.ranker.answer("how do I become a nurse?")
    assert answer.career == "registered-nurse"
    assert answer.highlights == ()


PARAPHRASES = {
    ("tasks", "overview"): ["wat do {n}s actually do", "a day in the life of a {n}"],
    ("requirements",): ["am i the right person to be a {n}", "{n} - what strengths do u need"],
    ("employment",): ["are there jobs for {n}s in SA", "which companies hire {n}s"],
    ("getting_started", "study"): ["im in grade 11 and want to be a {n}, what now"],
    ("study", "getting_started"): ["which varsity for {n}", "{n} diploma or degree?"],
    ("overview", "tasks"): ["never heard of a {n}, what is it"],
}


def test_every_career_is_found_from_learner_style_paraphrases(search: SearchServices) -> None:
    """Our own templates over all 50 careers and their aliases: names and intents generalise."""
    right = total = 0
    misses = []
    for career in search.catalog:
        for name in (career.title.lower(), career.aliases[0]):
            for sections, templates in PARAPHRASES.items():
                for template in templates:
                    question = template.format(n=name)
                    answer = search.ranker.answer(question)
                    total += 1
                    if answer.career == career.id and answer.section in sections:
                        right += 1
                    else:
                        misses.append((question, answer.career, answer.section))
    assert right / total >= 0.95, misses[:20]
