"""Feature hashing against the real Vowpal Wabbit as the oracle."""

from __future__ import annotations

import functools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlservice import hashing

pyvw = pytest.importorskip("vowpalwabbit.pyvw")


@functools.cache
def vw(bits: int, ngrams: int):
    # Sparse weights: -b 31 would otherwise allocate 2^31 weights.
    return pyvw.Workspace(f"--ngram {ngrams} -b {bits} --noconstant --quiet --sparse_weights")


def vw_counts(text: str, bits: int, ngrams: int) -> list[int]:
    workspace = vw(bits, ngrams)
    example = workspace.example("| " + text)
    counts = [0] * (1 << bits)
    for index, _value in example.iter_features():
        counts[index & ((1 << bits) - 1)] += 1
    workspace.finish_example(example)
    return counts


TEXTS = [
    "This is a good day",
    "",
    "   ",
    "\t",
    "word",
    "  leading and  repeated   spaces ",
    "tabs\tbetween\t\twords",
    "digits 123 0 007 4294967296 99999999999999999999999 12ab",
    'punctuation! isn\'t, great? (yes) - no. "quoted" #hash @at $5 & 100%',
    "café naïve résumé Ünïcödé",
    "日本語 のテキスト 中文 한국어",
    "emoji 🙂 👍🏽 combined",
    "the the the the the the",
    "a b c d e f g h i j k l m n o p",
    "I bought this book for my daughter and she loved it. Highly recommended; five stars!",
    "\x01edge\x02 control\x03 chars",
]


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("bits", [1, 3, 10, 18, 31])
@pytest.mark.parametrize("ngrams", [0, 1, 2, 3, 10])
def test_it_matches_vowpal_wabbit(text, bits, ngrams):
    if bits == 31:
        # 2^31 buckets do not fit a list; compare the indices instead.
        workspace = vw(bits, ngrams)
        example = workspace.example("| " + text)
        expected = sorted(index & ((1 << bits) - 1) for index, _ in example.iter_features())
        workspace.finish_example(example)
        assert sorted(hashing.FeatureHasher(bits, ngrams).indices(text)) == expected
        return
    assert hashing.hash_text(text, bits, ngrams) == vw_counts(text, bits, ngrams)


def test_it_gives_the_guides_example():
    assert hashing.hash_text("This is a good day", 3, 2) == [1, 1, 2, 2, 0, 2, 0, 1]


alphabet = st.sampled_from(list("abcXYZ019.,!?'\"-_#éü日🙂") + [" ", " ", " ", "\t"])


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet, max_size=60), bits=st.integers(1, 16), ngrams=st.integers(0, 5))
def test_it_matches_vowpal_wabbit_on_random_text(text, bits, ngrams):
    assert hashing.hash_text(text, bits, ngrams) == vw_counts(text, bits, ngrams)


@pytest.mark.parametrize("token", ["a|b", "|", "key:value", ":", "a:1", "|ns", "x:y:z"])
def test_it_hashes_vw_special_characters_as_ordinary_characters(token):
    # A cell is data, not VW syntax: the token is hashed whole, exactly as VW's
    # own hasher hashes that string.
    bits = 18
    expected = vw(bits, 1).hash_feature(token, 0)
    assert hashing.FeatureHasher(bits, 1).indices(token) == [expected]
    assert sum(hashing.hash_text(f"left {token} right", 4, 2)) == 5


def test_it_splits_on_line_breaks_like_on_spaces():
    assert hashing.hash_text("good\nday\r\nnow", 10, 2) == hashing.hash_text("good day now", 10, 2)


def test_it_treats_n_grams_zero_as_unigrams_only():
    assert hashing.hash_text("This is a good day", 3, 0) == hashing.hash_text("This is a good day", 3, 1)
    assert sum(hashing.hash_text("This is a good day", 3, 0)) == 5


def test_it_rejects_parameters_out_of_range():
    for bits, ngrams in [(0, 2), (32, 2), (3, -1), (3, 11)]:
        with pytest.raises(ValueError):
            hashing.FeatureHasher(bits, ngrams)


def test_the_pure_python_murmur_matches_mmh3():
    for data in [b"", b"a", b"ab", b"abc", b"abcd", b"abcde", "日本語".encode(), bytes(range(256))]:
        assert hashing._murmur3_32_py(data) == hashing.murmur3_32(data)
        assert hashing._murmur3_32_py(data, 42) == hashing.murmur3_32(data, 42)


def test_it_names_the_columns_like_azureml():
    assert hashing.feature_names("Col2", 3) == [f"Col2_HashingFeature.{i}" for i in range(8)]
