"""Vowpal Wabbit's feature hashing, as AzureML Studio's Feature Hashing module does it.

A pure module (no Django): the RRS view, the BES worker, the dashboard's Test
form and the benchmarks all call it.

What VW does to one cell, and therefore what we do:

* The text is split into tokens on white space. No lower-casing, no other
  processing. We split on ASCII white space (space, tab, CR, LF, VT, FF), like
  ``bytes.split()``; VW's line format only ever sees spaces and tabs inside a
  line, so CR/LF/VT/FF could not reach it as separators anyway. Non-ASCII
  spaces (U+00A0, U+3000, ...) are part of a token, as they are for VW.
* A token's hash is VW's ``hashstring`` with seed 0 (the default namespace):
  control characters (bytes <= 0x20) at either end of the token are trimmed;
  a token made only of ASCII digits hashes to its own integer value; anything
  else is MurmurHash3 x86 32-bit of its UTF-8 bytes. The hash is masked to
  ``bits`` bits at once (VW's parse mask).
* N-grams follow ``--ngram N``: all 1..N-grams of consecutive tokens, an
  n-gram's index being ``((h1 * 27942141 + h2) * 27942141 + h3) ...`` over the
  masked unigram hashes, masked again. N=0 behaves like N=1 (unigrams only),
  exactly as ``vw --ngram 0`` does.
* The output for a cell is 2^bits counts: how many n-grams fell in bucket i.

Cells are data, not VW syntax: ``|`` and ``:`` are ordinary characters of a
token here (VW's text format would read them as a namespace and a feature
value). The tests check such tokens against VW's own hasher instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

try:  # mmh3 is a C extension; the pure-Python fallback keeps the module usable without it.
    from mmh3 import hash as _mmh3_hash

    def murmur3_32(data: bytes, seed: int = 0) -> int:
        return _mmh3_hash(data, seed, False)

except ImportError:  # pragma: no cover - exercised only where mmh3 is missing
    _mmh3_hash = None

    def murmur3_32(data: bytes, seed: int = 0) -> int:
        return _murmur3_32_py(data, seed)


QUADRATIC_CONSTANT = 27942141  # VW's constant for combining feature indices
MIN_BITS, MAX_BITS, DEFAULT_BITS = 1, 31, 10
MIN_NGRAMS, MAX_NGRAMS, DEFAULT_NGRAMS = 0, 10, 2

# Bytes VW's hashstring trims from both ends of a token that bytes.split() keeps.
_EDGE_CONTROL = bytes(b for b in range(0x21) if b not in b" \t\n\r\x0b\x0c")
_HAS_CONTROL = re.compile(rb"[\x00-\x08\x0e-\x1f]").search
# str() of small counts, looked up rather than formatted for every cell.
_SMALL = [str(n) for n in range(4096)]


def _murmur3_32_py(data: bytes, seed: int = 0) -> int:
    """MurmurHash3 x86 32-bit, the reference algorithm (used only without mmh3)."""
    c1, c2, mask = 0xCC9E2D51, 0x1B873593, 0xFFFFFFFF
    h = seed & mask
    n = len(data) // 4 * 4
    for i in range(0, n, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        k = (k * c2) & mask
        h ^= k
        h = ((h << 13) | (h >> 19)) & mask
        h = (h * 5 + 0xE6546B64) & mask
    tail = data[n:]
    k = 0
    if len(tail) >= 3:
        k ^= tail[2] << 16
    if len(tail) >= 2:
        k ^= tail[1] << 8
    if tail:
        k ^= tail[0]
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        k = (k * c2) & mask
        h ^= k
    h ^= len(data)
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & mask
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & mask
    h ^= h >> 16
    return h


def hash_token(token: bytes) -> int:
    """VW's hashstring(token, seed 0), unmasked."""
    token = token.strip(_EDGE_CONTROL)
    if token.isdigit():  # bytes.isdigit(): ASCII digits only, like VW
        return int(token) & 0xFFFFFFFFFFFFFFFF
    return murmur3_32(token)


def validate(bits: int, ngrams: int) -> None:
    if not (MIN_BITS <= bits <= MAX_BITS):
        raise ValueError(f"Hashing bitsize must be between {MIN_BITS} and {MAX_BITS}, not {bits}.")
    if not (MIN_NGRAMS <= ngrams <= MAX_NGRAMS):
        raise ValueError(f"N-grams must be between {MIN_NGRAMS} and {MAX_NGRAMS}, not {ngrams}.")


def feature_names(column: str, bits: int) -> list[str]:
    return [f"{column}_HashingFeature.{i}" for i in range(1 << bits)]


class FeatureHasher:
    """Feature Hashing with fixed parameters; ``counts(text)`` gives one row's buckets."""

    def __init__(self, bits: int = DEFAULT_BITS, ngrams: int = DEFAULT_NGRAMS) -> None:
        validate(bits, ngrams)
        self.bits = bits
        self.ngrams = max(ngrams, 1)
        self.size = 1 << bits
        self.mask = self.size - 1
        # A memo of token -> masked hash: review text repeats its words a lot,
        # and a dict lookup is cheaper than a call into mmh3. Bounded so that a
        # stream of unique tokens cannot grow it without limit.
        self._memo: dict[bytes, int] = {}

    def _hash(self, token: bytes, control: bool) -> int:
        if control or token.isdigit():
            h = hash_token(token) & self.mask
        else:
            h = murmur3_32(token) & self.mask
        if len(self._memo) < 200_000:
            self._memo[token] = h
        return h

    def indices(self, text: str) -> list[int]:
        """The masked bucket index of every n-gram of ``text``, in VW's order."""
        data = text.encode("utf-8")
        tokens = data.split()
        if not tokens:
            return []
        mask = self.mask
        get = self._memo.get
        hashes = list(map(get, tokens))
        if None in hashes:
            control = _HAS_CONTROL(data) is not None
            hashes = [self._hash(t, control) if h is None else h for t, h in zip(tokens, hashes, strict=True)]
        out = list(hashes)
        n = len(hashes)
        if self.ngrams >= 2 and n >= 2:
            c = QUADRATIC_CONSTANT
            # Bigrams, the common case, in one comprehension.
            out += [(a * c + b) & mask for a, b in zip(hashes, hashes[1:], strict=False)]
            for gram in range(3, min(self.ngrams, n) + 1):
                for i in range(n - gram + 1):
                    index = hashes[i]
                    for j in range(i + 1, i + gram):
                        index = index * c + hashes[j]
                    out.append(index & mask)
        return out

    def counts(self, text: str) -> list[int]:
        buckets = [0] * self.size
        for index in self.indices(text):
            buckets[index] += 1
        return buckets

    def count_strings(self, text: str) -> list[str]:
        """One row's buckets as the strings AzureML puts in every cell."""
        counts = self.counts(text)
        if len(text) * self.ngrams < len(_SMALL):  # a count never exceeds the number of n-grams
            return list(map(_SMALL.__getitem__, counts))
        return list(map(str, counts))

    def transform(self, texts: Iterable[str]) -> Iterable[list[int]]:
        return map(self.counts, texts)


def hash_text(text: str, bits: int = DEFAULT_BITS, ngrams: int = DEFAULT_NGRAMS) -> list[int]:
    return FeatureHasher(bits, ngrams).counts(text)


def format_counts(counts: Sequence[int]) -> str:
    return " ".join(map(str, counts))
