"""Benchmark the audit bundle's offline verifier: write a bundle of a million entries (shaped
as the service writes them, a signed checkpoint every 1,000) and time `python -I verify.py`
on it, as an auditor runs it: a separate, isolated Python. It prints the wall time and the
CPU time the verifier used: on a shared machine the CPU time is what a free core takes."""

from __future__ import annotations

import argparse
import hashlib
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from infrastructure import auditverify
from infrastructure.auditlog import Checkpoint
from infrastructure.auditverify import lines, signed_text, walk
from infrastructure.signing import AuditKey

ORIGIN, MOMENT = "bench/audit", "2026-12-02T12:00:00.000Z"
TOPICS = [
    "domain.assessment:Assessment.VerificationStarted",
    "domain.assessment:Assessment.QuestionsGenerated",
    "domain.assessment:Assessment.AnswersSubmitted",
    "domain.assessment:Assessment.Scored",
    "domain.assessment:Assessment.Locked",
]


def write_bundle(folder: Path, entries: int, every: int) -> None:
    """A bundle of `entries` entries with a checkpoint every `every` and at the end."""
    stream = ""
    with (folder / "entries.jsonl").open("wb") as out:
        for position in range(entries):
            version = position % len(TOPICS) + 1
            if version == 1:
                stream = str(uuid.uuid4())
            digest = hashlib.sha256(position.to_bytes(8, "big")).hexdigest()
            out.write(
                f'{{"notificationId":{position + 1},"position":{position},'
                f'"storedSha256":"{digest}","stream":"{stream}",'
                f'"type":"{TOPICS[version - 1]}","version":{version}}}\n'.encode()
            )
    key, checkpoints = AuditKey(Ed25519PrivateKey.generate()), []

    def sign(size: int, root: bytes) -> None:
        signature = key.sign(signed_text(ORIGIN, size, root.hex(), MOMENT))
        checkpoints.append(Checkpoint(ORIGIN, size, root.hex(), MOMENT, signature, key.public_raw))

    sizes = [*range(every, entries, every), entries]
    walk(lines(folder / "entries.jsonl"), sizes, sign)
    (folder / "checkpoints.jsonl").write_bytes(
        b"".join(msgspec.json.encode(checkpoint) + b"\n" for checkpoint in checkpoints)
    )
    (folder / "public-key.pem").write_bytes(key.public_pem)
    shutil.copy(auditverify.__file__, folder / "verify.py")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--every", type=int, default=1000, help="entries between checkpoints")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        bundle = Path(folder)
        started = time.perf_counter()
        write_bundle(bundle, options.entries, options.every)
        print(f"wrote {options.entries:,} entries in {time.perf_counter() - started:.1f} s")
        before, started = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-I", "verify.py"], cwd=bundle, capture_output=True, text=True
        )
        seconds = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if result.returncode != 0:
            raise SystemExit(f"verify.py failed: {result.stdout}{result.stderr}")
        print(result.stdout.strip())
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        print(
            f"verify.py: {options.entries:,} entries in {seconds:.1f} s"
            f" ({options.entries / seconds:,.0f} entries/s), {cpu:.1f} s of CPU"
            f" (on a free core: {options.entries / cpu:,.0f} entries/s)"
        )


if __name__ == "__main__":
    main()
