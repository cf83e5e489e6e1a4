"""Recommender algorithms on a user x item matrix (issue 16, the ``recommend`` task): the numerical cores the
recommend families will wrap, each a small class with ``fit`` and a score or rating prediction, seeded and honouring a
deadline where it iterates.

Top-k lists (implicit feedback, ``R`` binary users x items, CSR):

* :class:`Popularity`: items by how many users chose them (optionally weighting recent interactions more);
* :class:`ItemKNN`: cosine item-item similarity with shrinkage, the ``neighbours`` most similar kept per item;
* :class:`RP3Beta`: three-step random walk user -> item -> user -> item, item popularity damped by ``beta``;
* :class:`EASE`: the closed-form shallow autoencoder (Steck 2019), ``B = I - P / diag(P)`` with
  ``P = (R'R + lambda I)^-1``; guarded by catalogue size, since it inverts an items x items matrix.

Ratings (explicit feedback, ``(user, item, rating)`` triples):

* :class:`Biases`: ``mu + b_u + b_i``, regularised, by alternating closed-form updates;
* :class:`FactorModel`: biased matrix factorisation with an implicit-feedback term in the style of SVD++
  (``p_u + |N(u)|^-1/2 sum y_j``), trained full-batch with Adam in PyTorch; the deadline is checked every epoch.

Everything is dense NumPy or SciPy sparse; the state of each is a few arrays (to be written as safetensors / .npz).
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import scipy.sparse as sp

from accelml.budget import Deadline

__all__ = [
    "BPR",
    "EASE",
    "ALSRatings",
    "Attributes",
    "Biases",
    "FactorModel",
    "ImplicitALS",
    "ItemKNN",
    "ItemKNNRatings",
    "Popularity",
    "RP3Beta",
    "UserKNN",
    "interaction_matrix",
    "normalise_scores",
]

EASE_MAX_ITEMS = 20_000  # an items x items inverse: 20,000 items take 3.2 GB and minutes


def interaction_matrix(users: np.ndarray, items: np.ndarray, n_users: int, n_items: int,
                       values: np.ndarray | None = None) -> sp.csr_matrix:
    """Users x items CSR of ``values`` (1 where None); duplicated pairs are summed.

    >>> interaction_matrix(np.array([0, 0, 1]), np.array([1, 1, 0]), 2, 3).toarray().tolist()
    [[0.0, 2.0, 0.0], [1.0, 0.0, 0.0]]
    """
    data = np.ones(len(users), dtype=np.float32) if values is None else np.asarray(values, dtype=np.float32)
    return sp.csr_matrix((data, (users, items)), shape=(n_users, n_items), dtype=np.float32)


def normalise_scores(scores: np.ndarray) -> np.ndarray:
    """Each user's scores scaled to mean 0 and unit standard deviation (so that blends weigh families alike).

    >>> normalise_scores(np.array([[1.0, 3.0], [2.0, 2.0]])).tolist()
    [[-1.0, 1.0], [0.0, 0.0]]
    """
    mean = scores.mean(axis=1, keepdims=True)
    std = scores.std(axis=1, keepdims=True)
    return (scores - mean) / np.where(std > 0, std, 1.0)


def _binary(R: sp.csr_matrix) -> sp.csr_matrix:
    B = sp.csr_matrix(R, dtype=np.float32, copy=True)
    B.data[:] = 1.0
    return B


# ------------------------------------------------------------------------------------------------ top-k lists
class Popularity:
    """Items scored by the (recency-weighted) number of users who chose them, the same for every user."""

    def __init__(self, half_life: float | None = None):
        self.half_life = half_life

    def fit(self, R: sp.csr_matrix, times: sp.csr_matrix | None = None) -> Popularity:
        if self.half_life and times is not None:
            T = sp.csr_matrix(times)
            age = T.data.max() - T.data
            W = sp.csr_matrix((np.power(0.5, age / self.half_life), T.indices, T.indptr), shape=T.shape)
            self.item_scores_ = np.asarray(W.sum(axis=0)).ravel()
        else:
            self.item_scores_ = np.asarray(_binary(R).sum(axis=0)).ravel()
        return self

    def score(self, R: sp.csr_matrix, users: np.ndarray) -> np.ndarray:
        return np.tile(self.item_scores_.astype(np.float32), (len(users), 1))


class _ItemSimilarity:
    """A user's score for an item sums the item's similarity (``similarity_``, items x items) to the user's items."""

    similarity_: sp.csr_matrix

    def score(self, R: sp.csr_matrix, users: np.ndarray) -> np.ndarray:
        return np.asarray((_binary(R[users]) @ self.similarity_).todense(), dtype=np.float32)


