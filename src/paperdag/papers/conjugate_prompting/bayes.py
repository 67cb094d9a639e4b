"""Closed-form Bayes-optimal predictors for in-context linear regression (numpy, float64).

Prompt: X (k, d), y (k,), y_i = <w, x_i> + eps_i, eps_i ~ N(0, sigma^2). Priors on w:
- continuous: w ~ N(0, tau^2 I)          -> ridge regression, lambda = sigma^2 / tau^2;
- discrete:   w uniform over W (N, d)     -> discrete regression (softmax over candidates);
- mixture:    alpha * discrete + (1 - alpha) * continuous -> posterior mixture of the two,
              weighted by the posterior probability pi that the prompt is from the discrete
              prior (the paper's "implicit task inference").

All functions work on a batch of sequences and return the estimate after every prefix length
k = 0..K-1 at once: X (B, K, d), y (B, K); prefix k uses the first k pairs."""

from __future__ import annotations

import numpy as np
from scipy.special import expit, logsumexp


def ridge_weights(X: np.ndarray, y: np.ndarray, sigma: float, tau: float) -> np.ndarray:
    """Posterior mean of w under N(0, tau^2 I) for every prefix: (B, K, d); prefix 0 gives 0."""
    B, K, d = X.shape
    lam = sigma**2 / tau**2
    out = np.zeros((B, K, d))
    eye = np.eye(d)
    for k in range(1, K):
        Xk, yk = X[:, :k], y[:, :k]
        A = np.einsum("bki,bkj->bij", Xk, Xk) + lam * eye
        out[:, k] = np.linalg.solve(A, np.einsum("bki,bk->bi", Xk, yk)[..., None])[..., 0]
    return out


def _prefix_sq_residuals(X, y, W):
    """(B, K, N): squared residual sum of the first k pairs for each candidate w (k = 0..K-1)."""
    r2 = (y[..., None] - np.einsum("bkd,nd->bkn", X, W)) ** 2
    c = np.cumsum(r2, axis=1)
    return np.concatenate([np.zeros_like(c[:, :1]), c[:, :-1]], axis=1)


def discrete_weights(X: np.ndarray, y: np.ndarray, W: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Posterior mean of w under the uniform prior over the rows of W, for every prefix, and the
    log marginal likelihood log p_disc(y_{<k} | X_{<k}) (B, K)."""
    K = X.shape[1]
    loglik = -_prefix_sq_residuals(X, y, W) / (2 * sigma**2)  # (B, K, N)
    post = np.exp(loglik - logsumexp(loglik, axis=-1, keepdims=True))
    ks = np.arange(K)
    log_marg = logsumexp(loglik, axis=-1) - np.log(len(W)) - 0.5 * ks * np.log(2 * np.pi * sigma**2)
    return post @ W, log_marg


def log_marginal_continuous(X: np.ndarray, y: np.ndarray, sigma: float, tau: float) -> np.ndarray:
    """log N(y_{<k}; 0, sigma^2 I + tau^2 X_{<k} X_{<k}^T) for every prefix: (B, K); prefix 0 -> 0."""
    B, K, d = X.shape
    out = np.zeros((B, K))
    for k in range(1, K):
        Xk, yk = X[:, :k], y[:, :k]
        C = sigma**2 * np.eye(k) + tau**2 * np.einsum("bid,bjd->bij", Xk, Xk)
        _, logdet = np.linalg.slogdet(C)
        quad = np.einsum("bi,bi->b", yk, np.linalg.solve(C, yk[..., None])[..., 0])
        out[:, k] = -0.5 * (quad + logdet + k * np.log(2 * np.pi))
    return out


def posterior_discrete(X, y, W, sigma, tau, alpha) -> np.ndarray:
    """pi(X, y) = P(task from the discrete prior | prompt) under the mixture prior, (B, K)."""
    _, lm_d = discrete_weights(X, y, W, sigma)
    lm_c = log_marginal_continuous(X, y, sigma, tau)
    if alpha <= 0:
        return np.zeros_like(lm_c)
    if alpha >= 1:
        return np.ones_like(lm_c)
    return expit(np.log(alpha) + lm_d - np.log1p(-alpha) - lm_c)


def predict_all(X, y, W, sigma, tau, alpha) -> dict[str, np.ndarray]:
    """Predictions of y_k at x_k from the first k pairs, for k = 0..K-1, by the three references:
    {'ridge', 'discrete', 'mixture', 'pi'} each (B, K)."""
    wr = ridge_weights(X, y, sigma, tau)
    wd, lm_d = discrete_weights(X, y, W, sigma)
    lm_c = log_marginal_continuous(X, y, sigma, tau)
    if 0 < alpha < 1:
        pi = expit(np.log(alpha) + lm_d - np.log1p(-alpha) - lm_c)
    else:
        pi = np.full(lm_c.shape, float(alpha))
    wm = pi[..., None] * wd + (1 - pi[..., None]) * wr
    dot = lambda w: np.einsum("bkd,bkd->bk", X, w)  # noqa: E731
    return {"ridge": dot(wr), "discrete": dot(wd), "mixture": dot(wm), "pi": pi}
