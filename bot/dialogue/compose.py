"""Replies built from the catalogue and from ranked answers, shared by every channel."""

from __future__ import annotations

from bot.catalog import SECTION_KINDS, SECTION_SHORT_LABELS, SECTION_TITLES, Catalog
from bot.dialogue import actions
from bot.dialogue.commands import learner_commands
from bot.dialogue.replies import Button, Reply
from bot.guides import Guide
from bot.search.across import facet_lines
from bot.search.ranker import LIST_PAGE, Answer
from bot.support import SupportContent

FUNDING_SECTIONS = ("getting_started", "study")
EXAMPLES = (
    "How do I become a nurse?",
    "What languages should I learn for backend?",
    "Where can an electrician work?",
    "Which matric subjects do I need for engineering?",
)
CAREERS_PER_PAGE = 8
FIELDS_PER_PAGE = 12


def menu_row() -> list[Button]:
    return [
        Button("🔎 Browse careers", actions.BrowseFields().encode()),
        Button("🧭 Interest quiz", actions.FlowStep("quiz", "start").encode()),
    ]


def section_buttons(catalog: Catalog, career_id: str, current: str | None) -> list[list[Button]]:
    others = [
        Button(SECTION_SHORT_LABELS[kind], actions.ShowSection(career_id, kind).encode())
        for kind in SECTION_KINDS
        if kind != current
    ]
    rows = [others[i : i + 3] for i in range(0, len(others), 3)]
    rows.append(
        [Button("✅ Am I ready?", actions.FlowStep("rdy", "go", career=career_id).encode())]
    )
    career = catalog.get(career_id)
    related = [
        Button(f"↗ {catalog.get(other).title}", actions.ShowSection(other, "overview").encode())
        for other in career.related[:3]
    ]
    rows += [related[i : i + 2] for i in range(0, len(related), 2)]
    return rows


def section_reply(
    catalog: Catalog,
    career_id: str,
    section: str,
    *,
    highlights: tuple[int, ...] = (),
    note: str | None = None,
) -> Reply:
    career = catalog.get(career_id)
    reply = Reply().add("title", f"{career.title} · {SECTION_TITLES[section]}")
    if note:
        reply.add("note", note)
    content = career.section(section)
    if section == "overview":
        for paragraph in content.paragraphs:
            reply.add("text", paragraph)
        reply.add("note", f"Field: {career.field}")
    else:
        for position, bullet in enumerate(content.bullets):
            reply.add("mark" if position in highlights else "bullet", bullet)
    reply.buttons = section_buttons(catalog, career_id, section)
    if section in FUNDING_SECTIONS:  # study and funding answers point to the guides
        reply.add("note", "Paying for study: see the NSFAS and bursary guides.")
        reply.buttons.insert(
            0,
            [
                Button("💰 NSFAS", actions.ShowGuide("nsfas").encode()),
                Button("🎓 Bursaries", actions.ShowGuide("bursaries").encode()),
            ],
        )
    return reply


def answer_reply(catalog: Catalog, answer: Answer) -> Reply:
    """The learner-facing reply for a ranked answer (used by chat, Telegram and `ask`)."""
    if answer.outcome == "answer" and answer.career and answer.section:
        note = "I'm not completely sure this is what you meant." if answer.low_confidence else None
        reply = section_reply(
            catalog, answer.career, answer.section, highlights=answer.highlights, note=note
        )
        if answer.did_you_mean:
            reply.add("note", "Did you mean one of these?")
            reply.buttons.insert(
                0,
                [
                    Button(
                        f"{catalog.get(alt.career).title}: {SECTION_SHORT_LABELS[alt.section]}",
                        actions.ShowSection(alt.career, alt.section).encode(),
                    )
                    for alt in answer.did_you_mean
                ],
            )
        return reply
    if answer.outcome == "smalltalk":
        return smalltalk_reply(answer.intent or "greeting")
    if answer.outcome == "clarify":
        reply = Reply().add(
            "text",
            "Which career do you mean? It may be one I don't cover yet. Name one of the careers "
            "I know in your question, e.g. “How do I get started as a chef?”, browse them, or "
            "take the interest quiz and I'll suggest careers that fit you.",
        )
        return reply.row(*menu_row())
    return decline_reply(answer.intent)


ASPECT_TITLES = {
    "study": "How long and where to study",
    "entry": "Getting in",
    "employment": "Where they work",
    "money": "Pay",
    "tasks": "What they do",
}
ASPECT_SECTIONS = {
    "study": "study",
    "entry": "requirements",
    "employment": "employment",
    "money": "employment",
    "tasks": "tasks",
}