class ItemKNN(_ItemSimilarity):
    """Cosine item-item similarity with shrinkage ``shrink`` (``s_ij = c_ij / (|i| |j| + shrink)``), each item's
    ``neighbours`` nearest kept; a user's score for an item sums its similarity to the items they chose."""

    def __init__(self, neighbours: int = 100, shrink: float = 10.0):
        self.neighbours, self.shrink = int(neighbours), float(shrink)

    def fit(self, R: sp.csr_matrix) -> ItemKNN:
        B = _binary(R)
        co = (B.T @ B).toarray().astype(np.float32)
        S = _shrunk_cosine(co, np.sqrt(np.diag(co)), self.shrink)
        self.similarity_ = sp.csr_matrix(_keep_top(S, self.neighbours))
        return self


class RP3Beta(_ItemSimilarity):
    """The random walk user -> item -> user -> item with transition probabilities raised to ``alpha`` and the target
    item's popularity damped by ``beta`` (Paudel et al. 2017); ``neighbours`` kept per item."""

    def __init__(self, alpha: float = 1.0, beta: float = 0.5, neighbours: int = 200):
        self.alpha, self.beta, self.neighbours = float(alpha), float(beta), int(neighbours)

    def fit(self, R: sp.csr_matrix) -> RP3Beta:
        B = _binary(R)
        user_degree = np.asarray(B.sum(axis=1)).ravel()
        item_degree = np.asarray(B.sum(axis=0)).ravel()
        P_ui = sp.diags(1.0 / np.maximum(user_degree, 1)) @ B
        P_iu = sp.diags(1.0 / np.maximum(item_degree, 1)) @ B.T
        if self.alpha != 1.0:
            P_ui.data **= self.alpha
            P_iu = sp.csr_matrix(P_iu)
            P_iu.data **= self.alpha
        W = (P_iu @ P_ui).toarray().astype(np.float32)
        W *= np.power(np.maximum(item_degree, 1), -self.beta)[None, :].astype(np.float32)
        np.fill_diagonal(W, 0.0)
        self.similarity_ = sp.csr_matrix(_keep_top(W, self.neighbours))
        return self


class EASE:
    """Embarrassingly shallow autoencoder: the item-item weights ``B`` that best rebuild each user's row from their
    other items, in closed form with l2 penalty ``lam`` (plus ``dropout`` emphasis, see :meth:`fit`)."""

    def __init__(self, lam: float = 500.0, dropout: float = 0.0):
        self.lam, self.dropout = float(lam), float(dropout)

    @staticmethod
    def fits(n_items: int) -> bool:
        """Whether the catalogue is small enough to invert (see :data:`EASE_MAX_ITEMS`)."""
        return n_items <= EASE_MAX_ITEMS

    def fit(self, R: sp.csr_matrix) -> EASE:
        B = _binary(R)
        G = (B.T @ B).toarray().astype(np.float64)
        # With dropout p the penalty of each item grows with its popularity (p / (1 - p) times its count: the
        # denoising autoencoder of Steck 2020, EDLAE), which keeps popular items from rebuilding themselves
        G[np.diag_indices_from(G)] += self.lam + self.dropout / (1.0 - self.dropout) * np.diag(G)
        P = np.linalg.inv(G)
        W = -P / np.diag(P)[None, :]
        np.fill_diagonal(W, 0.0)
        self.weights_ = W.astype(np.float32)
        return self

    def score(self, R: sp.csr_matrix, users: np.ndarray) -> np.ndarray:
        return np.asarray(_binary(R[users]) @ self.weights_, dtype=np.float32)


