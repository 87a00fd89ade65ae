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
from itertools import islice

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
from sklearn.linear_model import SGDClassifier

from helpdesk.models import Stage
from helpdesk.stage_model.features import (
    WORD_FEATURES,
    char_features,
    many_texts,
    word_features,
)
from helpdesk.stage_model.prediction import Prediction

# Fixed, so the same examples always train the same model.
RANDOM_STATE = 0


class StageClassifier:
    """Learned weights per stage over the hashed features of a text."""

    def __init__(self, stages: Sequence[Stage], weights: sparse.csr_matrix, bias: np.ndarray):
        self.stages = tuple(stages)
        # One row per stage; columns are the hashed features.
        self.weights = weights
        self.bias = bias
        # For one text at a time: each column's row in a small table of the weights per stage
        # of the columns any weight is on, plus a last row of zeros for every other column. A
        # text's few columns are looked up there, far cheaper than a sparse product.
        known = np.unique(weights.indices)
        self._rows = np.full(weights.shape[1], len(known), dtype=np.int32)
        self._rows[known] = np.arange(len(known), dtype=np.int32)
        self._known_weights = np.vstack(
            [weights[:, known].toarray().T, np.zeros((1, len(self.stages)))]
        )

    @classmethod
    def train(cls, texts: Sequence[str], stages: Sequence[Stage]) -> StageClassifier:
        """Fit on texts labelled with the stages people gave them (two stages at least)."""
        model = fitted_model(texts, stages)
        known = [Stage(value) for value in model.classes_]
        weights, bias = model.coef_, model.intercept_
        if len(known) == 2:
            # A two-class fit keeps one row (for the second class); give each class its own.
            weights, bias = np.vstack([-weights, weights]), np.array([-bias[0], bias[0]])
        return cls(known, sparse.csr_matrix(weights), np.asarray(bias, dtype=float))

    def classify(self, texts: Sequence[str]) -> list[Stage]:
        """The likeliest stage of each text (many at once, as evaluation asks)."""
        scores = np.asarray((many_texts(texts) @ self.weights.T).todense()) + self.bias
        return [self.stages[i] for i in scores.argmax(axis=1)]

    def predict(self, text: str, words: int = 3) -> Prediction:
        """The likeliest stage of one text, with the ``words`` that weighed most for it."""
        word_columns, word_values, word_terms = word_features(text)
        char_columns, char_values = char_features(text)
        word_weights = self._weights_of(word_columns)
        scores = (
            self.bias
            + word_values @ word_weights
            + char_values @ self._weights_of(char_columns + WORD_FEATURES)
        )
        # One stage against the rest: each stage's own probability, shared out to sum to 1.
        chances = 1 / (1 + np.exp(-scores))
        chances /= chances.sum()
        best = int(chances.argmax())
        # What a term adds to this stage over the average stage: what tipped the balance.
        lift = (word_weights[:, best] - word_weights.mean(axis=1)) * word_values
        ranked = np.argsort(-lift)[: np.count_nonzero(lift > 0)].tolist()
        # Words such as "my" or "the" weigh something but say nothing to a person.
        telling = (word_terms[i] for i in ranked if not _says_nothing(word_terms[i]))
        return Prediction(self.stages[best], float(chances[best]), tuple(islice(telling, words)))

    def _weights_of(self, columns: np.ndarray) -> np.ndarray:
        """Each column's weights per stage (zeros for a column never seen in training)."""
        return self._known_weights[self._rows[columns]]

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


def fitted_model(texts: Sequence[str], stages: Sequence[Stage]) -> SGDClassifier:
    """scikit-learn's model fitted on the texts (its ``predict_proba`` is what ``predict``
    computes faster)."""
    model = SGDClassifier(loss="log_loss", class_weight="balanced", random_state=RANDOM_STATE)
    return model.fit(many_texts(texts), [stage.value for stage in stages])


def _says_nothing(term: str) -> bool:
    return all(word in ENGLISH_STOP_WORDS for word in term.split())