def list_reply(
    catalog: Catalog,
    careers: list[str],
    reasons: list[str],
    *,
    page: int = 0,
    offer_quiz: bool = False,
    money: bool = False,
) -> Reply:
    """Up to five careers, best first, each with why it fits; a button each and "More"."""
    if not careers:
        reply = Reply().add(
            "text",
            "None of the careers I know fit all of that. Try fewer conditions, browse all my "
            "careers, or take the interest quiz and I'll suggest careers that fit you.",
        )
        return reply.row(*menu_row())
    start = page * LIST_PAGE
    shown = list(zip(careers, reasons, strict=True))[start : start + LIST_PAGE]
    reply = Reply().add("title", "Careers that fit" if page == 0 else f"More careers ({page + 1})")
    if money:
        reply.add(
            "note",
            "I don't have reliable pay figures, so I can't rank careers by pay. Pay grows with "
            "scarce skills, qualifications, experience and where you work.",
        )
    for career_id, reason in shown:
        title = catalog.get(career_id).title
        reply.add("bullet", f"{title} – {reason}" if reason else title)
    buttons = [
        Button(catalog.get(career_id).title, actions.ShowSection(career_id, "overview").encode())
        for career_id, _ in shown
    ]
    for i in range(0, len(buttons), 2):
        reply.row(*buttons[i : i + 2])
    more = []
    if start + LIST_PAGE < len(careers):
        more.append(Button("More ▶", actions.MoreCareers(page + 1).encode()))
    if offer_quiz:
        more.append(Button("🧭 Interest quiz", actions.FlowStep("quiz", "start").encode()))
    reply.row(*more)
    if page == 0:
        reply.add(
            "note", "Tap a career to read about it, or ask “tell me more about the first one”."
        )
    return reply


def uncovered_reply(catalog: Catalog, name: str, near: list[str]) -> Reply:
    """Name the career we don't cover, offer the nearest, and be open that staff see it."""
    reply = Reply().add("text", f"I don't have a profile for “{name}” yet, sorry.")
    if near:
        reply.add("text", "These careers I know are the closest:")
        for career_id in near:
            reply.add("bullet", catalog.get(career_id).title)
    reply.add("note", "The team sees which careers learners ask for, to add the missing ones.")
    buttons = [
        Button(catalog.get(c).title, actions.ShowSection(c, "overview").encode()) for c in near
    ]
    reply.row(*buttons[:3])
    return reply.row(*menu_row())


def money_reply() -> Reply:
    reply = Reply().add(
        "text",
        "I don't have reliable pay figures, so I can't honestly say which jobs pay the most. "
        "In general, pay grows with scarce skills, longer study, experience and "
        "responsibility, and it differs a lot between employers and provinces.",
    )
    reply.add(
        "note",
        "Ask me about a career you like, e.g. “who hires electricians?”, and I'll show who "
        "employs them.",
    )
    return reply.row(*menu_row())


def compare_reply(catalog: Catalog, careers: list[str], aspect: str) -> Reply:
    """The asked aspect of two or three careers side by side, short enough for a phone."""
    titles = [catalog.get(career_id).title for career_id in careers]
    reply = Reply().add("title", f"{' vs '.join(titles)} · {ASPECT_TITLES[aspect]}")
    if aspect == "money":
        reply.add(
            "note",
            f"I don't have reliable pay figures for {' or '.join(titles)}. Pay depends on "
            "qualifications, experience, scarce skills and the employer. Here is where they work:",
        )
    section = ASPECT_SECTIONS[aspect]
    for career_id in careers:
        career = catalog.get(career_id)
        reply.add("text", f"{career.title}:")
        lines = facet_lines(career, aspect)
        bullets = [] if aspect == "study" and lines else list(career.section(section).bullets)
        for line in [*lines, *bullets[: 2 if lines else 3]]:
            reply.add("bullet", line)
    summary = _compare_summary(catalog, careers, aspect)
    if summary:
        reply.add("note", summary)
    reply.row(
        *(
            Button(
                f"{catalog.get(c).title}: {SECTION_SHORT_LABELS[section]}",
                actions.ShowSection(c, section).encode(),
            )
            for c in careers
        )
    )
    return reply


def _compare_summary(catalog: Catalog, careers: list[str], aspect: str) -> str | None:
    if aspect not in ("study", "entry"):
        return None
    shortest = {
        c: catalog.get(c).facets.shortest.years  # type: ignore[union-attr]
        for c in careers
        if catalog.get(c).facets is not None
    }
    if len(shortest) < 2:
        return None
    ordered = sorted(shortest, key=lambda c: shortest[c])
    parts = [f"{catalog.get(c).title} {shortest[c]:g} years" for c in ordered]
    return (
        "Shortest way in: " + ", ".join(parts) + " (study plus any compulsory internship or "
        "community service)."
    )


def guide_reply(guide: Guide) -> Reply:
    reply = Reply().add("title", guide.title).add("text", guide.intro)
    for section in guide.sections:
        reply.add("text", section.title + ":")
        for bullet in section.bullets:
            reply.add("bullet", bullet)
    reply.add(
        "note",
        f"Checked {guide.last_verified:%d %B %Y}. Rules change: check the official website too.",
    )
    return reply.row(*menu_row())