class UserKNN:
    """Cosine user-user similarity, each user's ``neighbours`` nearest kept; an item's score sums the similarity of
    the neighbours who chose it."""

    def __init__(self, neighbours: int = 50, shrink: float = 0.0):
        self.neighbours, self.shrink = int(neighbours), float(shrink)

    def fit(self, R: sp.csr_matrix) -> UserKNN:
        B = _binary(R)
        self.train_ = B
        norms = np.sqrt(np.asarray(B.sum(axis=1)).ravel())
        S = _shrunk_cosine((B @ B.T).toarray().astype(np.float32), norms, self.shrink)
        self.similarity_ = sp.csr_matrix(_keep_top(S.T, self.neighbours).T)  # rows: each user's neighbours
        return self

    def score(self, R: sp.csr_matrix, users: np.ndarray) -> np.ndarray:
        return np.asarray((self.similarity_[users] @ self.train_).todense(), dtype=np.float32)


class ImplicitALS:
    """Matrix factorisation of implicit feedback by alternating least squares (Hu, Koren and Volinsky 2008):
    confidence ``1 + alpha * r_ui`` on observed pairs, preference 0 elsewhere. The ``implicit`` package fits it where
    it is installed; otherwise the same normal equations are solved here, user by user. The deadline is checked
    every iteration."""

    def __init__(self, factors: int = 64, reg: float = 0.05, alpha: float = 10.0, iterations: int = 15,
                 seed: int = 0):
        self.factors, self.reg, self.alpha = int(factors), float(reg), float(alpha)
        self.iterations, self.seed = int(iterations), int(seed)

    def fit(self, R: sp.csr_matrix, deadline: Deadline | None = None) -> ImplicitALS:
        deadline = deadline if deadline is not None else Deadline.never()
        C = _binary(R)
        C.data = 1.0 + self.alpha * C.data  # the confidences; the implicit package is given them as they are
        self.iterations_ = 0
        try:
            from implicit.cpu.als import AlternatingLeastSquares
        except ImportError:
            AlternatingLeastSquares = None
        if AlternatingLeastSquares is not None:
            with _one_blas_thread():
                model = AlternatingLeastSquares(factors=self.factors, regularization=self.reg, alpha=1.0,
                                                iterations=1, random_state=self.seed)
                last = 0.0
                for it in range(self.iterations):  # one iteration a call: the factors carry over, the deadline is seen
                    if it and deadline.remaining() < last:  # the next iteration would end after the deadline
                        break
                    started = time.monotonic()
                    model.fit(C, show_progress=False)
                    last = time.monotonic() - started
                    self.iterations_ = it + 1
            self.user_factors_ = np.asarray(model.user_factors, dtype=np.float32)
            self.item_factors_ = np.asarray(model.item_factors, dtype=np.float32)
            return self
        rng = np.random.default_rng(self.seed)
        X = rng.normal(0, 0.01, (C.shape[0], self.factors))
        Y = rng.normal(0, 0.01, (C.shape[1], self.factors))
        C_items = C.T.tocsr()
        for it in range(self.iterations):
            if it and deadline.expired():
                break
            X = _implicit_rows(C, Y, self.reg, deadline)
            Y = _implicit_rows(C_items, X, self.reg, deadline)
            self.iterations_ = it + 1
        self.user_factors_, self.item_factors_ = X.astype(np.float32), Y.astype(np.float32)
        return self

    def score(self, R: sp.csr_matrix, users: np.ndarray) -> np.ndarray:
        return self.user_factors_[users] @ self.item_factors_.T


