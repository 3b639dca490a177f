"""Cluster near-identical scripts and transcripts (Chinese or English) into campaigns.

:class:`TranscriptClusterer` follows the scikit-learn estimator contract:

* each text is normalized (NFKC, lower case, punctuation and runs of spaces folded to
  one space) and turned into TF-IDF weights of character n-grams (default 3 to 5
  characters; 2 to 3 inside runs of Chinese characters, which carry more each;
  sublinear term frequency; rows L2-normalized): character n-grams need
  no word segmentation, so the same code serves Chinese, English and mixed
  transcripts, and they tolerate speech-recognition slips ("Sydex" / "Cybex");
* the cosine similarity of every pair is computed as a sparse matrix product, in
  row blocks so memory stays bounded (``block_rows`` rows at a time), keeping only
  pairs at or above ``threshold`` (the raw scores, in ``pairs_``);
* clusters are the connected components of that graph (single linkage): two texts
  share a label when a chain of near-duplicates joins them. Labels are numbered by
  cluster size, largest first (ties by first member); empty texts get ``-1``.

``predict`` assigns new texts to the fitted clusters (the label of the most similar
fitted text when that similarity reaches ``threshold``, else ``-1``); ``kneighbors``
returns that similarity and index before the decision.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
_CJK_RUNS = re.compile(r"([\u3400-\u9fff\uf900-\ufaff]+)")


class CharNgrams:
    """Analyzer: character n-grams, shorter inside runs of Chinese characters.

    A Chinese character carries about as much as a short word, so runs of CJK
    characters give ``cjk_range`` n-grams while other text (Latin, digits, with its
    spaces) gives ``range`` n-grams. Picklable, so fitted clusterers can be stored.
    """

    def __init__(self, ngram_range: tuple[int, int], cjk_range: tuple[int, int]) -> None:
        self.ngram_range = tuple(ngram_range)
        self.cjk_range = tuple(cjk_range)

    def __call__(self, text: str) -> list[str]:
        out: list[str] = []
        for k, part in enumerate(_CJK_RUNS.split(text)):
            if not part or part == " ":
                continue
            lo, hi = self.cjk_range if k % 2 else self.ngram_range
            n_chars = len(part)
            for n in range(lo, hi + 1):
                if n_chars < n:
                    if n == lo:
                        out.append(part)
                    break
                out.extend(part[i : i + n] for i in range(n_chars - n + 1))
        return out


def normalize_transcript(text: str) -> str:
    """NFKC, lower case, punctuation to spaces, spaces collapsed."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    return _NON_WORD.sub(" ", text).strip()


