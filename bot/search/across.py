"""Questions that span careers: what is asked first, then which careers, then what to show.

Stage 1, `read`: the question's facets (subjects, routes, places, work, fields), the careers it
names or rules out, and its cues (list, compare, money), all from knowledge/vocabulary.yaml.
Stage 2, `plan`: compare, guide, list, or `None` for the one-career ranker.
Stage 3: `suggest` ranks careers that pass every constraint, each with the reason it fits;
`aspect` picks what a comparison puts side by side.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from bot.catalog import Career, Catalog, Facets
from bot.guides import Guides
from bot.search.embedder import Embedder
from bot.search.index import LoadedIndex
from bot.search.names import Mention, NameMatcher
from bot.search.text import STOPWORDS, normalise, words
from bot.support import Language
from bot.vocabulary import Uncovered, Vocabulary

NEGATION_REACH = 4  # a negation this many words before a facet or name turns it around
MAX_COMPARED = 3
FUZZY_NAME_MIN = 0.75  # "office" is not a typo of "officer"
CAREER_WORDS = frozenset(
    {"careers", "career", "jobs", "job", "professions", "trades", "occupations", "become"}
)
OTHER_WORDS = frozenset({"else", "other", "instead", "besides"})
ENTRY_WORDS = frozenset({"subjects", "subject", "study", "studies", "qualification", "aps"})
SUBJECT_LABEL = {"Mathematics": "Mathematics (not Maths Literacy)"}


@dataclass(frozen=True)
class AcrossWeights:
    """How much each kind of evidence counts when suggesting careers, and the cut-offs."""

    facet: float = 1.0  # per matched facet
    meaning: float = 2.0  # times the question's closeness in meaning to the career
    fit_min: float = 0.3  # a suggestion without a facet must be at least this close in meaning
    guide_min: float = 0.65  # closeness to a guide's examples that makes it a guide question
    guide_over_section: float = 0.05  # ...and this much closer than to any career question
    route_fit: float = 0.5  # a career whose main route is what was asked beats a side route


@dataclass
class Reading:
    """What a question says, in facet terms."""

    tokens: list[str]
    subjects: set[str] = field(default_factory=set)
    no_subjects: set[str] = field(default_factory=set)
    maths_literacy: bool = False
    places: set[str] = field(default_factory=set)
    no_places: set[str] = field(default_factory=set)
    levels: set[str] = field(default_factory=set)
    work: set[str] = field(default_factory=set)
    no_work: set[str] = field(default_factory=set)
    fields: set[str] = field(default_factory=set)
    named: list[str] = field(default_factory=list)  # careers asked about, in order
    named_only_by_facet: set[str] = field(default_factory=set)  # "law": a field and an alias
    only_facets: bool = False  # the message is nothing but facet words: "engineering", "animals"
    excluded: set[str] = field(default_factory=set)  # careers ruled out ("besides nurse")
    list_cue: bool = False
    compare_cue: bool = False
    money: bool = False
    everything: bool = False  # "all careers you know"
    similar: bool = False  # "similar to that"
    aspect_words: set[str] = field(default_factory=set)

    @property
    def asks_pay(self) -> bool:
        """A pay cue, or "money" next to a named career ("how much money does a chef make")."""
        return self.money or "money" in self.tokens

    @property
    def tokens_ask_about_entry(self) -> bool:
        return bool(ENTRY_WORDS & set(self.tokens))

    @property
    def has_facets(self) -> bool:
        return (
            bool(
                self.subjects
                | self.no_subjects
                | self.places
                | self.no_places
                | self.levels
                | self.work
                | self.no_work
                | self.fields
            )
            or self.maths_literacy
        )


@dataclass(frozen=True)
class Suggestion:
    career: str
    reason: str
    score: float


@dataclass(frozen=True)
class Plan:
    kind: str  # "compare", "guide", "list"
    careers: tuple[str, ...] = ()
    guide: str | None = None
    aspect: str | None = None


class Across:
    def __init__(
        self,
        catalog: Catalog,
        guides: Guides,
        vocabulary: Vocabulary,
        uncovered: Uncovered,
        language: Language,
        index: LoadedIndex,
        embedder: Embedder,
        names: NameMatcher,
        weights: AcrossWeights | None = None,
    ) -> None:
        self.catalog = catalog
        self.guides = guides
        self.vocabulary = vocabulary
        self.language = language
        self.index = index
        self.embedder = embedder
        self.names = names
        self.weights = weights or AcrossWeights()
        self.uncovered = uncovered
        self._uncovered_names = NameMatcher({name: (name,) for name in uncovered.careers})
        self.career_ids = [career.id for career in catalog]
        self._phrases = self._phrase_table()
        self._guide_names = NameMatcher({guide.id: guide.aliases for guide in guides})
        examples = [(guide.id, text) for guide in guides for text in guide.examples]
        self._guide_of = [guide_id for guide_id, _ in examples]
        self._guide_vectors = (
            embedder.encode([text for _, text in examples]) if examples else np.zeros((0, 1))
        )
        # Questions about one career (the intent examples), already embedded in the index.
        self._question_vectors = index.vectors[
            [
                i
                for i, row in enumerate(index.rows)
                if row.kind == "example" and row.section != "off_topic"
            ]
        ]
        # What each career is about: its rows in the index (names, sections, bullets).
        self._career_rows: dict[str, list[int]] = {}
        for i, row in enumerate(index.rows):
            if row.career and (row.kind != "bullet" or row.section != "study"):
                self._career_rows.setdefault(row.career, []).append(i)

    # ------------------------------------------------------------------ stage 1: read
    def _phrase_table(self) -> dict[tuple[str, ...], list[tuple[str, str]]]:
        """Every vocabulary word list, as token tuples -> [(facet kind, value)]."""
        v = self.vocabulary
        tables: list[tuple[str, dict[str, list[str]]]] = [
            ("subject", v.subjects),
            ("level", v.route_levels),
            ("place", v.places),
            ("work", v.work),
            ("field", v.fields),
        ]
        singles = {
            "maths_literacy": v.maths_literacy,
            "list": v.list_cues,
            "compare": v.compare_cues,
            "money": v.money_cues,
        }
        table: dict[tuple[str, ...], list[tuple[str, str]]] = {}
        for kind, mapping in tables:
            for value, phrases in mapping.items():
                for phrase in phrases:
                    table.setdefault(tuple(words(phrase)), []).append((kind, value))
        for kind, phrases in singles.items():
            for phrase in phrases:
                table.setdefault(tuple(words(phrase)), []).append((kind, kind))
        return table

    def prepare(self, text: str) -> list[str]:
        return words(self.language.expand(normalise(text)))

    def model_texts(self, text: str) -> list[str]:
        """What the model reads of a message here (a turn encodes it all at once)."""
        return [" ".join(self.prepare(text))]

    def read(self, text: str) -> Reading:
        tokens = self.prepare(text)
        reading = Reading(tokens=tokens)
        negations = {tuple(words(n)) for n in self.vocabulary.negations}
        longest = max((len(p) for p in self._phrases), default=1)
        taken: set[int] = set()
        cues = {"list", "compare", "money"}
        for size in range(longest, 0, -1):
            for start in range(len(tokens) - size + 1):
                span = set(range(start, start + size))
                found = self._phrases.get(tuple(tokens[start : start + size]))
                if not found:
                    continue
                negated = _negated(tokens, start, negations)
                facets = [(kind, value) for kind, value in found if kind not in cues]
                for kind, value in found:
                    if kind in cues:  # cues never hide a facet word ("which trades")
                        self._note(reading, kind, value, negated)
                if facets and not taken & span:
                    taken |= span
                    for kind, value in facets:
                        self._note(reading, kind, value, negated)
        # What is ruled out wins over what is asked for ("not varsity ... university").
        reading.subjects -= reading.no_subjects
        reading.places -= reading.no_places
        reading.work -= reading.no_work
        reading.subjects.discard("English")  # every career needs it: it tells nothing apart
        reading.everything = _contains(tokens, ("all",)) and _contains(tokens, ("careers",))
        reading.everything |= _contains(tokens, ("every", "career"))
        reading.similar = any(t in ("similar", "like") for t in tokens) and any(
            t in ("that", "this", "it", "them", "those") for t in tokens
        )
        for mention in self._mentions(tokens):
            if set(range(mention.start, mention.end)) <= taken:
                reading.named_only_by_facet.add(mention.career)
            if _negated(tokens, mention.start, negations):
                reading.excluded.add(mention.career)
            elif mention.career not in reading.named:
                reading.named.append(mention.career)
        reading.named = [c for c in reading.named if c not in reading.excluded]
        reading.aspect_words = set(tokens)
        content = [i for i, t in enumerate(tokens) if t not in STOPWORDS]
        reading.only_facets = bool(content) and set(content) <= taken
        return reading

    @staticmethod
    def _note(reading: Reading, kind: str, value: str, negated: bool) -> None:
        if kind == "subject":
            (reading.no_subjects if negated else reading.subjects).add(value)
        elif kind == "maths_literacy":
            reading.maths_literacy = not negated
        elif kind == "place":
            (reading.no_places if negated else reading.places).add(value)
        elif kind == "level" and not negated:
            reading.levels.add(value)
        elif kind == "work":
            (reading.no_work if negated else reading.work).add(value)
        elif kind == "field" and not negated:
            reading.fields.add(value)
        elif kind == "list":
            reading.list_cue = True
        elif kind == "compare":
            reading.compare_cue = True
        elif kind == "money":
            reading.money = True

    def _mentions(self, tokens: list[str]) -> list[Mention]:
        """Career names, confident ones only, plus the first half of "civil and mechanical
        engineering" (a head noun shared across a conjunction)."""
        mentions = [
            m
            for m in self.names.find(tokens)
            if m.score >= 0.5 and (m.exact or m.score >= FUZZY_NAME_MIN)
        ]
        extra: list[Mention] = []
        for mention in mentions:
            if mention.end - mention.start < 2 or mention.start < 2:
                continue
            if tokens[mention.start - 1] not in ("and", "or", "vs", "versus", "nor"):
                continue
            phrase = [tokens[mention.start - 2], *tokens[mention.start + 1 : mention.end]]
            for found in self.names.find(phrase):
                whole = found.start == 0 and found.end == len(phrase)
                if whole and found.exact and found.score >= 0.5 and found.career != mention.career:
                    extra.append(
                        Mention(
                            found.career,
                            found.score,
                            mention.start - 2,
                            mention.start - 1,
                            found.name,
                        )
                    )
        return sorted(mentions + extra, key=lambda m: m.start)

    def not_covered(self, text: str, reading: Reading) -> tuple[str, list[str]] | None:
        """A career the learner names that we have no profile for, with the nearest we have.

        From the staff's list first; else a job-like word after "become a", "work as a"...
        that is no name we know. A career we do cover, named as fully, wins."""
        tokens = reading.tokens
        known = [m for m in self.names.find(tokens) if m.exact and m.score >= 0.99]
        longest_known = max((m.end - m.start for m in known), default=0)
        for mention in self._uncovered_names.find(tokens):
            if mention.exact and mention.end - mention.start > longest_known:
                near = [c for c in self.uncovered.careers[mention.career] if c in self.catalog]
                return mention.career, near
        if reading.named or longest_known:
            return None
        phrase = _job_after_cue(tokens)
        if phrase is None or tuple(phrase.split()) in self._phrases:
            return None
        closeness = self._meaning(text)
        near = sorted(closeness, key=lambda c: -closeness[c][0])[:3]
        return phrase, near

    # ------------------------------------------------------------------ stage 2: plan
    def plan(self, text: str, reading: Reading, context_career: str | None) -> Plan | None:
        named = reading.named
        career_words = bool(CAREER_WORDS & set(reading.tokens))
        if reading.list_cue and career_words and set(named) <= reading.named_only_by_facet:
            named = []  # "careers in law", "i'm good at accounting": a field, not one career
        if reading.list_cue and named and OTHER_WORDS & set(reading.tokens):
            reading.excluded |= set(named)  # "is med possible, or what else can i do"
            named = []
        if len(named) >= 2 and (reading.compare_cue or reading.money):
            return Plan("compare", tuple(named[:MAX_COMPARED]), aspect=self.aspect(reading))
        refers_back = any(t in ("that", "it", "this", "them", "they") for t in reading.tokens)
        if (
            len(named) == 1
            and context_career in self.catalog
            and context_career != named[0]
            and reading.compare_cue
            and refers_back
        ):
            return Plan("compare", (str(context_career), named[0]), aspect=self.aspect(reading))
        guide = self._guide_by_name(reading.tokens)
        if guide is not None and named and not self.guides.get(guide).with_careers:
            guide = None  # "study to be a plumber at a TVET college": the plumber's study
        if reading.list_cue and not named and (guide is None or career_words):
            return Plan("list")
        if reading.list_cue and reading.similar and context_career in self.catalog:
            return Plan("list")
        if guide is not None:
            return Plan("guide", guide=guide)
        guide = self._guide_by_meaning(text, context_career is None)
        if guide is not None and not named:
            return Plan("guide", guide=guide)
        if not named and reading.everything:
            return Plan("list")
        if reading.only_facets and set(named) <= reading.named_only_by_facet:
            return Plan("list")  # "engineering", "animals", "law": the careers there
        if (
            not named
            and reading.fields
            and reading.tokens_ask_about_entry
            and (
                context_career not in self.catalog
                or self.catalog.get(str(context_career)).field not in reading.fields
            )
        ):
            return Plan("list")  # "what subjects do i need for engineering": the engineers
        if not named and reading.money and reading.list_cue:
            return Plan("list")
        return None

    def _guide_by_name(self, tokens: list[str]) -> str | None:
        exact = [m for m in self._guide_names.find(tokens) if m.score >= 0.99]
        return exact[0].career if exact else None

    def _guide_by_meaning(self, text: str, fresh: bool) -> str | None:
        """`fresh`: no career in the conversation, so a general study question is general."""
        if not len(self._guide_of):
            return None
        vector = self.embedder.encode(self.model_texts(text))[0]
        sims = self._guide_vectors @ vector
        best = int(np.argmax(sims))
        career_question = float((self._question_vectors @ vector).max())
        w = self.weights
        closest = float(sims[best])
        if closest >= w.guide_min and (
            closest >= career_question + w.guide_over_section or (fresh and closest >= 0.75)
        ):
            return self._guide_of[best]
        return None

    def aspect(self, reading: Reading) -> str:
        """What a comparison is about: study length, getting in, work, pay, or the job."""
        tokens = reading.aspect_words
        if reading.money:
            return "money"
        if tokens & {"long", "longer", "shorter", "years", "study", "studying", "qualification"}:
            return "study"
        if tokens & {"harder", "easier", "hard", "easy", "subjects", "marks", "aps", "into"}:
            return "entry"
        if tokens & {"jobs", "work", "where", "employ", "demand", "hire", "hires"}:
            return "employment"
        return "tasks"

    # ------------------------------------------------------------------ stage 3: suggest
    def suggest(
        self, text: str, reading: Reading, context_career: str | None = None
    ) -> list[Suggestion]:
        """Careers that pass every constraint, best first, each with why it fits."""
        w = self.weights
        if reading.everything and not reading.has_facets:
            return [
                Suggestion(c.id, f"{c.field}", 0.0)
                for c in sorted(self.catalog, key=lambda c: c.title)
                if c.id not in reading.excluded
            ]
        meaning = self._meaning(text)
        anchor = context_career if reading.similar and context_career in self.catalog else None
        found = []
        for career in self.catalog:
            if career.id in reading.excluded or career.id == anchor:
                continue
            passed, reasons = self._check(career, reading)
            if not passed:
                continue
            closeness = meaning.get(career.id, (0.0, ""))
            if anchor is not None:
                base = self.catalog.get(anchor)
                related = career.id in base.related or anchor in career.related
                same_field = career.field == base.field
                shared = len(set(career.riasec[:2]) & set(base.riasec[:2]))
                score = 2.0 * related + 1.0 * same_field + 0.5 * shared
                if score < 1.0:
                    continue
                reasons.insert(
                    0,
                    f"like {base.title}: "
                    + (f"also {career.field}" if same_field else "similar interests"),
                )
                score += w.meaning * closeness[0]
            else:
                score = w.facet * len(reasons) + w.meaning * closeness[0]
                score += w.route_fit * _route_fit(career, reading)
                if not reasons and closeness[0] < w.fit_min:
                    continue
            if reading.tokens_ask_about_entry and career.facets is not None:
                needed = ", ".join(s for s in career.facets.required if s != "English")
                reasons.append(f"school subjects: {needed or 'English only'}")
            reason = "; ".join(reasons) if reasons else closeness[1]
            found.append(Suggestion(career.id, reason, score))
        found.sort(key=lambda s: -s.score)
        return found

    def _meaning(self, text: str) -> dict[str, tuple[float, str]]:
        """Per career: how close the question is in meaning, and the text that is closest."""
        vector = self.embedder.encode([" ".join(self.prepare(text))])[0]
        sims = self.index.vectors @ vector
        out = {}
        for career, rows in self._career_rows.items():
            values = sims[rows]
            best = rows[int(np.argmax(values))]
            row = self.index.rows[best]
            top = np.sort(values)[-3:].mean()
            why = row.text.split(": ", 1)[-1] if row.kind == "bullet" else ""
            out[career] = (float(top), why)
        return out

    def _check(self, career: Career, reading: Reading) -> tuple[bool, list[str]]:
        """Does the career pass the question's constraints, and which facets matched."""
        facets = career.facets
        reasons: list[str] = []
        if reading.fields:
            if career.field not in reading.fields and not (
                facets and reading.work & set(facets.work)
            ):
                return False, []
            if career.field in reading.fields:
                reasons.append(f"in {career.field}")
        if facets is None:
            return not reading.has_facets or bool(reasons), reasons
        subjects = set(facets.required) | set(facets.recommended)
        if reading.subjects:
            matched = sorted(reading.subjects & subjects)
            if not matched:
                return False, []
            reasons.append("uses " + " and ".join(SUBJECT_LABEL.get(s, s) for s in matched))
        if reading.no_subjects & set(facets.required):
            return False, []
        if reading.no_subjects:
            reasons.append("no " + " or ".join(sorted(reading.no_subjects)) + " needed")
        if reading.maths_literacy:
            if not facets.maths_literacy:
                return False, []
            reasons.append("a route accepts Maths Literacy")
        routes = list(facets.routes)
        if reading.no_places:
            routes = [r for r in routes if not set(r.at) & reading.no_places]
            if not routes:
                return False, []
        if reading.places:
            routes = [r for r in routes if set(r.at) & reading.places]
            if not routes:
                return False, []
        if reading.levels:
            routes = [r for r in routes if r.level in reading.levels]
            if not routes:
                return False, []
        if reading.places or reading.no_places or reading.levels:
            reasons.append(min(routes, key=lambda r: r.years).short())
        if reading.work:
            matched_work = sorted(reading.work & set(facets.work))
            in_field = bool(reading.fields) and career.field in reading.fields
            if len(matched_work) < len(reading.work) and not (in_field and matched_work):
                return False, []  # every place asked for ("outdoors with animals")
            if matched_work:
                reasons.append("works " + ", ".join(WORK_LABELS.get(t, t) for t in matched_work))
        # "i hate sitting in an office": out only if the work is mainly there; "no coding": out
        # if the job codes daily at all (an activity is listed only when it is daily work)
        if reading.no_work and not reading.work:
            main_place = facets.work[0] in reading.no_work
            if main_place or reading.no_work & ACTIVITIES & set(facets.work):
                return False, []
        return True, reasons