class BPR:
    """Bayesian personalised ranking (Rendle et al. 2009) by the ``implicit`` package: factors trained so that a
    user's items outscore sampled others. One thread, so that a seed gives one result; the deadline is checked every
    ten epochs."""

    def __init__(self, factors: int = 64, learning_rate: float = 0.01, reg: float = 0.01, epochs: int = 100,
                 seed: int = 0):
        self.factors, self.learning_rate, self.reg = int(factors), float(learning_rate), float(reg)
        self.epochs, self.seed = int(epochs), int(seed)

    def fit(self, R: sp.csr_matrix, deadline: Deadline | None = None) -> BPR:
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        deadline = deadline if deadline is not None else Deadline.never()
        self.epochs_ = 0
        with _one_blas_thread():
            model = BayesianPersonalizedRanking(factors=self.factors, learning_rate=self.learning_rate,
                                                regularization=self.reg, iterations=10, num_threads=1,
                                                random_state=self.seed)
            last = 0.0
            while self.epochs_ < self.epochs and not (self.epochs_ and deadline.remaining() < last):
                started = time.monotonic()
                model.fit(_binary(R), show_progress=False)  # ten epochs a call; the factors carry over
                last = time.monotonic() - started
                self.epochs_ += 10
        self.user_factors_ = np.asarray(model.user_factors, dtype=np.float32)
        self.item_factors_ = np.asarray(model.item_factors, dtype=np.float32)
        return self

    def score(self, R: sp.csr_matrix, users: np.ndarray) -> np.ndarray:
        return self.user_factors_[users] @ self.item_factors_.T


def _one_blas_thread() -> Any:
    """The implicit package parallelises itself and asks BLAS for one thread (it warns otherwise)."""
    import warnings
    from contextlib import ExitStack

    from threadpoolctl import threadpool_limits

    stack = ExitStack()
    stack.enter_context(threadpool_limits(1, "blas"))
    stack.enter_context(warnings.catch_warnings())
    warnings.filterwarnings("ignore", message=".*OpenBLAS.*|.*threadpool.*")
    return stack


def _implicit_rows(C: sp.csr_matrix, Y: np.ndarray, reg: float, deadline: Deadline) -> np.ndarray:
    """Each row ``x_u = (Y'Y + Y_u' (C_u - I) Y_u + reg I)^-1 Y_u' C_u 1`` over the row's stored confidences
    ``C_u``; rows left when the deadline passes keep zeros (checked every 1,000 rows)."""
    k = Y.shape[1]
    base = Y.T @ Y + reg * np.eye(k)
    out = np.zeros((C.shape[0], k))
    for r in range(C.shape[0]):
        if r % 1000 == 999 and deadline.expired():
            break
        lo, hi = C.indptr[r], C.indptr[r + 1]
        if lo == hi:
            continue
        Yr, c = Y[C.indices[lo:hi]], C.data[lo:hi]
        out[r] = np.linalg.solve(base + (Yr.T * (c - 1.0)) @ Yr, Yr.T @ c)
    return out


class Attributes:
    """The hybrid's content side: a user's profile is the mean of the attributes (genres, categories) of the items
    they chose, and items are scored by how well their attributes match it; new users with attributes of their own
    are scored by what users with the same attributes chose. Items and users without interactions get lists too."""

    def __init__(self, weight: float = 1.0):
        self.weight = float(weight)

    def fit(self, R: sp.csr_matrix, item_attrs: np.ndarray | None, user_attrs: np.ndarray | None) -> Attributes:
        B = _binary(R)
        n_items = B.shape[1]
        F = item_attrs if item_attrs is not None and item_attrs.shape[1] else np.zeros((n_items, 0), np.float32)
        norms = np.linalg.norm(F, axis=1, keepdims=True)
        self.item_attrs_ = (F / np.where(norms > 0, norms, 1.0)).astype(np.float32)
        self.train_ = B
        pop = np.asarray(B.sum(axis=0)).ravel()
        self.popularity_ = (pop / max(pop.max(), 1.0)).astype(np.float32)
        if user_attrs is not None and user_attrs.shape[1]:  # what users with each attribute chose, per user of it
            U = sp.csr_matrix(user_attrs)
            counts = np.asarray(U.sum(axis=0)).ravel()
            self.by_attribute_ = (np.asarray((U.T @ B).todense()) / np.maximum(counts, 1.0)[:, None]).astype(np.float32)
        else:
            self.by_attribute_ = np.zeros((0, n_items), np.float32)
        return self

    def score(self, R: sp.csr_matrix, users: np.ndarray) -> np.ndarray:
        profile = np.asarray(_binary(R[users]) @ self.item_attrs_)
        norms = np.linalg.norm(profile, axis=1, keepdims=True)
        content = (profile / np.where(norms > 0, norms, 1.0)) @ self.item_attrs_.T
        return (self.weight * content + 0.1 * self.popularity_[None, :]).astype(np.float32)

    def score_attributes(self, user_attrs: np.ndarray) -> np.ndarray:
        """Scores for users known only by their attributes: the mean choices of the users who share them."""
        if not self.by_attribute_.shape[0] or not user_attrs.shape[1]:
            return np.tile(self.popularity_, (len(user_attrs), 1))
        out = np.asarray(user_attrs, dtype=np.float32) @ self.by_attribute_
        return out / np.maximum(np.asarray(user_attrs).sum(axis=1, keepdims=True), 1.0)


