"""Temperature scaling (Guo et al. 2017): make the model's confidence mean what it says.

Label smoothing keeps the small net from betting everything on its training digits, but it also
leaves it under-confident: answers given at 70% are right far more often than 70% of the time, so
a reject threshold set in "confidence" does not mean a rate of wrong answers. One temperature T,
fitted on the validation digits (held-out writers and images) by minimising the negative log
likelihood, divides the logits; it is folded into the last dense layer's weights (softmax(z / T)
with z = Wx + b is softmax((W / T) x + b / T)), so the exported model and the device need nothing
new, and the argmax (the accuracy) is unchanged.
"""

from __future__ import annotations

import itertools

import numpy as np

TEMPERATURES = np.exp(np.linspace(np.log(0.2), np.log(5.0), 401))
DENSE_LAYER = "probs"
FEATURES_LAYER = "dropout"  # the input of the dense layer (identity at inference)


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def nll(logits: np.ndarray, y: np.ndarray, temperature: float = 1.0) -> float:
    return float(-_log_softmax(logits / temperature)[np.arange(len(y)), y].mean())


def expected_calibration_error(probs: np.ndarray, y: np.ndarray, bins: int = 15) -> float:
    """Weighted mean |accuracy − confidence| over equal-width confidence bins."""
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == y
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for lo, hi in itertools.pairwise(edges):
        inside = (conf > lo) & (conf <= hi)
        if inside.any():
            total += inside.mean() * abs(correct[inside].mean() - conf[inside].mean())
    return float(total)


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    losses = [nll(logits, y, t) for t in TEMPERATURES]
    return float(TEMPERATURES[int(np.argmin(losses))])


def calibrate(model, x_val: np.ndarray, y_val: np.ndarray) -> dict:
    """Fit T on (x_val float (N, 28, 28, 1), y_val) and fold it into `model` in place."""
    import keras

    dense = model.get_layer(DENSE_LAYER)
    features = keras.Model(model.input, model.get_layer(FEATURES_LAYER).output)
    w, b = dense.get_weights()
    logits = features.predict(x_val, batch_size=512, verbose=0) @ w + b
    y = np.asarray(y_val, dtype=np.int64)
    t = fit_temperature(logits, y)
    dense.set_weights([w / t, b / t])

    def probs(temp: float) -> np.ndarray:
        return np.exp(_log_softmax(logits / temp))

    return {
        "method": "temperature scaling, fitted on the validation digits by negative log likelihood",
        "temperature": round(t, 4),
        "validation_digits": len(y),
        "nll_before": round(nll(logits, y), 4),
        "nll_after": round(nll(logits, y, t), 4),
        "ece_before": round(expected_calibration_error(probs(1.0), y), 4),
        "ece_after": round(expected_calibration_error(probs(t), y), 4),
    }
