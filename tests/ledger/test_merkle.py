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
    # the literal values printed in the document
    assert leaf_digest("11" * 32).hex() == "4635e1fa62a599a7880a8d14a56f720a1d40f6e5448ab5a5e39bedc8bd87fa8e"
    assert VECTOR_ROOT_OF_THREE == "9bee4401962e94b921336a7910a5a9718836ffcbc545dde0a3f34d858beb5752"
    assert VECTOR_BLOCK_1 == "03306a5280ae91e92ef74ba9e6bc4db2d110110e24bb84ba84b7fea60afa43fc"
    assert merkle_path(three, 0) == [
        ["R", "bc6f27de60abf5319d16ff4c98fe3c42022c84f6a7a2b207c8df19b0ec3d8d58"],
        ["R", "5e5caeafc27155c368b6f201107d6f8b270747ce636ac5174a56c6e12ef89ad1"],
    ]


def test_canonical_content_vector():
    import datetime as dt

    from ledger.chain import canonical_content, content_hash

    content = dict(
        idempotency_key="demo:1", kind="adjustment", community_id=1,
        created_at=dt.datetime(2026, 11, 1, 2, 0, tzinfo=dt.UTC), memo="开户", actor_id=None, location=None,
        details={}, reverses_id=None, related_id=None, lines=[(7, "COIN", 10), (3, "COIN", -10)],
    )
    assert canonical_content(**content).startswith('{"actor":null,"at":"2026-11-01T02:00:00.000000+00:00"')
    assert content_hash(**content) == "4402ac88f0064ec0a13cab8efaf9afbb8350acb17e9c65d346c7ce615ae8df38"


def _node(a: bytes, b: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + a + b).digest()


_L = [hashlib.sha256(b"\x00" + bytes.fromhex(h)).digest() for h in ("11" * 32, "22" * 32, "33" * 32)]
VECTOR_NODE_01 = _node(_L[0], _L[1]).hex()
VECTOR_ROOT_OF_THREE = _node(_node(_L[0], _L[1]), _L[2]).hex()
VECTOR_BLOCK_1 = hashlib.sha256(("0" * 64 + VECTOR_ROOT_OF_THREE).encode()).hexdigest()
