"""Questions across careers: facets in the content, lists, comparisons, guides and pay."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from bot.catalog import CatalogError, load_catalog
from bot.dialogue.replies import render_plain
from bot.dialogue.turn import Turn, take_turn
from bot.guides import load_guides
from bot.search.engine import SearchServices
from bot.search.ranker import Context
from bot.services import Services
from tests.conftest import KNOWLEDGE
from tests.test_telegram import Chat, api, app, chat  # noqa: F401  (fixtures)

CATALOG = load_catalog(KNOWLEDGE)


def ask(search: SearchServices, text: str, context: Context | None = None) -> Turn:
    return take_turn(search, text, context or Context())


# --- facets in the content ------------------------------------------------------------------


def test_every_profile_has_valid_facets() -> None:
    for career in CATALOG:
        assert career.facets is not None, career.id
        assert career.facets.routes, career.id
        assert career.facets.work, career.id


def test_facets_agree_with_the_profile_text() -> None:
    """The facets are what discovery promises learners, so the text must say the same."""
    for career in CATALOG:
        facets = career.facets
        assert facets is not None
        text = " ".join(
            career.section(kind).text for kind in ("overview", "getting_started", "study")
        )
        if not any(route.level == "degree" for route in facets.routes):
            assert not re.search(
                r"(?<!no )degree (is )?(required|needed|essential)|need a degree", text, re.I
            ), career.id
        if "Mathematics" in facets.required:
            assert re.search(r"Mathematics|Maths", text), career.id
        if facets.maths_literacy:
            assert re.search(r"Maths Lit|Mathematical Literacy", text, re.I), career.id
        if facets.needs_university:
            assert re.search(r"universit|degree|Bachelor|B[A-Z]", text), career.id


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("work: [", "work: [moon_base, "), "'moon_base' is not in vocabulary.yaml"),
        (("years: 4", "years: forty"), "years must be a number"),
        (("maths_literacy: false", "maths_literacy: maybe"), "maths_literacy: expected true"),
        (("required: [English", "required: [Klingon, English"), "'Klingon'"),
    ],
)
def test_broken_facets_name_file_and_line(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    knowledge = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, knowledge)
    profile = knowledge / "careers" / "civil-engineer.md"
    source = profile.read_text(encoding="utf-8")
    assert change[0] in source
    profile.write_text(source.replace(change[0], change[1], 1), encoding="utf-8")
    with pytest.raises(CatalogError) as error:
        load_catalog(knowledge)
    assert expected in str(error.value)
    assert re.match(rf"{re.escape(str(profile))}:\d+: ", str(error.value))


def test_guides_load_with_sources_and_dates() -> None:
    guides = load_guides(KNOWLEDGE, CATALOG)
    assert len(guides) >= 10
    for guide in guides:
        assert guide.sources, guide.id
        assert guide.last_verified.year >= 2026
        assert len(guide.sections) >= 2


# --- lists ----------------------------------------------------------------------------------


def listed(turn: Turn) -> list[str]:
    assert turn.answer.kind == "list", render_plain(turn.reply)
    return turn.answer.careers


def test_list_respects_a_work_facet(search: SearchServices) -> None:
    careers = listed(ask(search, "what jobs let me work outdoors most of the day"))
    assert careers
    assert len(careers) <= 5
    for career in careers:
        assert "outdoors" in CATALOG.get(career).facets.work  # type: ignore[union-attr]


def test_coding_is_a_work_facet_both_ways(search: SearchServices) -> None:
    """Our own wording, not the dev set's: "no coding" rules out the jobs that code every day,
    "i like to code" keeps only them."""
    without = listed(ask(search, "computer careers without programming all day please"))
    assert without
    for career in without:
        assert "coding" not in CATALOG.get(career).facets.work  # type: ignore[union-attr]
    coders = listed(ask(search, "i enjoy writing code, what IT jobs are there"))
    assert coders
    for career in coders:
        assert "coding" in CATALOG.get(career).facets.work  # type: ignore[union-attr]
    # A place disliked rules a job out only where it mostly is; the activity wherever it is.
    office_haters = listed(ask(search, "IT jobs but i hate sitting in an office"))
    assert "backend-developer" not in office_haters


def test_list_without_maths_never_suggests_a_career_that_needs_it(search: SearchServices) -> None:
    careers = listed(ask(search, "which careers dont need maths at all"))
    assert careers
    for career in careers:
        assert "Mathematics" not in CATALOG.get(career).facets.required  # type: ignore[union-attr]


def test_list_without_university_keeps_a_route_outside_university(search: SearchServices) -> None:
    turn = ask(search, "i cant afford varsity, what careers can i do without university")
    for career in listed(turn):
        routes = CATALOG.get(career).facets.routes  # type: ignore[union-attr]
        assert any(set(route.at) - {"university"} for route in routes), career
    assert "college" in render_plain(turn.reply)  # the reason names the route


def test_list_excludes_careers_the_learner_ruled_out(search: SearchServices) -> None:
    careers = listed(ask(search, "IT careers other than backend developer"))
    assert careers
    assert "backend-developer" not in careers
    assert all(CATALOG.get(c).field == "Information Technology" for c in careers)


def test_each_suggestion_says_why_it_fits(search: SearchServices) -> None:
    turn = ask(search, "careers where i can work with kids")
    text = render_plain(turn.reply)
    for career in listed(turn):
        assert f"{CATALOG.get(career).title} –" in text
    buttons = [b.data for b in turn.reply.all_buttons]
    assert any(data.startswith("sec:") for data in buttons)


def test_interest_question_offers_the_quiz(search: SearchServices) -> None:
    turn = ask(search, "i love drawing and making things on the computer, what should i be")
    careers = listed(turn)
    assert {"graphic-designer", "ui-ux-designer", "game-developer", "architect"} & set(careers)
    assert "quiz:start" in [b.data for b in turn.reply.all_buttons]


def test_no_fit_gets_an_honest_answer(search: SearchServices) -> None:
    turn = ask(search, "careers where i work at a mine with babies")
    assert turn.answer.kind == "list"
    assert turn.answer.careers == []
    assert "None of the careers I know fit" in render_plain(turn.reply)


def test_all_careers_page_by_page_with_more(services: Services) -> None:
    dialogue = services.dialogue
    first = dialogue.on_text("tg:31", "can you list every career you know")
    more = next(b for b in first.all_buttons if b.label.startswith("More"))
    second = dialogue.on_action("tg:31", more.data)
    first_titles = {b.label for b in first.all_buttons}
    second_titles = {b.label for b in second.all_buttons}
    assert second.replace
    assert len(first_titles - {"More ▶"}) >= 5
    assert not (first_titles & second_titles) - {"More ▶", "👍 Helpful", "👎 Not helpful"}


def test_follow_up_picks_a_career_from_the_list(services: Services) -> None:
    dialogue = services.dialogue
    first = dialogue.on_text("tg:32", "jobs where you work with animals")
    titles = [b.label for b in first.all_buttons if not b.data.startswith(("more", "fb", "quiz"))]
    follow = render_plain(dialogue.on_text("tg:32", "tell me more about the second one"))
    assert f"## {titles[1]} ·" in follow


# --- comparisons ----------------------------------------------------------------------------


def compared(turn: Turn) -> list[str]:
    assert turn.answer.kind == "compare", render_plain(turn.reply)
    return turn.answer.careers


def test_compare_two_named_careers_on_study_length(search: SearchServices) -> None:
    turn = ask(search, "pharmacist or dentist, which takes longer to study?")
    assert set(compared(turn)) == {"pharmacist", "dentist"}
    text = render_plain(turn.reply)
    assert "Pharmacist" in text
    assert "Dentist" in text
    assert "years" in text
    assert turn.answer.aspect == "study"
    assert len(text) < 2500


def test_compare_three_and_follow_up_where_they_work(search: SearchServices) -> None:
    turn = ask(search, "physiotherapist vs dietitian vs paramedic")
    assert set(compared(turn)) == {"physiotherapist", "dietitian", "paramedic"}
    follow = ask(search, "and where do they work?", turn.context)
    assert set(compared(follow)) == {"physiotherapist", "dietitian", "paramedic"}
    assert follow.answer.aspect == "employment"


def test_compare_with_the_career_just_discussed(search: SearchServices) -> None:
    first = ask(search, "what does a plumber do")
    turn = ask(search, "how is that different from an electrician?", first.context)
    assert compared(turn) == ["plumber", "electrician"]


def test_compare_shared_head_noun(search: SearchServices) -> None:
    turn = ask(search, "difference between electrical and mechanical engineering")
    assert set(compared(turn)) == {"electrical-engineer", "mechanical-engineer"}


def test_an_explicit_new_topic_beats_the_context(search: SearchServices) -> None:
    vet = ask(search, "what does a vet do")
    turn = ask(search, "what subjects do i need for engineering", vet.context)
    careers = turn.answer.careers
    assert "veterinarian" not in careers
    assert {"civil-engineer", "mechanical-engineer", "electrical-engineer"} & set(careers)


# --- guides and money -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "guide"),
    [
        ("when must i apply for nsfas", "nsfas"),
        ("how do i work out my admission points score", "aps"),
        ("what marks do i need for a bachelors pass", "nsc-passes"),
        ("how can i tell if a private college is accredited", "bogus-colleges"),
        (
            "what is the difference between a learnership and an apprenticeship",
            "tvet-or-university",
        ),
        ("is there a bursary for student teachers", "bursaries"),
    ],
)
def test_guide_questions_get_the_guide(search: SearchServices, question: str, guide: str) -> None:
    turn = ask(search, question)
    assert turn.answer.kind == "guide", render_plain(turn.reply)
    assert turn.answer.guide == guide
    assert search.guides.get(guide).title in render_plain(turn.reply)


def test_pay_questions_are_answered_honestly(search: SearchServices) -> None:
    one = ask(search, "how much money does an electrician make")
    assert one.answer.kind == "section"
    assert one.answer.section == "employment"
    assert "I don't have reliable pay figures for Electrician" in render_plain(one.reply)
    many = ask(search, "which careers pay the best")
    assert many.answer.careers == []
    assert "don't have reliable pay figures" in render_plain(many.reply)
    both = ask(search, "chef or hotel manager, who earns more")
    assert set(compared(both)) == {"chef", "hotel-manager"}
    assert "I don't have reliable pay figures for Chef or Hotel Manager" in render_plain(
        both.reply
    )


# --- through the real Telegram handlers -----------------------------------------------------


async def test_list_and_more_on_telegram(chat: Chat) -> None:  # noqa: F811
    (reply,) = await chat.say("list all the careers you know")
    assert "<b>Careers that fit</b>" in reply.text
    (more,) = await chat.press(reply.button("More"), on=reply)
    assert more.method == "editMessageText"
    assert "More careers (2)" in more.text


async def test_compare_on_telegram_opens_each_career(chat: Chat) -> None:  # noqa: F811
    (reply,) = await chat.say("nurse or paramedic? i want to work in emergencies")
    assert "Registered Nurse vs Paramedic" in reply.text
    (opened,) = await chat.press(reply.button("Paramedic"), on=reply)
    assert "Paramedic ·" in opened.text


# --- the counsellor's review: corrections stay corrected, lints ------------------------------

CORRECTIONS = [
    ("veterinarian", r"Bachelor of Veterinary Nursing", r"Diploma in Veterinary Nursing"),
    ("medical-doctor", r"Limpopo", None),
    ("medical-doctor", r"Nelson Mandela University", None),
    ("civil-engineer", None, r"Murray"),
    ("farm-manager", r"no longer offers its Higher Certificate", None),
    ("dentist", r"BChD", None),
    ("dentist", r"BDS", None),
    ("backend-developer", None, r"phones, laptops"),
    ("registered-nurse", r"staff nurse", None),
    ("attorney", r"not allowed to represent anyone at conciliation", None),
    ("human-resources-practitioner", r"phased out", None),
    ("social-worker", r"stopped taking new students for its social work scholarship", None),
    ("electrician", r"NC\(V\)", None),
    ("plumber", r"Occupational Certificate", None),
    ("motor-mechanic", r"trade test", None),
]


@pytest.mark.parametrize(("career", "present", "absent"), CORRECTIONS)
def test_counsellor_corrections_stay_corrected(
    career: str, present: str | None, absent: str | None
) -> None:
    text = "\n".join(s.text for s in CATALOG.get(career).sections.values())
    if present:
        assert re.search(present, text), (career, present)
    if absent:
        assert not re.search(absent, text), (career, absent)


def test_no_stale_terms_in_the_content() -> None:
    from datetime import date

    from bot.catalog import review_problems
    from bot.vocabulary import load_review

    review = load_review(KNOWLEDGE / "review.yaml")
    problems = review_problems(CATALOG, review, date(2026, 11, 27))
    stale = [
        f"{path.name}: {p}" for path, found in problems.items() for p in found if "stale" in p
    ]
    one_way = [
        f"{path.name}: {p}" for path, found in problems.items() for p in found if "one way" in p
    ]
    assert stale == []
    assert one_way == []


def test_review_flags_stale_terms_one_way_links_and_hard_overviews(tmp_path: Path) -> None:
    from datetime import date

    from bot.catalog import review_problems
    from bot.vocabulary import load_review

    knowledge = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, knowledge)
    chef = knowledge / "careers" / "chef.md"
    text = chef.read_text(encoding="utf-8")
    text = text.replace("## Tasks\n", "## Tasks\n- Study for a BProc at a technikon first.\n", 1)
    chef.write_text(text, encoding="utf-8")
    catalog = load_catalog(knowledge)
    review = load_review(knowledge / "review.yaml")
    found = review_problems(catalog, review, date(2028, 1, 1))[chef]
    assert any("stale term 'BProc'" in p for p in found)
    assert any("stale term 'Technikon'" in p for p in found)
    assert any("over a year old" in p for p in found)