class TranscriptClusterer:
    """Near-duplicate text clustering: char n-gram TF-IDF, cosine threshold, components.

    Parameters
    ----------
    threshold:
        Cosine similarity at or above which two texts are near-duplicates (0..1).
    ngram_range:
        Smallest and largest character n-gram outside Chinese text (Latin, digits).
    cjk_ngram_range:
        Smallest and largest n-gram inside runs of Chinese characters.
    sublinear_tf:
        Use ``1 + log(tf)`` instead of raw counts (a repeated message counts less).
    use_idf:
        Weight n-grams by inverse document frequency.
    block_rows:
        Rows per block of the pairwise product (bounds memory on large inputs).
    """

    def __init__(
        self,
        threshold: float = 0.6,
        ngram_range: tuple[int, int] = (3, 5),
        cjk_ngram_range: tuple[int, int] = (2, 3),
        sublinear_tf: bool = True,
        use_idf: bool = True,
        block_rows: int = 2048,
    ) -> None:
        self.threshold = threshold
        self.ngram_range = ngram_range
        self.cjk_ngram_range = cjk_ngram_range
        self.sublinear_tf = sublinear_tf
        self.use_idf = use_idf
        self.block_rows = block_rows

    # -- sklearn plumbing ---------------------------------------------------
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "ngram_range": self.ngram_range,
            "cjk_ngram_range": self.cjk_ngram_range,
            "sublinear_tf": self.sublinear_tf,
            "use_idf": self.use_idf,
            "block_rows": self.block_rows,
        }

    def set_params(self, **params: Any) -> TranscriptClusterer:
        for key, value in params.items():
            if key not in self.get_params():
                raise ValueError(f"unknown parameter {key!r} for TranscriptClusterer")
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"TranscriptClusterer({args})"

    # -- fitting ------------------------------------------------------------
    def fit(self, texts: Iterable[str], y: Any = None) -> TranscriptClusterer:
        """Cluster ``texts``; sets ``labels_``, ``n_clusters_``, ``pairs_`` and the vectorizer."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        if not 0.0 < float(self.threshold) <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold!r}")
        norm = [normalize_transcript(t) for t in texts]
        n = len(norm)
        empty = np.array([not t for t in norm], dtype=bool)
        self.vectorizer_ = TfidfVectorizer(
            analyzer=CharNgrams(self.ngram_range, self.cjk_ngram_range),
            sublinear_tf=self.sublinear_tf,
            use_idf=self.use_idf,
            lowercase=False,
            dtype=np.float32,
        )
        if n == 0 or empty.all():
            self.X_ = sparse.csr_matrix((n, 0), dtype=np.float32)
            self.labels_ = np.full(n, -1, dtype=np.int64)
            self.n_clusters_ = 0
            self.pairs_ = _empty_pairs()
            return self
        # fit the vocabulary on non-empty texts; empty ones get all-zero rows
        self.vectorizer_.fit([t for t in norm if t])
        X = self.vectorizer_.transform(norm).tocsr()
        self.X_ = X
        rows, cols, sims = self._pairs(X, X, upper=True)
        self.pairs_ = np.rec.fromarrays(
            [rows, cols, sims],
            dtype=[("i", np.int64), ("j", np.int64), ("similarity", np.float32)],
        )
        graph = sparse.coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n, n))
        _, comp = connected_components(graph, directed=False)
        self.labels_ = _relabel_by_size(comp, empty)
        self.n_clusters_ = int(self.labels_.max() + 1) if (self.labels_ >= 0).any() else 0
        return self

    def fit_predict(self, texts: Iterable[str], y: Any = None) -> np.ndarray:
        return self.fit(texts).labels_

    # -- using a fitted clusterer --------------------------------------------
    def kneighbors(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """For each text: (cosine similarity to the most similar fitted text, its index)."""
        self._check_fitted()
        Q = self.vectorizer_.transform([normalize_transcript(t) for t in texts]).tocsr()
        best = np.zeros(Q.shape[0], dtype=np.float32)
        idx = np.full(Q.shape[0], -1, dtype=np.int64)
        if self.X_.shape[0] == 0 or self.X_.shape[1] == 0:
            return best, idx
        step = max(1, int(self.block_rows))
        XT = self.X_.T.tocsc()
        for start in range(0, Q.shape[0], step):
            S = (Q[start : start + step] @ XT).toarray()
            if S.shape[1] == 0:
                continue
            j = S.argmax(axis=1)
            best[start : start + step] = S[np.arange(S.shape[0]), j]
            idx[start : start + step] = j
        idx[best <= 0] = -1
        return best, idx

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """Label of the most similar fitted text when similar enough, else -1."""
        best, idx = self.kneighbors(texts)
        out = np.full(len(best), -1, dtype=np.int64)
        ok = (best >= self.threshold) & (idx >= 0)
        out[ok] = self.labels_[idx[ok]]
        return out

    def similarity(self, texts_a: Sequence[str], texts_b: Sequence[str]) -> np.ndarray:
        """Dense cosine similarity between two lists of texts in the fitted space."""
        self._check_fitted()
        A = self.vectorizer_.transform([normalize_transcript(t) for t in texts_a])
        B = self.vectorizer_.transform([normalize_transcript(t) for t in texts_b])
        return np.asarray((A @ B.T).toarray(), dtype=np.float32)

    # -- internals ----------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "labels_"):
            from callradar.errors import NotReadyError

            raise NotReadyError("TranscriptClusterer is not fitted yet; call fit(texts) first")

    def _pairs(
        self, A: sparse.csr_matrix, B: sparse.csr_matrix, upper: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(i, j, similarity) of every pair with similarity >= threshold (i < j if upper)."""
        thr = np.float32(self.threshold)
        BT = B.T.tocsc()
        step = max(1, int(self.block_rows))
        out_r: list[np.ndarray] = []
        out_c: list[np.ndarray] = []
        out_s: list[np.ndarray] = []
        for start in range(0, A.shape[0], step):
            S = (A[start : start + step] @ BT).tocoo()
            keep = S.data >= thr
            r = S.row[keep].astype(np.int64) + start
            c = S.col[keep].astype(np.int64)
            s = S.data[keep].astype(np.float32)
            if upper:
                m = r < c
                r, c, s = r[m], c[m], s[m]
            out_r.append(r)
            out_c.append(c)
            out_s.append(s)
        if not out_r:
            return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float32)
        return np.concatenate(out_r), np.concatenate(out_c), np.concatenate(out_s)


def _empty_pairs() -> np.recarray:
    return np.rec.fromarrays(
        [np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float32)],
        dtype=[("i", np.int64), ("j", np.int64), ("similarity", np.float32)],
    )


def _relabel_by_size(comp: np.ndarray, empty: np.ndarray) -> np.ndarray:
    """Component ids -> labels 0.. by size (largest first, ties by first member); empty -> -1."""
    comp = comp.astype(np.int64)
    valid = ~empty
    labels = np.full(len(comp), -1, dtype=np.int64)
    if not valid.any():
        return labels
    ids, first, counts = np.unique(comp[valid], return_index=True, return_counts=True)
    first_pos = np.flatnonzero(valid)[first]
    order = np.lexsort((first_pos, -counts))
    mapping = np.empty(ids.max() + 1, dtype=np.int64)
    mapping[ids[order]] = np.arange(len(ids))
    labels[valid] = mapping[comp[valid]]
    return labels
