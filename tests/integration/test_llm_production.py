"""The `llm` generator in the production set: `assess projector` prepares each set with a
model (a scripted OpenAI-compatible endpoint on loopback), `assess serve` shows it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.integration.test_llm_generator import Model, completion, model_server, written
from tests.processes import prepare, running, server
from tests.support import MASTER_KEY, REACT, STUDENT

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_the_projector_prepares_with_the_model_and_serve_shows_its_questions(
    pg_url: str, tmp_path: Path
) -> None:
    model = Model(lambda body: completion(written(10)))
    with model_server(model) as url:
        env = {
            "ASSESS_DATABASE_URL": pg_url,
            "ASSESS_MASTER_KEY": MASTER_KEY,
            "ASSESS_DATA_DIR": str(tmp_path / "data"),
            "ASSESS_QUESTION_GENERATOR": "llm",
            "ASSESS_LLM_URL": url,
            "ASSESS_LLM_MODEL": "scripted",
            "ASSESS_GENERATE_WAIT_SECONDS": "20",
        }
        key = prepare(env)
        sources = [{"type": "project", "title": "Shop", "description": "Custom hooks for the cart"}]
        body = {"student": STUDENT, "skills": [REACT], "sources": sources}
        with (
            running("projector", env=env, log=tmp_path / "projector.log"),
            server("serve", env=env, log=tmp_path / "serve.log") as base,
            httpx.Client(base_url=base, timeout=30) as http,
        ):
            started = http.post("/api/v1/verify", json=body, headers={"x-api-key": key})
            assert started.status_code == 201, started.text
            session = started.json()["data"]["sessionToken"]
            shown = http.post("/api/v1/assessment/generate", headers={"x-api-key": session})
            assert shown.status_code == 200, shown.text
    questions = shown.json()["data"]["questions"]
    log = (tmp_path / "projector.log").read_text()
    assert {q["origin"] for q in questions} == {"generated"}, log
    assert len(model.asked) == 1
    assert '"hooks"' in model.asked[0]["messages"][1]["content"]