def support_reply(content: SupportContent, topic_name: str) -> Reply:
    """Care first: warm words, the help lines that fit, a trusted adult. No career content and
    no quiz buttons; a crisis puts the numbers before everything else but one kind line."""
    topic = content.topics[topic_name]
    texts = content.levels[topic.level]
    reply = Reply(support=True).add("text", texts.opening)
    if topic.not_your_fault:
        reply.add("text", "It is not your fault.")
    numbers = [content.helplines[key] for key in topic.helplines]
    if topic.level == "crisis":
        reply.add("title", "Please reach out now – free, private help:")
        for helpline in numbers:
            reply.add("bullet", helpline.line())
        reply.add("text", topic.line)
    else:
        reply.add("text", topic.line)
        reply.add("title", "People you can talk to:")
        for helpline in numbers:
            reply.add("bullet", helpline.line())
    reply.add("text", texts.talk_to)
    reply.add("text", texts.closing)
    if topic.level == "stress":
        reply.row(Button("💬 Back to my career question", actions.AskPrompt().encode()))
    return reply


def smalltalk_reply(intent: str) -> Reply:
    lines = {
        "greeting": "Hi! 👋 I help with careers. Ask me what a job involves, what to study, or "
        "how to get started, e.g. “How do I become a pharmacist?”",
        "thanks": "You're welcome! Ask me about another career whenever you like.",
        "goodbye": "Bye, and good luck with your plans! Come back any time.",
    }
    return Reply().add("text", lines.get(intent, lines["greeting"])).row(*menu_row())


def decline_reply(intent: str | None = None) -> Reply:
    if intent == "empty":
        text = "I read words best 🙂 Type a question about a career, e.g. “What does a vet do?”"
    else:
        text = (
            "Sorry, I can only help with careers: what a job involves, the skills it needs, "
            "where people work, how to get started and what to study. I understand English best."
        )
    reply = Reply().add("text", text)
    reply.add("note", "Try: " + " · ".join(EXAMPLES[:2]))
    return reply.row(*menu_row())


def welcome_reply(catalog: Catalog) -> Reply:
    reply = Reply().add("title", "Hi, I'm your careers guide 🎓")
    reply.add(
        "text",
        f"I know {len(catalog)} careers in {len(catalog.fields)} fields. Ask me in your own words "
        "what a job is like, what skills it needs, who hires, how to get started, or what and "
        "where to study. I can also suggest careers with a short interest quiz.",
    )
    reply.add("note", "Type /help for examples and commands.")
    reply.row(Button("💬 Ask a question", actions.AskPrompt().encode()))
    return reply.row(*menu_row())


def ask_prompt_reply() -> Reply:
    reply = Reply().add("text", "Go ahead, type your question. For example:")
    for example in EXAMPLES:
        reply.add("bullet", example)
    return reply


def help_reply() -> Reply:
    reply = Reply().add("title", "How to use me")
    reply.add("text", "Ask about any career in your own words, for example:")
    for example in EXAMPLES:
        reply.add("bullet", example)
    reply.add("text", "Follow-ups work too: “and what must I study?”, “what about a dentist?”")
    reply.add("title", "Commands")
    for command in learner_commands():
        reply.add("bullet", command.usage)
    return reply.row(*menu_row())


def fields_reply(catalog: Catalog, page: int = 0) -> Reply:
    names = list(catalog.fields)
    reply = Reply().add("title", "Browse careers").add("text", "Pick a field:")
    start = max(0, page) * FIELDS_PER_PAGE
    shown = list(enumerate(names))[start : start + FIELDS_PER_PAGE]
    buttons = [
        Button(f"{name} ({len(catalog.fields[name])})", actions.BrowseField(number).encode())
        for number, name in shown
    ]
    for i in range(0, len(buttons), 2):
        reply.row(*buttons[i : i + 2])
    reply.row(
        *_pager(page, len(names), FIELDS_PER_PAGE, lambda p: actions.BrowseFields(p).encode())
    )
    return reply


def field_reply(catalog: Catalog, field_number: int, page: int = 0) -> Reply:
    names = list(catalog.fields)
    if not 0 <= field_number < len(names):
        return fields_reply(catalog)
    name = names[field_number]
    careers = catalog.in_field(name)
    pages = max(1, -(-len(careers) // CAREERS_PER_PAGE))
    page = min(max(page, 0), pages - 1)
    reply = Reply().add("title", name)
    reply.add("text", f"Careers {page + 1}/{pages} – tap one to read about it:")
    shown = careers[page * CAREERS_PER_PAGE : (page + 1) * CAREERS_PER_PAGE]
    buttons = [Button(c.title, actions.ShowSection(c.id, "overview").encode()) for c in shown]
    for i in range(0, len(buttons), 2):
        reply.row(*buttons[i : i + 2])
    reply.row(
        *_pager(
            page,
            len(careers),
            CAREERS_PER_PAGE,
            lambda p: actions.BrowseField(field_number, p).encode(),
        )
    )
    reply.row(Button("⬅ All fields", actions.BrowseFields().encode()))
    return reply


def _pager(page: int, total: int, size: int, make: object) -> list[Button]:
    assert callable(make)
    buttons = []
    if page > 0:
        buttons.append(Button("◀ Previous", make(page - 1)))
    if (page + 1) * size < total:
        buttons.append(Button("Next ▶", make(page + 1)))
    return buttons
