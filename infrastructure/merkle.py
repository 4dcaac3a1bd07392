"""Proofs of the audit log's Merkle tree (RFC 9162 §2.1), read from its stored nodes in one
query each (docs/audit-log.md)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from infrastructure.auditverify import node_hash

Node = tuple[int, int]  # (level, index)
Subtree = Callable[[int, int], bytes]  # MTH(D[start:end])


def complete_subtrees(start: int, end: int) -> list[Node]:
    """The complete subtrees whose fold, right to left, is the hash of leaves start..end-1
    (start a multiple of a power of two at least end - start), left to right."""
    nodes = []
    for level in reversed(range((end - start).bit_length())):
        if (end - start) >> level & 1:
            nodes.append((level, start >> level))
            start += 1 << level
    return nodes


def fold(hashes: list[bytes]) -> bytes:
    """The hash of adjacent complete subtrees, given left to right (RFC 9162's MTH)."""
    root = hashes[-1]
    for left in reversed(hashes[:-1]):
        root = node_hash(left, root)
    return root


def split(size: int) -> int:
    """RFC 9162's k: the largest power of two smaller than size (size > 1)."""
    return 1 << (size - 1).bit_length() - 1


def inclusion(index: int, size: int, subtree: Subtree) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 9162 §2.1.3.1, nearest the leaf first."""
    path, start, end = [], 0, size
    while end - start > 1:
        k = split(end - start)
        if index - start < k:
            path.append(subtree(start + k, end))
            end = start + k
        else:
            path.append(subtree(start, start + k))
            start += k
    return path[::-1]


def consistency(first: int, second: int, subtree: Subtree) -> list[bytes]:
    """PROOF(first, D[0:second]) of RFC 9162 §2.1.4.1 (0 < first <= second), the deepest
    hash first."""
    path, start, end, whole, m = [], 0, second, True, first
    while m != end - start:
        k = split(end - start)
        if m <= k:
            path.append(subtree(start + k, end))
            end = start + k
        else:
            path.append(subtree(start, start + k))
            start, m, whole = start + k, m - k, False
    if not whole:
        path.append(subtree(start, end))
    return path[::-1]


def nodes_needed(proof: Callable[[Subtree], object]) -> set[Node]:
    """The stored nodes a proof reads (its steps depend on sizes only, not on hashes)."""
    needed: set[Node] = set()

    def note(start: int, end: int) -> bytes:
        needed.update(complete_subtrees(start, end))
        return b""

    proof(note)
    return needed


def from_nodes(nodes: Mapping[Node, bytes]) -> Subtree:
    """MTH(D[start:end]) from the complete subtrees read (KeyError if one is missing)."""

    def subtree(start: int, end: int) -> bytes:
        return fold([nodes[node] for node in complete_subtrees(start, end)])

    return subtree
