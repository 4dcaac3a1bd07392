"""Run each mutant that survived `mutmut run` again, against the test files of its module.

mutmut runs a selection of the tests (pyproject.toml) in processes forked after the code
was imported, so it cannot see a mutant of code that runs at import (the error map's
`errors_of`, which decorates the routes) and does not run the HTTP tests outside its
selection. This puts each survivor in the source, runs the module's test files in a fresh
pytest, and puts the source back. Run it in a clean checkout where `mutmut run` has run:

    ../main/.venv/bin/python scripts/mutants_again.py > again.txt
    ../main/.venv/bin/python scripts/mutants_again.py NAME... -- tests/unit/test_x.py
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

API, INTEGRATION = "tests/api/", "tests/integration/"
# The tests outside mutmut's selection that check each mutated module.
TESTS_OF = {
    "api.errors": [
        API + "test_error_map.py",
        API + "test_wording.py",
        API + "test_messages.py",
        INTEGRATION + "test_connections.py",
    ],
    "api.limits": [API + "test_no_store.py", API + "test_review_page_refusals.py"],
    "application.access": [
        API + "test_loop_commands.py",
        API + "test_credentials.py",
        API + "test_review_page.py",
        API + "test_human_flow.py",
        API + "test_flow_idempotency.py",
    ],
    "domain.access": [API + "test_flow_idempotency.py", API + "test_messages.py"],
    "domain.assessment": [
        API + "test_flow_attempts.py",
        API + "test_errors_submit.py",
        API + "test_messages.py",
        API + "test_flow_history.py",
    ],
    "domain.attempts": [
        INTEGRATION + "test_preparation.py",
        API + "test_messages.py",
        API + "test_errors_submit.py",
        API + "test_flow_attempts.py",
    ],
    "domain.banks": [API + "test_reads.py", INTEGRATION + "test_llm_generator.py"],
    "domain.credentials": [
        API + "test_credentials.py",
        API + "test_issuer.py",
        INTEGRATION + "test_stored_events.py",
    ],
    "domain.endorsement": [
        API + "test_human_flow.py",
        API + "test_flow_history.py",
        API + "test_messages.py",
        INTEGRATION + "test_views_human.py",
    ],
    "domain.moments": [API + "test_flow_history.py"],
    "domain.questions": [
        INTEGRATION + "test_llm_generator.py",
        INTEGRATION + "test_preparation.py",
        API + "test_messages.py",
    ],
    "domain.scoring": [API + "test_messages.py", API + "test_flow_attempts.py"],
    "domain.values": [INTEGRATION + "test_erasure.py", INTEGRATION + "test_stored_events.py"],
    "domain.personal": [INTEGRATION + "test_erasure.py"],
    "domain.webhooks": [API + "test_webhooks.py", API + "test_webhook_bounds.py"],
    "infrastructure.sealing": [
        INTEGRATION + "test_erasure.py",
        INTEGRATION + "test_erased_files.py",
        INTEGRATION + "test_master_key.py",
    ],
    "infrastructure.mailboxes": [INTEGRATION + "test_emails.py"],
}
MUTMUT = Path(sys.executable).parent / "mutmut"


def survivors() -> list[str]:
    """The names of the mutants `mutmut results` lists as survived or reached by no test."""
    out = subprocess.run([MUTMUT, "results"], capture_output=True, text=True, check=True).stdout
    return [
        line.split(":")[0].strip()
        for line in out.splitlines()
        if line.rstrip().endswith(("survived", "no tests"))
    ]


def killed_by_module_tests(name: str, given: list[str]) -> tuple[bool, str]:
    """Whether the module's test files (or those given) fail with this mutant in the source
    (and which)."""
    module = name.split(".x")[0]
    files = given or TESTS_OF.get(module)
    if not files:
        return False, "no test files listed"
    source = Path(*module.split(".")).with_suffix(".py")
    subprocess.run([MUTMUT, "apply", name], check=True, capture_output=True)
    try:
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-n", "0", *files],
            capture_output=True,
            text=True,
            timeout=600,
        )
    except subprocess.TimeoutExpired:
        return True, "timeout"
    finally:
        subprocess.run(["git", "checkout", "--", str(source)], check=True)
    failed = [line for line in run.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
    return run.returncode != 0, (failed[0] if failed else f"exit {run.returncode}")


def main() -> None:
    names, _, given = " ".join(sys.argv[1:]).partition("--")
    for name in names.split() or survivors():
        killed, why = killed_by_module_tests(name, given.split())
        print(f"{'killed' if killed else 'survived'}\t{name}\t{why}", flush=True)


if __name__ == "__main__":
    main()
