"""Verifying the audit log: one file that needs only the standard library and `cryptography`.

`assess audit export --out DIR` copies this file into the bundle as `verify.py`, so an
auditor checks the bundle without the service:

    python verify.py [DIR] [--public-key FILE]

DIR (default: the folder of verify.py) holds `entries.jsonl`, `checkpoints.jsonl` and
`public-key.pem`. Every entry must be the canonical JSON (RFC 8785) of its position, in
order; every checkpoint must be signed by the public key (Ed25519, over
"{origin}\\n{size}\\n{rootHash}\\n{time}\\n") and its rootHash must be the RFC 9162 root of
the first `size` entries; the last checkpoint must cover every entry. Exit 0 when all
holds, else 1 naming the first position that does not (2: the bundle cannot be read).
Compare public-key.pem with the key the service publishes (GET /api/v1/audit/checkpoint).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

CHECKPOINT_FIELDS = ["origin", "publicKey", "rootHash", "signature", "size", "time"]


def leaf_hash(entry: bytes) -> bytes:
    """RFC 9162: the hash of a leaf is SHA-256(0x00 || entry)."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162: the hash of an interior node is SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


class Peaks:
    """The roots of a growing tree's complete subtrees, one per bit of its size, largest
    first: enough to append a leaf and to give the tree's root (RFC 9162's MTH)."""

    def __init__(self) -> None:
        self.size = 0
        self.hashes: list[bytes] = []

    def append(self, leaf: bytes) -> None:
        """Add a leaf's hash, merging the subtrees it completes."""
        hashes = self.hashes
        hashes.append(leaf)
        self.size += 1
        size = self.size
        while not size & 1:
            right = hashes.pop()
            hashes[-1] = node_hash(hashes[-1], right)
            size >>= 1

    def root(self) -> bytes:
        """The root of the tree of every leaf so far (SHA-256 of nothing when empty)."""
        if not self.hashes:
            return hashlib.sha256(b"").digest()
        root = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            root = node_hash(left, root)
        return root


def signed_text(origin: str, size: int, root_hash: str, time: str) -> bytes:
    """What a checkpoint's signature covers."""
    return f"{origin}\n{size}\n{root_hash}\n{time}\n".encode()


def raw_public_key(key: Ed25519PublicKey) -> str:
    """A public key as the checkpoints carry it: its raw 32 bytes in base64."""
    return base64.b64encode(key.public_bytes_raw()).decode()


# The canonical JSON (RFC 8785) of an entry, spelled out: its six fields in sorted order, no
# spaces, whole numbers without leading zeros (16 digits at most, as 2**53 - 1, the largest
# a JSON number holds exactly), and strings of UTF-8 with every character as itself except
# the quote, the backslash and the controls, each escaped the one way RFC 8785 allows.
# Matching this is the canonical check, several times faster than parsing and serialising
# each line again.
_NUMBER = rb"(0|[1-9][0-9]{0,15})"
_PLAIN = rb'[^"\\\x00-\x1f]*'
_ESCAPE = rb'\\(?:["\\bfnrt]|u00(?:0[0-7]|0b|0e|0f|1[0-9a-f]))'
_STRING = rb'"' + _PLAIN + rb"(?:" + _ESCAPE + _PLAIN + rb')*"'
CANONICAL_ENTRY = re.compile(
    b"".join(
        [
            *(rb'\{"notificationId":', _NUMBER, rb',"position":', _NUMBER),
            *(rb',"storedSha256":"[0-9a-f]{64}","stream":', _STRING, rb',"type":', _STRING),
            *(rb',"version":', _NUMBER, rb"\}"),
        ]
    )
)


def checked_entry(line: bytes, position: int, previous_id: int) -> int:
    """Check that a line is the canonical entry of this position, notification ids
    increasing; its notification id, or Failed."""
    match = CANONICAL_ENTRY.fullmatch(line)
    try:
        line.decode()
    except UnicodeDecodeError:
        match = None
    if match is None:
        raise Failed(Failure(position, "not an entry in canonical JSON (RFC 8785)"))
    said, notification_id = int(match[2]), int(match[1])
    if said != position:
        raise Failed(
            Failure(position, f"it says position {said}: an entry is missing, added or moved")
        )
    if notification_id <= previous_id:
        raise Failed(Failure(position, "its notificationId is not after the previous one's"))
    return notification_id


@dataclass(frozen=True)
class Failure:
    """The first position that does not hold, and why."""

    position: int
    reason: str

    def __str__(self) -> str:
        return f"FAIL at position {self.position}: {self.reason}"


