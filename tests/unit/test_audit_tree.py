"""The audit log's tree math against RFC 9162 as written (tests/rfc9162.py), and its entries'
canonical check against the rfc8785 package."""

from __future__ import annotations

import json
import math
from functools import partial
from typing import Any

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from infrastructure.auditverify import Failed, Peaks, checked_entry, leaf_hash
from infrastructure.merkle import (
    Node,
    complete_subtrees,
    consistency,
    fold,
    from_nodes,
    inclusion,
    nodes_needed,
)
from tests.rfc9162 import mth, verify_consistency, verify_inclusion

ENTRIES = [f"entry {n}".encode() for n in range(70)]


def stored_nodes(entries: list[bytes]) -> dict[Node, bytes]:
    """Every complete subtree's hash, computed by the RFC's MTH, as the log stores them."""
    nodes = {}
    for level in range(len(entries).bit_length()):
        width = 1 << level
        for index in range(len(entries) // width):
            nodes[level, index] = mth(entries[index * width : (index + 1) * width])
    return nodes


NODES = stored_nodes(ENTRIES)


@pytest.mark.parametrize("size", range(1, 71))
def test_the_root_from_stored_subtrees_and_from_the_stream_is_the_rfc_tree_head(
    size: int,
) -> None:
    peaks = Peaks()
    for entry in ENTRIES[:size]:
        peaks.append(leaf_hash(entry))
    expected = mth(ENTRIES[:size])
    assert peaks.root() == expected
    assert fold([NODES[node] for node in complete_subtrees(0, size)]) == expected


@pytest.mark.parametrize("size", range(1, 71))
def test_every_inclusion_proof_verifies_as_the_rfc_says(size: int) -> None:
    root = mth(ENTRIES[:size])
    for index in range(size):
        path = inclusion(index, size, from_nodes(NODES))
        assert verify_inclusion(index, size, leaf_hash(ENTRIES[index]), path, root)
        other = leaf_hash(ENTRIES[(index + 1) % size] + b"!")
        assert not verify_inclusion(index, size, other, path, root)
        if path:
            assert not verify_inclusion(index, size, leaf_hash(ENTRIES[index]), path[:-1], root)


@pytest.mark.parametrize("second", range(1, 71))
def test_every_consistency_proof_verifies_as_the_rfc_says(second: int) -> None:
    second_root = mth(ENTRIES[:second])
    for first in range(1, second + 1):
        first_root = mth(ENTRIES[:first])
        path = consistency(first, second, from_nodes(NODES))
        assert verify_consistency(first, second, first_root, second_root, path)
        if first < second:
            forged = mth([*ENTRIES[: first - 1], b"forged"])
            assert not verify_consistency(first, second, forged, second_root, path)


def test_a_proof_reads_a_logarithmic_number_of_stored_nodes() -> None:
    size = 2**40 + 2**33 + 12_345
    bound = 2 * math.ceil(math.log2(size))
    for index in (0, 1, 2**39, size // 2, size - 2, size - 1):
        assert len(nodes_needed(partial(inclusion, index, size))) <= bound
    for first in (1, 3, 2**20, size // 3, size - 1):
        assert len(nodes_needed(partial(consistency, first, size))) <= 2 * bound


TEXT = st.text(st.characters(codec="utf-8"), max_size=20)
NUMBER = st.integers(0, 2**53 - 1)


@given(
    position=NUMBER, notification=st.integers(1, 2**53 - 1), stream=TEXT, kind=TEXT, version=NUMBER
)
def test_the_verifiers_canonical_check_accepts_exactly_what_rfc8785_writes(
    position: int, notification: int, stream: str, kind: str, version: int
) -> None:
    entry: dict[str, Any] = {
        "position": position,
        "notificationId": notification,
        "stream": stream,
        "version": version,
        "type": kind,
        "storedSha256": "ab" * 32,
    }
    canonical = rfc8785.dumps(entry)
    assert checked_entry(canonical, position, notification - 1) == notification
    for other in (
        json.dumps(entry).encode(),  # spaces, the fields in another order
        json.dumps(entry, sort_keys=True, separators=(",", ":")).encode(),  # \\u escapes
        canonical.replace(b"\\n", b"\\u000a"),
        canonical[:-1] + b" }",
    ):
        if other != canonical:
            with pytest.raises(Failed, match="canonical"):
                checked_entry(other, position, notification - 1)


def test_an_entry_out_of_place_names_its_position() -> None:
    entry = rfc8785.dumps(
        {
            "position": 4,
            "notificationId": 9,
            "stream": "s",
            "version": 1,
            "type": "t",
            "storedSha256": "0" * 64,
        }
    )
    with pytest.raises(Failed, match="position 3: it says position 4"):
        checked_entry(entry, 3, 0)
    with pytest.raises(Failed, match="position 4: its notificationId is not after"):
        checked_entry(entry, 4, 9)