WORK_LABELS = {
    "office": "in an office",
    "outdoors": "outdoors",
    "hospital_clinic": "in hospitals or clinics",
    "workshop": "in a workshop",
    "site": "on building sites",
    "lab": "in a laboratory",
    "school": "at a school",
    "farm": "on farms",
    "kitchen": "in a kitchen",
    "studio": "in a studio",
    "court": "in court",
    "mine": "at mines",
    "factory": "in factories",
    "vehicle": "in vehicles or aircraft",
    "travel": "with travel",
    "shifts": "in shifts",
    "with_animals": "with animals",
    "with_children": "with children",
    "with_patients": "with patients",
    "with_the_public": "with people",
    "from_home": "from home at times",
    "coding": "with code every day",
}
ACTIVITIES = {"coding"}  # work facets that are what a job does, not where


def _route_fit(career: Career, reading: Reading) -> float:
    """How fully a career's routes fit "without university" or "at a TVET college": all of them,
    or its main (first) one, count more than one side route."""
    if career.facets is None or not (reading.no_places or reading.places or reading.levels):
        return 0.0
    routes = career.facets.routes
    avoid = all(not set(r.at) & reading.no_places for r in routes) if reading.no_places else True
    main = routes[0]
    wanted = (not reading.places or bool(set(main.at) & reading.places)) and (
        not reading.levels or main.level in reading.levels
    )
    return float(avoid) * 0.5 + float(wanted) * 0.5