class Failed(Exception):
    """Verification stopped at a failure."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(str(failure))
        self.failure = failure


class Checker:
    """Checks leaves in order against signed checkpoints: feed it each position's entry."""

    def __init__(self, public_key: Ed25519PublicKey, checkpoints: list[dict[str, Any]]) -> None:
        self.public_key = public_key
        self.raw_key = raw_public_key(public_key)
        self.checkpoints = checkpoints
        self.peaks = Peaks()
        self.next = 0  # index of the next checkpoint to reach
        self.covered = 0  # leaves covered by the checkpoints reached so far
        self.previous_id = 0

    def leaf(self, entry: bytes) -> None:
        """Check the entry of the next position (and the checkpoint it completes)."""
        self.previous_id = checked_entry(entry, self.peaks.size, self.previous_id)
        self.peaks.append(leaf_hash(entry))
        checkpoints = self.checkpoints
        while self.next < len(checkpoints) and checkpoints[self.next]["size"] == self.peaks.size:
            self._reached(checkpoints[self.next])

    def _reached(self, checkpoint: dict[str, Any]) -> None:
        where = f"the checkpoint of size {checkpoint['size']}"
        problem = checkpoint_problem(checkpoint, self.public_key, self.raw_key)
        if problem is None and checkpoint["rootHash"] != self.peaks.root().hex():
            problem = (
                f"the entries from position {self.covered} to {checkpoint['size'] - 1}"
                " do not hash to its rootHash"
            )
        if problem:
            raise Failed(Failure(self.covered, f"{where}: {problem}"))
        self.next += 1
        self.covered = checkpoint["size"]

    def finish(self, *, uncovered: bool = False) -> str:
        """Check that every checkpoint was reached and, unless uncovered entries are
        expected (the live log runs ahead of its checkpoints), that the last covers every
        entry; a summary."""
        if self.next < len(self.checkpoints):
            size = self.checkpoints[self.next]["size"]
            reason = f"the checkpoint of size {size} covers entries that are missing"
            raise Failed(Failure(self.peaks.size, reason))
        if self.covered != self.peaks.size and not uncovered:
            raise Failed(Failure(self.covered, "no checkpoint covers this entry or those after"))
        count = len(self.checkpoints)
        summary = f"ok: {self.peaks.size} entries, {count} checkpoint{'' if count == 1 else 's'}"
        if self.checkpoints:
            last = self.checkpoints[-1]
            summary += f" (latest: size {last['size']}, rootHash {last['rootHash']})"
        return summary


def checkpoint_problem(
    checkpoint: dict[str, Any], public_key: Ed25519PublicKey, raw_key: str
) -> str | None:
    """Why a checkpoint is not signed by the key (None when it is)."""
    if checkpoint["publicKey"] != raw_key:
        return "it names another public key"
    try:
        signature = base64.b64decode(checkpoint["signature"], validate=True)
        text = signed_text(
            checkpoint["origin"], checkpoint["size"], checkpoint["rootHash"], checkpoint["time"]
        )
        public_key.verify(signature, text)
    except (InvalidSignature, binascii.Error, ValueError):
        return "its signature does not verify"
    return None


def read_checkpoints(lines: Iterable[bytes]) -> list[dict[str, Any]]:
    """The checkpoints of checkpoints.jsonl, checked for form and increasing sizes."""
    found: list[dict[str, Any]] = []
    for number, line in enumerate(lines, 1):
        try:
            checkpoint = json.loads(line)
        except ValueError:
            checkpoint = None
        if not isinstance(checkpoint, dict) or sorted(checkpoint) != CHECKPOINT_FIELDS:
            raise ValueError(f"checkpoints.jsonl line {number}: not a checkpoint")
        size = checkpoint["size"]
        if type(size) is not int or size <= (found[-1]["size"] if found else 0):
            raise ValueError(f"checkpoints.jsonl line {number}: sizes must increase")
        texts = [checkpoint[name] for name in CHECKPOINT_FIELDS if name != "size"]
        if not all(isinstance(text, str) for text in texts):
            raise ValueError(f"checkpoints.jsonl line {number}: not a checkpoint")
        found.append(checkpoint)
    return found


def lines(path: Path) -> Iterator[bytes]:
    """The lines of a file, without their line ends."""
    with path.open("rb") as file:
        for line in file:
            yield line[:-1] if line.endswith(b"\n") else line


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM (ValueError for anything else)."""
    key = load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def verify_bundle(folder: Path, public_key_file: Path | None = None) -> str:
    """Check a bundle; its summary, or Failed at the first position that does not hold
    (ValueError or OSError when the bundle cannot be read)."""
    key = load_public_key((public_key_file or folder / "public-key.pem").read_bytes())
    checker = Checker(key, read_checkpoints(lines(folder / "checkpoints.jsonl")))
    for entry in lines(folder / "entries.jsonl"):
        checker.leaf(entry)
    return checker.finish()


def main(argv: list[str] | None = None) -> int:
    """The verifier's command line."""
    parser = argparse.ArgumentParser(description="Verify an audit bundle of the service.")
    parser.add_argument("folder", nargs="?", type=Path, default=Path(__file__).resolve().parent)
    parser.add_argument("--public-key", type=Path, help="PEM file (default: the bundle's)")
    options = parser.parse_args(argv)
    try:
        print(verify_bundle(options.folder, options.public_key))
    except Failed as failed:
        print(failed.failure)
        return 1
    except (OSError, ValueError) as error:
        print(f"cannot read the bundle: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