def _shrunk_cosine(co: np.ndarray, norms: np.ndarray, shrink: float) -> np.ndarray:
    """Co-occurrence counts over the product of the norms plus ``shrink`` (pairs seen together rarely count less),
    with a zero diagonal (nothing is its own neighbour)."""
    S = co / (np.outer(norms, norms) + shrink + 1e-9)
    np.fill_diagonal(S, 0.0)
    return S


def _keep_top(S: np.ndarray, k: int) -> np.ndarray:
    """``S`` with all but the ``k`` largest entries of each column set to 0."""
    if k >= S.shape[0]:
        return S
    cut = np.argpartition(-S, k, axis=0)[k:]
    out = S.copy()
    np.put_along_axis(out, cut, 0.0, axis=0)
    return out


# ------------------------------------------------------------------------------------------------ ratings
class Biases:
    """``mu + b_u + b_i`` by alternating regularised least squares (``reg_user``, ``reg_item``)."""

    def __init__(self, reg_user: float = 15.0, reg_item: float = 10.0, iterations: int = 10):
        self.reg_user, self.reg_item, self.iterations = reg_user, reg_item, int(iterations)

    def fit(self, users: np.ndarray, items: np.ndarray, ratings: np.ndarray, n_users: int, n_items: int) -> Biases:
        self.mu_ = float(np.mean(ratings))
        self.user_ = np.zeros(n_users)
        self.item_ = np.zeros(n_items)
        for _ in range(self.iterations):
            r = ratings - self.mu_ - self.user_[users]
            self.item_ = np.bincount(items, r, n_items) / (np.bincount(items, minlength=n_items) + self.reg_item)
            r = ratings - self.mu_ - self.item_[items]
            self.user_ = np.bincount(users, r, n_users) / (np.bincount(users, minlength=n_users) + self.reg_user)
        return self

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return self.mu_ + self.user_[users] + self.item_[items]