def _negated(tokens: list[str], start: int, negations: Iterable[tuple[str, ...]]) -> bool:
    before = tokens[max(0, start - NEGATION_REACH) : start]
    return any(tuple(before[i : i + len(n)]) == n for n in negations for i in range(len(before)))


JOB_CUES = (("become", "a"), ("become", "an"), ("be", "a"), ("be", "an"), ("work", "as"),
            ("career", "as"), ("job", "as"), ("jobs", "as"), ("study", "to", "be"))  # fmt: skip
JOB_ENDINGS = ("er", "or", "ist", "ian", "ant", "eer", "man", "woman", "ive")
NOT_JOBS = frozenset({"better", "person", "member", "leader", "winner", "owner", "user", "other",
                      "player", "father", "mother", "sister", "brother", "partner", "reader",
                      "speaker", "worker", "helper", "learner", "beginner", "number", "answer",
                      "teenager", "smarter", "faster", "stronger", "expert"})  # fmt: skip


def _job_after_cue(tokens: list[str]) -> str | None:
    """ "how do i become a flight attendant" -> "flight attendant", if it looks like a job."""
    for cue in JOB_CUES:
        for i in range(len(tokens) - len(cue)):
            if tuple(tokens[i : i + len(cue)]) != cue:
                continue
            found: list[str] = []
            for token in tokens[i + len(cue) :][:2]:
                if token in STOPWORDS:
                    break
                found.append(token)
            for size in (2, 1):
                phrase = found[:size]
                if len(phrase) == size and phrase[-1].endswith(JOB_ENDINGS):
                    if NOT_JOBS & set(phrase):
                        return None
                    return " ".join(phrase)
    return None


def _contains(tokens: list[str], phrase: tuple[str, ...]) -> bool:
    return any(
        tuple(tokens[i : i + len(phrase)]) == phrase for i in range(len(tokens) - len(phrase) + 1)
    )


def facet_lines(career: Career, aspect: str) -> list[str]:
    """What a comparison shows of one career for the asked aspect."""
    facets: Facets | None = career.facets
    if facets is None:
        return []
    if aspect == "study":
        return [f"Route: {route.describe()}" for route in facets.routes[:3]]
    if aspect == "entry":
        subjects = ", ".join(SUBJECT_LABEL.get(s, s) for s in facets.required)
        lines = [f"School subjects needed: {subjects}"]
        lines.append(
            "Maths Literacy accepted on some routes"
            if facets.maths_literacy
            else "Maths Literacy is not enough: take Mathematics"
        )
        lines.append(f"Shortest route: {facets.shortest.describe()}")
        return lines
    if aspect in ("employment", "money"):
        return ["Works " + ", ".join(WORK_LABELS.get(t, t) for t in facets.work)]
    return []
