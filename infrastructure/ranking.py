"""The `bank` question generator: each bank's questions ranked by BM25 (bm25s) against what
the record's sources say, a question read as its text and its topics (the topics count
twice: they are what the question is about)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from functools import lru_cache

import bm25s
import Stemmer

from domain.questions import BANK, Bank, QuestionRequest, QuestionSet, draw
from domain.values import Source

_STEMMER = Stemmer.Stemmer("english")
TOPIC_WEIGHT = 2


def tokens(texts: Sequence[str]) -> list[list[str]]:
    """Each text's words, lowercased, without English stop words, stemmed."""
    found = bm25s.tokenize(
        list(texts), stopwords="en", stemmer=_STEMMER, return_ids=False, show_progress=False
    )
    return [list(words) for words in found]


def source_words(sources: Sequence[Source]) -> list[str]:
    """What the sources say, as one query: titles, subtitles, descriptions, technologies."""
    parts = [
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
    return tokens([" ".join(parts)])[0] if parts else []


@lru_cache(maxsize=256)
def _index(documents: tuple[str, ...]) -> bm25s.BM25:
    index = bm25s.BM25()
    index.index(tokens(documents), show_progress=False)
    return index


def bank_index(bank: Bank) -> bm25s.BM25:
    """A bank's index (kept while its questions and topics are the same)."""
    return _index(
        tuple(" ".join([item.question, *item.topics * TOPIC_WEIGHT]) for item in bank.questions)
    )


def relevance(bank: Bank, query: list[str]) -> list[float]:
    """How well each of the bank's questions matches the query (0: not at all)."""
    if not query:
        return [0.0] * len(bank.questions)
    return [float(score) for score in bank_index(bank).get_scores(query)]


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
