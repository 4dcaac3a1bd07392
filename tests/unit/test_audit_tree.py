"""The audit log's tree math against RFC 9162 as written (tests/rfc9162.py), and its entries'
canonical check against the rfc8785 package."""

from __future__ import annotations

import json
import math
from functools import partial
from typing import Any

import pytest
import rfc8785
from hypothesis import example, given
from hypothesis import strategies as st

from infrastructure.auditverify import CANONICAL_ENTRY, Failed, leaf_hash, walk
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


def entry(position: int, notification_id: int | None = None) -> bytes:
    """A canonical entry of a position."""
    return rfc8785.dumps(
        {
            "position": position,
            "notificationId": notification_id or position + 1,
            "stream": f"stream {position // 4}",
            "version": position % 4 + 1,
            "type": "domain.assessment:Assessment.Scored",
            "storedSha256": f"{position:064x}",
        }
    )


ENTRIES = [entry(position) for position in range(70)]


def stored_nodes(entries: list[bytes]) -> dict[Node, bytes]:
    """Every complete subtree's hash, computed by the RFC's MTH, as the log stores them."""
    nodes = {}
    for level in range(len(entries).bit_length()):
        width = 1 << level
        for index in range(len(entries) // width):
            nodes[level, index] = mth(entries[index * width : (index + 1) * width])
    return nodes


NODES = stored_nodes(ENTRIES)


def test_the_root_from_stored_subtrees_and_from_the_verifiers_walk_is_the_rfc_tree_head() -> None:
    roots: dict[int, bytes] = {}
    count = walk(ENTRIES, range(1, 71), roots.__setitem__)
    assert count == 70
    for size in range(1, 71):
        expected = mth(ENTRIES[:size])
        assert roots[size] == expected
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
@example(position=0, notification=1, stream="", kind="\\n", version=0)  # found on CI
def test_the_verifiers_canonical_form_is_exactly_what_rfc8785_writes(
    position: int, notification: int, stream: str, kind: str, version: int
) -> None:
    fields: dict[str, Any] = {
        "position": position,
        "notificationId": notification,
        "stream": stream,
        "version": version,
        "type": kind,
        "storedSha256": "ab" * 32,
    }
    canonical = rfc8785.dumps(fields)
    found = CANONICAL_ENTRY.fullmatch(canonical)
    assert found is not None
    assert (int(found[1]), int(found[2])) == (notification, position)
    for other in (
        json.dumps(fields).encode(),  # spaces, the fields in another order
        json.dumps(fields, sort_keys=True, separators=(",", ":")).encode(),  # \u escapes
        canonical.replace(b"\\n", b"\\u000a"),
        canonical.replace(b"\\u001f", b"\\u001F"),
        canonical[:-1] + b" }",
    ):
        # A variant may be canonical after all (`\\n` holds `\n` too: the replacement then
        # spells another string canonically): RFC 8785 itself says which it is.
        is_canonical = other == rfc8785.dumps(json.loads(other))
        assert (CANONICAL_ENTRY.fullmatch(other) is not None) == is_canonical, other


def test_an_entry_out_of_place_or_out_of_order_names_its_position() -> None:
    def first_failure(entries: list[bytes]) -> str:
        with pytest.raises(Failed) as failed:
            walk(entries, [], lambda size, root: None)
        return str(failed.value)

    assert first_failure([ENTRIES[0], ENTRIES[2]]) == (
        "FAIL at position 1: it says position 2: an entry is missing, added or moved"
    )
    assert first_failure([ENTRIES[0], entry(1, notification_id=1)]) == (
        "FAIL at position 1: its notificationId is not after the previous one's"
    )
    not_utf8 = ENTRIES[1].replace(b"stream 0", b"stream \xff")
    assert first_failure([ENTRIES[0], not_utf8]) == (
        "FAIL at position 1: not an entry in canonical JSON (RFC 8785)"
    )
