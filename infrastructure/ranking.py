"""The `bank` generator: each bank's questions ranked by BM25 (bm25s) against what the
record's sources say. A question is read as its text, its right answer and its topics; a
topic as everything its questions say. A question scores by its own match and by its best
topic's (each scaled to the bank's best), so a student who "reverted a bad deploy" is asked
about undoing changes even where no question says "reverted"."""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache

import bm25s
import Stemmer

from domain.questions import BANK, Bank, BankQuestion, QuestionRequest, QuestionSet, draw
from domain.values import Source

_STEMMER = Stemmer.Stemmer("english")
# bm25s logs every index it builds at DEBUG: a line per bank, of no use to an operator.
logging.getLogger("bm25s").setLevel(logging.WARNING)
TOPIC_WEIGHT = 1.0  # a question's best topic counts as much as its own text
MAX_TOPICS = 4  # the most topics a model is told a student's sources are about
TOP_QUESTIONS = 10  # the best-ranked questions whose topics those are


def tokens(texts: Sequence[str]) -> list[list[str]]:
    """Each text's words, lowercased, without English stop words, stemmed."""
    found = bm25s.tokenize(
        list(texts), stopwords="en", stemmer=_STEMMER, return_ids=False, show_progress=False
    )
    return [list(words) for words in found]


def source_texts(sources: Sequence[Source]) -> list[str]:
    """What the sources say: titles, subtitles, descriptions, technologies."""
    return [
        text
        for source in sources
        for text in (
            source.title,
            source.subtitle,
            source.description,
            *(source.technologies or ()),
        )
        if text
    ]


def source_words(sources: Sequence[Source]) -> list[str]:
    """What the sources say, as one query of stemmed words."""
    texts = source_texts(sources)
    return tokens([" ".join(texts)])[0] if texts else []


def _about(item: BankQuestion) -> str:
    return " ".join([item.question, item.options[item.answer], *item.topics, *item.topics])


@lru_cache(maxsize=64)
def _indexes(
    documents: tuple[str, ...], topics: tuple[tuple[str, ...], ...]
) -> tuple[bm25s.BM25, tuple[str, ...], bm25s.BM25 | None]:
    questions = bm25s.BM25()
    questions.index(tokens(documents), show_progress=False)
    names = tuple(sorted({topic for about in topics for topic in about}))
    if not names:
        return questions, names, None
    by_topic = bm25s.BM25()
    of_topic = [
        " ".join(
            [name, name, name, *(d for d, t in zip(documents, topics, strict=True) if name in t)]
        )
        for name in names
    ]
    by_topic.index(tokens(of_topic), show_progress=False)
    return questions, names, by_topic


def relevance(bank: Bank, query: list[str]) -> list[float]:
    """How well each of the bank's questions matches the query (0: not at all)."""
    if not query:
        return [0.0] * len(bank.questions)
    documents = tuple(_about(item) for item in bank.questions)
    topics = tuple(tuple(item.topics) for item in bank.questions)
    questions, names, by_topic = _indexes(documents, topics)
    own = scaled(questions.get_scores(query))
    if by_topic is None:
        return own
    best = dict(zip(names, scaled(by_topic.get_scores(query)), strict=True))
    return [
        score + TOPIC_WEIGHT * max((best[topic] for topic in item.topics), default=0.0)
        for score, item in zip(own, bank.questions, strict=True)
    ]


def scaled(scores: Iterable[float]) -> list[float]:
    """Scores over their highest (all 0 if none is above 0)."""
    found = [float(score) for score in scores]
    top = max(found, default=0.0)
    return [score / top for score in found] if top > 0 else found


def source_topics(sources: Sequence[Source], bank: Bank) -> list[str]:
    """The bank's topics that the sources are about: those of at least two of the questions
    the sources rank highest, the most frequent first (at most MAX_TOPICS). This is what a
    model is told of a student's work: the bank's own words, so nothing the sources say as
    written (a name, an employer, an instruction) is ever sent (docs/decisions.md)."""
    scores = relevance(bank, source_words(sources))
    best = sorted(
        (place for place, score in enumerate(scores) if score > 0), key=lambda p: -scores[p]
    )[:TOP_QUESTIONS]
    counted = Counter(topic for place in best for topic in bank.questions[place].topics)
    ranked = sorted(counted.items(), key=lambda pair: (-pair[1], pair[0]))
    return [topic for topic, count in ranked if count >= 2][:MAX_TOPICS]


class BankGenerator:
    """Questions from the banks, the most relevant to the sources first; a record without
    sources gets the plain random draw."""

    name = BANK

    def make(self, request: QuestionRequest) -> QuestionSet:
        """The attempt's set, drawn with the request's seed."""
        query = source_words(request.sources)
        scores = [relevance(bank, query) for bank in request.banks]
        rng = random.Random(request.seed)
        questions = draw(request.banks, request.count, rng, avoid=request.avoid, scores=scores)
        return QuestionSet(questions, BANK, request.seed)
