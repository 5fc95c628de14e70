"""The Merkle tree behind statement proofs: every leaf's path leads to the root, any change does not."""

from __future__ import annotations

import hashlib

import pytest

from ledger.merkle import block_hash, leaf_digest, merkle_path, merkle_root, root_from_path

HASHES = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(11)]


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7, 8, 11])
def test_every_leaf_proves_to_the_root(size):
    hashes = HASHES[:size]
    root = merkle_root(hashes)
    for index, content in enumerate(hashes):
        assert root_from_path(content, merkle_path(hashes, index)) == root


def test_a_changed_leaf_or_sibling_does_not_prove():
    root = merkle_root(HASHES)
    path = merkle_path(HASHES, 4)
    assert root_from_path(HASHES[5], path) != root
    bent = [list(step) for step in path]
    bent[0][1] = "00" * 32
    assert root_from_path(HASHES[4], bent) != root


def test_leaves_and_nodes_are_domain_separated():
    # A leaf can never pass for an inner node (the 0x00 / 0x01 prefixes differ).
    two = merkle_root(HASHES[:2])
    assert two != leaf_digest(HASHES[0]).hex()
    assert merkle_root([two]) != two


def test_vectors_of_the_published_format():
    """The test vectors in docs/statement-proofs.md."""
    assert merkle_root(["00" * 32]) == hashlib.sha256(b"\x00" + bytes(32)).hexdigest()
    three = ["11" * 32, "22" * 32, "33" * 32]
    assert merkle_root(three) == VECTOR_ROOT_OF_THREE
    assert merkle_path(three, 2) == [["L", VECTOR_NODE_01]]
    assert block_hash("0" * 64, VECTOR_ROOT_OF_THREE) == VECTOR_BLOCK_1


def _node(a: bytes, b: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + a + b).digest()


_L = [hashlib.sha256(b"\x00" + bytes.fromhex(h)).digest() for h in ("11" * 32, "22" * 32, "33" * 32)]
VECTOR_NODE_01 = _node(_L[0], _L[1]).hex()
VECTOR_ROOT_OF_THREE = _node(_node(_L[0], _L[1]), _L[2]).hex()
VECTOR_BLOCK_1 = hashlib.sha256(("0" * 64 + VECTOR_ROOT_OF_THREE).encode()).hexdigest()