class FactorModel:
    """Biased matrix factorisation with an SVD++ implicit term, trained full-batch with Adam (PyTorch).

    ``r_ui = mu + b_u + b_i + q_i . (p_u + |N(u)|^-1/2 sum_{j in N(u)} y_j)``; ``N(u)`` are the items the user rated
    (``implicit=False`` drops the term: plain biased MF). Loss: mean squared error plus ``reg`` times the squared
    norms of the factors and biases used. Stops after ``epochs`` or at the deadline (checked every epoch).
    """

    def __init__(self, factors: int = 64, reg: float = 0.05, learning_rate: float = 0.01, epochs: int = 300,
                 implicit: bool = True, seed: int = 0):
        self.factors, self.reg, self.learning_rate = int(factors), float(reg), float(learning_rate)
        self.epochs, self.implicit, self.seed = int(epochs), bool(implicit), int(seed)

    def fit(self, users: np.ndarray, items: np.ndarray, ratings: np.ndarray, n_users: int, n_items: int,
            deadline: Deadline | None = None, valid: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
            ) -> FactorModel:
        import torch

        deadline = deadline if deadline is not None else Deadline.never()
        gen = torch.Generator().manual_seed(self.seed)
        f = self.factors
        mu = float(np.mean(ratings))
        params = {
            "user_bias": torch.zeros(n_users), "item_bias": torch.zeros(n_items),
            "p": torch.randn(n_users, f, generator=gen) * 0.01, "q": torch.randn(n_items, f, generator=gen) * 0.01,
            "y": torch.randn(n_items, f, generator=gen) * 0.01,
        }
        for t in params.values():
            t.requires_grad_(True)
        N = interaction_matrix(users, items, n_users, n_items)
        N.data[:] = 1.0
        scale = 1.0 / np.sqrt(np.maximum(np.asarray(N.sum(axis=1)).ravel(), 1.0))
        N = sp.diags(scale.astype(np.float32)) @ N
        coo = N.tocoo()
        implicit = torch.sparse_coo_tensor(np.vstack([coo.row, coo.col]), coo.data, (n_users, n_items),
                                           check_invariants=True).coalesce()
        u, i = torch.as_tensor(np.array(users), dtype=torch.long), torch.as_tensor(np.array(items), dtype=torch.long)
        r = torch.as_tensor(ratings, dtype=torch.float32)
        optimizer = torch.optim.Adam(params.values(), lr=self.learning_rate)
        self.losses_: list[float] = []
        for epoch in range(self.epochs):
            if epoch and deadline.expired():
                break
            optimizer.zero_grad()
            user_vec = params["p"] + (torch.sparse.mm(implicit, params["y"]) if self.implicit else 0.0)
            pred = mu + params["user_bias"][u] + params["item_bias"][i] + (user_vec[u] * params["q"][i]).sum(1)
            penalty = (params["p"][u].pow(2).sum(1) + params["q"][i].pow(2).sum(1) + params["user_bias"][u].pow(2)
                       + params["item_bias"][i].pow(2)).mean()
            if self.implicit:
                penalty = penalty + params["y"].pow(2).sum() / max(1, n_users)
            loss = (pred - r).pow(2).mean() + self.reg * penalty
            loss.backward()
            optimizer.step()
            self.losses_.append(float(loss.detach()))
        self.epochs_ = len(self.losses_)
        with torch.no_grad():
            user_vec = params["p"] + (torch.sparse.mm(implicit, params["y"]) if self.implicit else 0.0)
        self.mu_ = mu
        self.user_bias_ = params["user_bias"].detach().numpy().copy()
        self.item_bias_ = params["item_bias"].detach().numpy().copy()
        self.user_factors_ = user_vec.detach().numpy().copy()
        self.item_factors_ = params["q"].detach().numpy().copy()
        self.range_ = (float(np.min(ratings)), float(np.max(ratings)))
        return self

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        values = (self.mu_ + self.user_bias_[users] + self.item_bias_[items]
                  + np.einsum("nf,nf->n", self.user_factors_[users], self.item_factors_[items]))
        return np.clip(values, *self.range_)

    def state(self) -> dict[str, Any]:
        """The arrays that predict (for safetensors) and the scalars (for JSON)."""
        return {"arrays": {"user_bias": self.user_bias_, "item_bias": self.item_bias_,
                           "user_factors": self.user_factors_, "item_factors": self.item_factors_},
                "mu": self.mu_, "range": list(self.range_), "epochs": self.epochs_,
                "finite": bool(math.isfinite(self.losses_[-1])) if self.losses_ else True}


