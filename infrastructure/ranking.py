"""The `bank` generator: each bank's questions ranked by BM25 (bm25s) against what the
record's sources say. A question is read as its text, its right answer and its topics; a
topic as everything its questions say. A question scores by its own match and by its best
topic's (each scaled to the bank's best), so a student who "reverted a bad deploy" is asked
about undoing changes even where no question says "reverted"."""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

import bm25s
import Stemmer
from bm25s.stopwords import STOPWORDS_EN_PLUS

from domain.questions import BANK, Bank, BankQuestion, QuestionRequest, QuestionSet, draw
from domain.values import Source

_STEMMER = Stemmer.Stemmer("english")
_WORD = re.compile(r"(?u)\b\w\w+\b")  # bm25s's own token pattern
TOPIC_WEIGHT = 1.0  # a question's best topic counts as much as its own text
MAX_TERMS = 80  # the most words of the sources a model is told


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


def _stems(text: str) -> list[str]:
    return list(_STEMMER.stemWords(_WORD.findall(text.lower())))


@lru_cache(maxsize=64)
def _vocabulary(texts: tuple[str, ...]) -> frozenset[str]:
    return frozenset(stem for text in texts for stem in _stems(text))


def vocabulary(bank: Bank) -> frozenset[str]:
    """Every word (stemmed) of a bank: its questions, options and topics."""
    return _vocabulary(
        tuple(" ".join([item.question, *item.options, *item.topics]) for item in bank.questions)
    )


def technical_terms(sources: Sequence[Source], banks: Sequence[Bank]) -> list[str]:
    """The words of the sources that the banks use too (each once, in order): what a model
    is told of a student's work. A name, a place or an employer, which no bank uses, is
    never sent (docs/decisions.md)."""
    known = frozenset().union(*(vocabulary(bank) for bank in banks))
    terms: dict[str, None] = {}
    for text in source_texts(sources):
        for word in _WORD.findall(text.lower()):
            if word.isdigit() or word in STOPWORDS_EN_PLUS:
                continue
            if _STEMMER.stemWord(word) in known:
                terms.setdefault(word)
    return list(terms)[:MAX_TERMS]


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
