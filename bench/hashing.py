"""Feature hashing throughput: mlservice.hashing beside the vowpalwabbit package, same rows, same run.

    .venv/bin/python bench/hashing.py [--rows 20000]

Review-length texts (40 to 200 words, drawn from a Zipf-like vocabulary with
punctuation, digits and some non-ASCII words), bitsize 3 and 10, N-grams 2.
Both sides produce each row's 2^bits counts; VW's side is its Python API
(parse the example, iterate its features, count the buckets).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mlservice.hashing import FeatureHasher  # noqa: E402


def reviews(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    syllables = ["ka", "ro", "mi", "te", "lu", "sa", "no", "vi", "de", "pa", "gu", "zo", "ré", "ñu", "bö"]
    vocabulary = ["".join(rng.choice(syllables) for _ in range(rng.randint(1, 4))) for _ in range(20_000)]
    vocabulary[:12] = ["the", "a", "and", "book", "is", "I", "it", "of", "to", "this", "was", "good"]
    weights = [1 / (rank + 1) for rank in range(len(vocabulary))]
    out = []
    for _ in range(n):
        words = rng.choices(vocabulary, weights, k=rng.randint(40, 200))
        for i in range(0, len(words), rng.randint(6, 15)):
            words[i] = words[i] + rng.choice([",", ".", "!", "", "", "?"])
        if rng.random() < 0.3:
            words.append(str(rng.randint(1, 5000)))
        out.append(" ".join(words))
    return out


def ours(texts: list[str], bits: int, ngrams: int) -> float:
    hasher = FeatureHasher(bits, ngrams)
    start = time.perf_counter()
    for text in texts:
        hasher.counts(text)
    return time.perf_counter() - start


def vowpal(texts: list[str], bits: int, ngrams: int) -> float:
    from vowpalwabbit import pyvw

    vw = pyvw.Workspace(f"--ngram {ngrams} -b {bits} --noconstant --quiet")
    mask = (1 << bits) - 1
    size = 1 << bits
    start = time.perf_counter()
    for text in texts:
        example = vw.example("| " + text)
        counts = [0] * size
        for index, _ in example.iter_features():
            counts[index & mask] += 1
        vw.finish_example(example)
    elapsed = time.perf_counter() - start
    vw.finish()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20_000)
    args = parser.parse_args()
    texts = reviews(args.rows)
    words = sum(len(t.split()) for t in texts) / len(texts)
    print(f"{len(texts)} rows, {words:.0f} words per row on average, N-grams 2; load average {os.getloadavg()[0]:.1f}")
    print(f"{'bits':>4}  {'ours rows/s':>12}  {'vowpalwabbit rows/s':>20}  {'ratio':>6}")
    for bits in (3, 10):
        a = min(ours(texts, bits, 2) for _ in range(2))
        b = min(vowpal(texts, bits, 2) for _ in range(2))
        print(f"{bits:>4}  {len(texts) / a:>12,.0f}  {len(texts) / b:>20,.0f}  {b / a:>5.2f}x")


if __name__ == "__main__":
    main()