class ALSRatings:
    """Biased matrix factorisation of explicit ratings by alternating least squares with weighted-lambda
    regularisation (each user's and item's penalty grows with its number of ratings): residuals after
    :class:`Biases` are factorised, every user (then item) vector solved in closed form. The deadline is checked every
    iteration."""

    def __init__(self, factors: int = 50, reg: float = 0.1, iterations: int = 15, seed: int = 0):
        self.factors, self.reg, self.iterations, self.seed = int(factors), float(reg), int(iterations), int(seed)

    def fit(self, users: np.ndarray, items: np.ndarray, ratings: np.ndarray, n_users: int, n_items: int,
            deadline: Deadline | None = None) -> ALSRatings:
        deadline = deadline if deadline is not None else Deadline.never()
        self.biases_ = Biases().fit(users, items, ratings, n_users, n_items)
        residual = ratings - self.biases_.predict(users, items)
        rng = np.random.default_rng(self.seed)
        P = rng.normal(0, 0.1, (n_users, self.factors))
        Q = rng.normal(0, 0.1, (n_items, self.factors))
        by_user = sp.csr_matrix((residual, (users, items)), shape=(n_users, n_items))
        by_item = by_user.T.tocsr()
        self.iterations_ = 0
        for it in range(self.iterations):
            if it and deadline.expired():
                break
            P = _solve_rows(by_user, Q, self.reg)
            Q = _solve_rows(by_item, P, self.reg)
            self.iterations_ = it + 1
        self.user_factors_, self.item_factors_ = P.astype(np.float32), Q.astype(np.float32)
        self.range_ = (float(np.min(ratings)), float(np.max(ratings)))
        return self

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        values = self.biases_.predict(users, items) + np.einsum("nf,nf->n", self.user_factors_[users],
                                                                self.item_factors_[items])
        return np.clip(values, *self.range_)


def _solve_rows(M: sp.csr_matrix, F: np.ndarray, reg: float) -> np.ndarray:
    """Each row ``x`` of the result minimises ``sum_j (M_rj - x.F_j)^2 + reg * n_r * |x|^2`` over the row's stored
    entries ``j`` (``n_r`` of them)."""
    k = F.shape[1]
    out = np.zeros((M.shape[0], k))
    eye = np.eye(k)
    for r in range(M.shape[0]):
        lo, hi = M.indptr[r], M.indptr[r + 1]
        if lo == hi:
            continue
        Fr = F[M.indices[lo:hi]]
        out[r] = np.linalg.solve(Fr.T @ Fr + reg * (hi - lo) * eye, Fr.T @ M.data[lo:hi])
    return out


class ItemKNNRatings:
    """Ratings by item neighbours on baseline residuals (in the manner of Surprise's KNNBaseline): ``b_ui`` plus the
    similarity-weighted mean residual of the ``k`` items most similar to ``i`` that the user rated; similarity is the
    shrunk cosine of the items' residual vectors (``shrink`` damps pairs with few common users), and ``damping``
    added to the sum of similarities keeps a weak neighbourhood from moving the baseline far."""

    def __init__(self, k: int = 40, shrink: float = 100.0, damping: float = 0.0):
        self.k, self.shrink, self.damping = int(k), float(shrink), float(damping)

    def fit(self, users: np.ndarray, items: np.ndarray, ratings: np.ndarray, n_users: int, n_items: int
            ) -> ItemKNNRatings:
        self.biases_ = Biases().fit(users, items, ratings, n_users, n_items)
        residual = ratings - self.biases_.predict(users, items)
        self.residuals_ = sp.csr_matrix((residual, (users, items)), shape=(n_users, n_items))
        X = self.residuals_.tocsc()
        dots = (X.T @ X).toarray()
        norms = np.sqrt(np.diag(dots))
        common = (_binary(self.residuals_).T @ _binary(self.residuals_)).toarray()
        S = dots / (np.outer(norms, norms) + 1e-9) * common / (common + self.shrink)
        np.fill_diagonal(S, 0.0)
        self.similarity_ = S.astype(np.float32)
        self.range_ = (float(np.min(ratings)), float(np.max(ratings)))
        return self

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        out = self.biases_.predict(users, items)
        R = self.residuals_
        for n, (u, i) in enumerate(zip(users, items, strict=True)):
            lo, hi = R.indptr[u], R.indptr[u + 1]
            if lo == hi:
                continue
            rated, res = R.indices[lo:hi], R.data[lo:hi]
            sims = self.similarity_[i, rated]
            if len(sims) > self.k:
                top = np.argpartition(-sims, self.k)[: self.k]
                sims, res = sims[top], res[top]
            keep = sims > 0
            total = sims[keep].sum()
            if total > 0:  # weak neighbourhoods (few, dissimilar items) move the baseline less
                out[n] += float(sims[keep] @ res[keep]) / (total + self.damping)
        return np.clip(out, *self.range_)
