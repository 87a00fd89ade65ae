"""The text classifier: hashed word 1–2-grams and character 3–5-grams into a logistic regression.

scikit-learn is maintained, ships wheels for this Python and needs nothing downloaded at run
time. Hashing keeps no vocabulary (nothing grows with the data), and a linear model predicts in
microseconds and can say which words weighed most. It is fitted by stochastic gradient descent
on the log loss (a logistic regression, one stage against the rest): a fraction of a second for
thousands of tickets where the full-batch solver took seconds for a hundred. Only the learned
weights are stored, as plain arrays (no pickle), so loading a stored model never runs code.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, HashingVectorizer
from sklearn.linear_model import SGDClassifier
from sklearn.utils import murmurhash3_32

from helpdesk.models import Stage
from helpdesk.stage_model.prediction import Prediction

# 2**17 columns each (powers of two, see _hashed): few collisions at helpdesk sizes, and the
# weights stay small.
WORD_FEATURES = 2**17
CHAR_FEATURES = 2**17
CHAR_NGRAMS = (3, 5)
# Fixed, so the same examples always train the same model.
RANDOM_STATE = 0

_WORDS = HashingVectorizer(
    analyzer="word", ngram_range=(1, 2), n_features=WORD_FEATURES, alternate_sign=False
)
_CHARS = HashingVectorizer(
    analyzer="char_wb", ngram_range=CHAR_NGRAMS, n_features=CHAR_FEATURES, alternate_sign=False
)
_WORD_TERMS = _WORDS.build_analyzer()


def _features(texts: Sequence[str]) -> sparse.csr_matrix:
    return sparse.hstack([_WORDS.transform(texts), _CHARS.transform(texts)], format="csr")


class StageClassifier:
    """Learned weights per stage over the hashed features of a text."""

    def __init__(self, stages: Sequence[Stage], weights: sparse.csr_matrix, bias: np.ndarray):
        self.stages = tuple(stages)
        # One row per stage; columns are the hashed features.
        self.weights = weights
        self.bias = bias
        # For one text at a time: the columns any weight is on, sorted, and their weights per
        # stage. Looking a text's few columns up here is far cheaper than a sparse product.
        self._known = np.unique(weights.indices)
        self._known_weights = weights[:, self._known].toarray().T

    @classmethod
    def train(cls, texts: Sequence[str], stages: Sequence[Stage]) -> StageClassifier:
        """Fit on texts labelled with the stages people gave them (two stages at least)."""
        model = SGDClassifier(loss="log_loss", class_weight="balanced", random_state=RANDOM_STATE)
        model.fit(_features(texts), [stage.value for stage in stages])
        known = [Stage(value) for value in model.classes_]
        weights, bias = model.coef_, model.intercept_
        if len(known) == 2:
            # A two-class fit keeps one row (for the second class); give each class its own.
            weights, bias = np.vstack([-weights, weights]), np.array([-bias[0], bias[0]])
        return cls(known, sparse.csr_matrix(weights), np.asarray(bias, dtype=float))

    def classify(self, texts: Sequence[str]) -> list[Stage]:
        """The likeliest stage of each text (many at once, as evaluation asks)."""
        scores = np.asarray((_features(texts) @ self.weights.T).todense()) + self.bias
        return [self.stages[i] for i in scores.argmax(axis=1)]

    def predict(self, text: str, words: int = 3) -> Prediction:
        """The likeliest stage of one text, with the ``words`` that weighed most for it."""
        word_columns, word_values, word_terms = _hashed(_WORD_TERMS(text), WORD_FEATURES)
        char_columns, char_values, _ = _hashed(_char_terms(text), CHAR_FEATURES)
        word_weights = self._weights_of(word_columns)
        char_weights = self._weights_of(char_columns + WORD_FEATURES)
        scores = self.bias + word_values @ word_weights + char_values @ char_weights
        # One stage against the rest: each stage's own probability, shared out to sum to 1.
        chances = 1 / (1 + np.exp(-scores))
        chances /= chances.sum()
        best = int(chances.argmax())
        # What a term adds to this stage over the average stage: what tipped the balance.
        lift = (word_weights[:, best] - word_weights.mean(axis=1)) * word_values
        # Words such as "my" or "the" weigh something but say nothing to a person.
        telling = [i for i in np.argsort(-lift) if lift[i] > 0 and not _says_nothing(word_terms[i])]
        weightiest = tuple(word_terms[i] for i in telling[:words])
        return Prediction(self.stages[best], float(chances[best]), weightiest)

    def _weights_of(self, columns: np.ndarray) -> np.ndarray:
        """Each column's weights per stage (zeros for a column never seen in training)."""
        found = np.zeros((len(columns), len(self.stages)))
        if len(self._known):
            at = np.minimum(np.searchsorted(self._known, columns), len(self._known) - 1)
            seen = self._known[at] == columns
            found[seen] = self._known_weights[at[seen]]
        return found

    def to_bytes(self) -> bytes:
        """The weights as a NumPy archive (no pickled objects)."""
        buffer = io.BytesIO()
        weights = self.weights.tocsr()
        np.savez_compressed(
            buffer,
            stages=np.array([stage.value for stage in self.stages]),
            data=weights.data,
            indices=weights.indices,
            indptr=weights.indptr,
            shape=np.array(weights.shape),
            bias=self.bias,
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, payload: bytes) -> StageClassifier:
        """Read back what ``to_bytes`` wrote."""
        stored = np.load(io.BytesIO(payload), allow_pickle=False)
        weights = sparse.csr_matrix(
            (stored["data"], stored["indices"], stored["indptr"]), shape=tuple(stored["shape"])
        )
        return cls([Stage(str(value)) for value in stored["stages"]], weights, stored["bias"])


def _says_nothing(term: str) -> bool:
    return all(word in ENGLISH_STOP_WORDS for word in term.split())


def _char_terms(text: str) -> list[str]:
    """The char_wb 3–5-grams HashingVectorizer makes of a text, the same list made faster (its
    own loop is most of a prediction's time); a test holds the two equal."""
    grams: list[str] = []
    for word in text.lower().split():
        padded = f" {word} "
        length = len(padded)
        for n in range(CHAR_NGRAMS[0], CHAR_NGRAMS[1] + 1):
            if length <= n:
                grams.append(padded)
                break
            grams.extend([padded[i : i + n] for i in range(length - n + 1)])
    return grams


def _hashed(terms: list[str], width: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """One text's terms as HashingVectorizer counts them (columns, L2-normalised counts) without
    its per-call overhead, which is milliseconds; a test holds the two equal. The third item
    names a term of each column (the first seen)."""
    if not terms:
        return np.zeros(0, dtype=np.int64), np.zeros(0), []
    hashes = np.fromiter(
        (murmurhash3_32(term, 0) for term in terms), dtype=np.int64, count=len(terms)
    )
    # As FeatureHasher: |hash| mod width (its one special case, -2**31, lands the same way
    # for a power-of-two width).
    columns, first, counts = np.unique(
        np.abs(hashes) % width, return_index=True, return_counts=True
    )
    values = counts.astype(float)
    values /= np.sqrt(values @ values)
    return columns, values, [terms[i] for i in first]
