"""The Merkle tree of the checkpoint log follows RFC 9162 2.1: published roots, proofs and their checks."""

from __future__ import annotations

import hashlib

import pytest

from engine.audit import merkle

# The Certificate Transparency reference inputs and the roots of their first n leaves (n = 0..8).
CT_INPUTS = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_LEAVES = [merkle.leaf_hash(bytes.fromhex(h)) for h in CT_INPUTS]


def leaves(n: int) -> list[bytes]:
    return [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


# The RFC's recursive definitions, transcribed literally (slices, no shortcuts), to check the fast tree.
def rfc_mth(d: list[bytes]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return d[0]
    k = 1 << ((len(d) - 1).bit_length() - 1)
    return merkle.node_hash(rfc_mth(d[:k]), rfc_mth(d[k:]))


def rfc_path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = 1 << ((len(d) - 1).bit_length() - 1)
    if m < k:
        return [*rfc_path(m, d[:k]), rfc_mth(d[k:])]
    return [*rfc_path(m - k, d[k:]), rfc_mth(d[:k])]


def test_roots_match_the_published_reference_roots():
    for n, want in enumerate(CT_ROOTS):
        assert merkle.root_of(CT_LEAVES[:n]).hex() == want, n


def test_leaf_and_node_hashes_are_domain_separated():
    assert merkle.leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    a, b = merkle.leaf_hash(b"a"), merkle.leaf_hash(b"b")
    assert merkle.node_hash(a, b) == hashlib.sha256(b"\x01" + a + b).digest()
    assert merkle.leaf_hash(a + b) != merkle.node_hash(a, b)  # a node cannot pass for a leaf


def test_published_inclusion_proof_of_leaf_0_in_8():
    proof = merkle.MerkleTree(CT_LEAVES).inclusion_proof(0)
    assert [p.hex() for p in proof] == [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ]


@pytest.mark.parametrize("n", range(1, 42))
def test_tree_equals_rfc_recursion_and_every_inclusion_proof_verifies(n):
    d = leaves(n)
    tree = merkle.MerkleTree(d)
    assert tree.root == rfc_mth(d)
    for i in range(n):
        proof = tree.inclusion_proof(i)
        assert proof == rfc_path(i, d)
        assert merkle.verify_inclusion(i, n, d[i], proof, tree.root)


@pytest.mark.parametrize("n", [1, 2, 5, 8, 13])
def test_inclusion_check_refuses_a_wrong_leaf_index_root_or_path(n):
    d = leaves(n)
    tree = merkle.MerkleTree(d)
    for i in range(n):
        proof = tree.inclusion_proof(i)
        other = merkle.leaf_hash(b"forged")
        assert not merkle.verify_inclusion(i, n, other, proof, tree.root)
        assert not merkle.verify_inclusion(n, n, d[i], proof, tree.root)
        assert not merkle.verify_inclusion(i, n, d[i], proof, other)
        if proof:
            bent = [*proof[:-1], bytes(32)]
            assert not merkle.verify_inclusion(i, n, d[i], bent, tree.root)
            assert not merkle.verify_inclusion(i, n, d[i], proof[:-1], tree.root)
            if i + 1 < n:
                assert not merkle.verify_inclusion(i + 1, n, d[i], proof, tree.root)


@pytest.mark.parametrize("n", range(1, 34))
def test_every_consistency_proof_verifies(n):
    d = leaves(n)
    new_root = merkle.root_of(d)
    for m in range(0, n + 1):
        proof = merkle.consistency_proof(m, d)
        assert merkle.verify_consistency(m, n, merkle.root_of(d[:m]), new_root, proof), (m, n)


@pytest.mark.parametrize("m,n", [(1, 2), (2, 5), (3, 7), (4, 8), (6, 8), (5, 13), (8, 16), (7, 33)])
def test_consistency_check_refuses_a_rewritten_prefix(m, n):
    d = leaves(n)
    proof = merkle.consistency_proof(m, d)
    new_root = merkle.root_of(d)
    rewritten = list(d)
    rewritten[m - 1] = merkle.leaf_hash(b"rewritten")
    # A log that changed an old leaf cannot prove its new tree extends the old one.
    assert not merkle.verify_consistency(m, n, merkle.root_of(d[:m]), merkle.root_of(rewritten), proof)
    forged_proof = merkle.consistency_proof(m, rewritten)
    assert not merkle.verify_consistency(m, n, merkle.root_of(d[:m]), merkle.root_of(rewritten), forged_proof)
    assert not merkle.verify_consistency(n, m, new_root, merkle.root_of(d[:m]), proof)
    assert not merkle.verify_consistency(m, n, merkle.root_of(d[:m]), new_root, [])


def test_equal_sizes_need_equal_roots_and_an_empty_proof():
    d = leaves(5)
    root = merkle.root_of(d)
    assert merkle.verify_consistency(5, 5, root, root, [])
    assert not merkle.verify_consistency(5, 5, root, merkle.root_of(leaves(4)), [])
    assert not merkle.verify_consistency(5, 5, root, root, [root])
