"""Verifying the audit log: one file that needs only Python's standard library and the
`cryptography` package (40 or later).

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
from collections.abc import Callable, Iterable, Iterator
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


def root_of(peaks: list[bytes]) -> bytes:
    """The root of a tree from its complete subtrees' roots, largest first (RFC 9162's MTH:
    each split is at the largest power of two below the size)."""
    root = peaks[-1]
    for left in reversed(peaks[:-1]):
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


def walk(
    entries: Iterable[bytes], sizes: Iterable[int], reached: Callable[[int, bytes], None]
) -> int:
    """Check that each entry is the canonical one of its position (notification ids
    increasing), hash it into the tree, and call reached(size, root) at each of the sizes
    (increasing); return how many entries there were. Failed names the first position that
    does not hold. One loop with everything inline: it runs once per entry."""
    match, sha256 = CANONICAL_ENTRY.fullmatch, hashlib.sha256
    peaks: list[bytes] = []  # roots of the complete subtrees, largest first
    size = previous_id = 0
    wanted = iter(sizes)
    due = next(wanted, None)
    for line in entries:
        found = match(line)
        if found is None or not (line.isascii() or _utf8(line)):
            raise Failed(Failure(size, "not an entry in canonical JSON (RFC 8785)"))
        said, notification_id = int(found[2]), int(found[1])
        if said != size:
            reason = f"it says position {said}: an entry is missing, added or moved"
            raise Failed(Failure(size, reason))
        if notification_id <= previous_id:
            raise Failed(Failure(size, "its notificationId is not after the previous one's"))
        previous_id = notification_id
        digest = sha256(b"\x00" + line).digest()
        size += 1
        merging = size
        while not merging & 1:  # the subtrees this leaf completes
            digest = sha256(b"\x01" + peaks.pop() + digest).digest()
            merging >>= 1
        peaks.append(digest)
        if size == due:
            reached(size, root_of(peaks))
            due = next(wanted, None)
    return size


def _utf8(line: bytes) -> bool:
    try:
        line.decode()
    except UnicodeDecodeError:
        return False
    return True


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


def check(
    entries: Iterable[bytes],
    checkpoints: list[dict[str, Any]],
    public_key: Ed25519PublicKey,
    *,
    uncovered: bool = False,
) -> str:
    """Check entries against signed checkpoints: every checkpoint signed by the key, with
    the root of the entries up to its size, and (unless the log may run ahead of its
    checkpoints: uncovered) the last covering every entry. A summary, or Failed."""
    raw_key = raw_public_key(public_key)
    by_size = {checkpoint["size"]: checkpoint for checkpoint in checkpoints}
    covered = 0  # entries the checkpoints reached so far cover

    def reached(size: int, root: bytes) -> None:
        nonlocal covered
        checkpoint = by_size[size]
        problem = checkpoint_problem(checkpoint, public_key, raw_key)
        if problem is None and checkpoint["rootHash"] != root.hex():
            problem = f"the entries from position {covered} on do not hash to its rootHash"
        if problem:
            raise Failed(Failure(covered, f"the checkpoint of size {size}: {problem}"))
        covered = size

    count = walk(entries, sorted(by_size), reached)
    if checkpoints and checkpoints[-1]["size"] > count:
        reason = f"the checkpoint of size {checkpoints[-1]['size']} covers entries that are missing"
        raise Failed(Failure(count, reason))
    if covered != count and not uncovered:
        raise Failed(Failure(covered, "no checkpoint covers this entry or those after"))
    plural = "" if len(checkpoints) == 1 else "s"
    summary = f"ok: {count} entries, {len(checkpoints)} checkpoint{plural}"
    if checkpoints:
        last = checkpoints[-1]
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
    checkpoints = read_checkpoints(lines(folder / "checkpoints.jsonl"))
    return check(lines(folder / "entries.jsonl"), checkpoints, key)


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
