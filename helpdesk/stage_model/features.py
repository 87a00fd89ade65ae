"""What the classifier reads of a text: hashed word 1–2-grams and character 3–5-grams.

Many texts at once (training, evaluation) go through scikit-learn's ``HashingVectorizer``. One
text at a time (intake) takes a faster road to the same numbers: HashingVectorizer's per-call
overhead and its Python loop over a thousand character n-grams were most of a prediction's
CPU, so the character n-grams of plain-ASCII words are cut and hashed (MurmurHash3, as
scikit-learn hashes) in a few NumPy operations over the whole text. A test holds both roads
equal on every kind of text.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.utils import murmurhash3_32

# 2**17 columns each (powers of two, see _columns): few collisions at helpdesk sizes, and the
# weights stay small.
WORD_FEATURES = 2**17
CHAR_FEATURES = 2**17
CHAR_NGRAMS = (3, 5)

_WORDS = HashingVectorizer(
    analyzer="word", ngram_range=(1, 2), n_features=WORD_FEATURES, alternate_sign=False
)
_CHARS = HashingVectorizer(
    analyzer="char_wb", ngram_range=CHAR_NGRAMS, n_features=CHAR_FEATURES, alternate_sign=False
)
word_terms = _WORDS.build_analyzer()


def many_texts(texts: Sequence[str]) -> sparse.csr_matrix:
    """The features of many texts, one row each (word columns first, then character ones)."""
    return sparse.hstack([_WORDS.transform(texts), _CHARS.transform(texts)], format="csr")


def word_features(text: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """One text's word columns, their L2-normalised counts, and a term of each column (the
    first seen), as HashingVectorizer would count them."""
    terms = word_terms(text)
    hashes = np.fromiter((murmurhash3_32(term, 0) for term in terms), np.int64, len(terms))
    columns, first, counts = np.unique(
        _columns(hashes, WORD_FEATURES), return_index=True, return_counts=True
    )
    return columns, _normalised(counts), [terms[i] for i in first.tolist()]


def char_features(text: str) -> tuple[np.ndarray, np.ndarray]:
    """One text's character columns and their L2-normalised counts, as HashingVectorizer's
    ``char_wb`` analyzer would count them: the n-grams of each word padded with a space on
    either side."""
    words = text.lower().split()
    plain = [word for word in words if word.isascii()]
    hashes = [_plain_gram_hashes(plain)] if plain else []
    hashes += [_gram_hashes(word) for word in words if not word.isascii()]
    if not hashes:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    columns, counts = np.unique(_columns(np.concatenate(hashes), CHAR_FEATURES), return_counts=True)
    return columns, _normalised(counts)


def _normalised(counts: np.ndarray) -> np.ndarray:
    values = counts.astype(float)
    return values / np.sqrt(values @ values)


def _columns(hashes: np.ndarray, width: int) -> np.ndarray:
    # As FeatureHasher: |signed hash| mod width (its one special case, -2**31, lands the same
    # way for a power-of-two width).
    return np.abs(hashes) % width


def _gram_hashes(word: str) -> np.ndarray:
    """The signed hashes of one word's n-grams, one call each (words with non-ASCII letters,
    whose characters are not one byte each)."""
    padded = f" {word} "
    grams = [
        padded[i : i + n]
        for n in range(CHAR_NGRAMS[0], CHAR_NGRAMS[1] + 1)
        for i in range(len(padded) - n + 1)
    ]
    return np.fromiter((murmurhash3_32(gram, 0) for gram in grams), np.int64, len(grams))


# MurmurHash3 (x86, 32 bits, seed 0) constants.
_C1, _C2 = np.uint32(0xCC9E2D51), np.uint32(0x1B873593)


def _plain_gram_hashes(words: list[str]) -> np.ndarray:
    """The signed hashes of every 3-, 4- and 5-gram of ASCII ``words`` (each padded), all at
    once: MurmurHash3_x86_32 of keys this short is one 4-byte block at most, then a tail."""
    padded = " " + "  ".join(words) + " "
    # Two zero bytes past the end, so every 3-gram start can read five.
    data = np.frombuffer(padded.encode("ascii") + b"\0\0", dtype=np.uint8).astype(np.uint32)
    # Which padded word each byte belongs to (-1 past the end): an n-gram never spans two.
    owner = np.repeat(np.arange(len(words)), [len(word) + 2 for word in words])
    owner = np.concatenate([owner, [-1, -1]])
    starts = np.flatnonzero(owner[:-2] == np.roll(owner, -2)[:-2])
    first4 = data[starts] | data[starts + 1] << 8 | data[starts + 2] << 16
    three = _mixed(first4)
    first4 |= data[starts + 3] << 24
    block = _rotated(_mixed(first4), 13) * np.uint32(5) + np.uint32(0xE6546B64)
    owner_at = owner[starts]
    four = owner[starts + 3] == owner_at
    five = owner[starts + 4] == owner_at
    hashes = np.concatenate(
        [
            three ^ np.uint32(3),
            block[four] ^ np.uint32(4),
            block[five] ^ _mixed(data[starts[five] + 4]) ^ np.uint32(5),
        ]
    )
    return _finalised(hashes).astype(np.int32).astype(np.int64)


def _mixed(k: np.ndarray) -> np.ndarray:
    return _rotated(k * _C1, 15) * _C2


def _rotated(x: np.ndarray, r: int) -> np.ndarray:
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def _finalised(h: np.ndarray) -> np.ndarray:
    h ^= h >> 16
    h *= np.uint32(0x85EBCA6B)
    h ^= h >> 13
    h *= np.uint32(0xC2B2AE35)
    h ^= h >> 16
    return h
