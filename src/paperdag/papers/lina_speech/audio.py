"""Offline speech: sentences of real English words (wordfreq), rendered by Debian's espeak-ng with
voice variants (voice, pitch, rate) as speakers; phonemes from `espeak-ng -q -x`; log-mel frames
(torch STFT + a Slaney-style triangular mel filterbank), Griffin-Lim for listening, DTW mel
distance, and a speaker-similarity proxy."""

from __future__ import annotations

import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np

from paperdag.core.errors import PaperdagError

SR = 22050  # espeak-ng's output rate


def sentences(n: int, top_n: int, min_words: int, max_words: int, seed: int) -> list[str]:
    """`n` distinct sentences of `min_words..max_words` words drawn (seeded) from wordfreq's top-N
    English words (lower-case letters only). Word salad, but real words and real pronunciations."""
    import wordfreq

    words = [w for w in wordfreq.top_n_list("en", top_n) if w.isalpha() and w.isascii() and len(w) > 1 or w in ("a", "i")]
    rng = np.random.default_rng(seed)
    out, seen = [], set()
    while len(out) < n:
        k = int(rng.integers(min_words, max_words + 1))
        s = " ".join(words[i] for i in rng.integers(0, len(words), k))
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


def _espeak(args: list[str]) -> str:
    try:
        r = subprocess.run(["espeak-ng", *args], check=True, capture_output=True, text=True)
    except FileNotFoundError as e:
        raise PaperdagError("espeak-ng is not installed (Debian package espeak-ng, in bootstrap.sh's APT_PACKAGES)") from e
    return r.stdout


def phonemes(texts: list[str], voice: str = "en-us") -> list[str]:
    """espeak-ng's phoneme mnemonics (-x), one process for all sentences (one line each)."""
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "s.txt"
        f.write_text("".join(t + ".\n" for t in texts))
        lines = [l.strip() for l in _espeak(["-q", "-x", "-v", voice, "-f", str(f)]).splitlines() if l.strip()]
    if len(lines) != len(texts):
        raise PaperdagError(f"espeak-ng -x returned {len(lines)} lines for {len(texts)} sentences")
    return lines


def render(text: str, voice: dict) -> np.ndarray:
    """One sentence by one voice variant -> float32 waveform at 22.05 kHz."""
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "a.wav"
        _espeak(["-v", voice["voice"], "-p", str(voice["pitch"]), "-s", str(voice["rate"]), "-w", str(f), text])
        with wave.open(str(f)) as w:
            if w.getframerate() != SR:
                raise PaperdagError(f"espeak-ng wrote {w.getframerate()} Hz, expected {SR}")
            x = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    return x.astype(np.float32) / 32768.0


def write_wav(path, x: np.ndarray, sr: int = SR) -> None:
    y = np.clip(x / max(1e-6, float(np.abs(x).max())) * 0.9, -1, 1)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes((y * 32767).astype(np.int16).tobytes())


def mel_filterbank(n_fft: int, n_mels: int, fmin: float, fmax: float, sr: int = SR) -> np.ndarray:
    """Triangular filters, equally spaced on the HTK mel scale, area-normalised (Slaney). [M, F]."""

    def hz2mel(f):
        return 2595.0 * np.log10(1.0 + f / 700.0)

    def mel2hz(m):
        return 700.0 * (10 ** (m / 2595.0) - 1.0)

    freqs = np.linspace(0, sr / 2, n_fft // 2 + 1)
    pts = mel2hz(np.linspace(hz2mel(fmin), hz2mel(fmax), n_mels + 2))
    fb = np.zeros((n_mels, len(freqs)))
    for i in range(n_mels):
        lo, c, hi = pts[i], pts[i + 1], pts[i + 2]
        fb[i] = np.maximum(0, np.minimum((freqs - lo) / (c - lo), (hi - freqs) / (hi - c)))
        fb[i] *= 2.0 / (hi - lo)
    return fb.astype(np.float32)


class Mel:
    """log10 mel power with a floor: frames [T, n_mels]."""

    def __init__(self, a: dict):
        self.n_fft, self.hop, self.n_mels = a["n_fft"], a["hop"], a["n_mels"]
        self.fb = mel_filterbank(self.n_fft, self.n_mels, a["fmin"], a["fmax"])
        self.floor = a["floor"]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        import torch

        X = torch.stft(torch.from_numpy(x), self.n_fft, self.hop, window=torch.hann_window(self.n_fft), return_complex=True, center=True)
        P = (X.abs() ** 2).numpy()  # [F, T]
        return np.log10(np.maximum(self.fb @ P, self.floor)).T.astype(np.float32)

    def griffin_lim(self, logmel: np.ndarray, n_iter: int = 32, seed: int = 0) -> np.ndarray:
        """Mel -> linear magnitude by the filterbank's pseudo-inverse (clipped at 0), then
        Griffin-Lim phase reconstruction (torch STFT / ISTFT)."""
        import torch

        need = self.n_fft // self.hop + 2  # very short generations: pad with silent frames
        if len(logmel) < need:
            logmel = np.concatenate([logmel, np.full((need - len(logmel), logmel.shape[1]), np.log10(self.floor), np.float32)])
        P = np.maximum(np.linalg.pinv(self.fb) @ (10.0 ** logmel.T), 0.0)
        mag = torch.from_numpy(np.sqrt(P).astype(np.float32))
        win = torch.hann_window(self.n_fft)
        g = torch.Generator().manual_seed(seed)
        ang = torch.exp(2j * np.pi * torch.rand(mag.shape, generator=g))
        length = (mag.shape[1] - 1) * self.hop
        for _ in range(n_iter):
            y = torch.istft(mag * ang, self.n_fft, self.hop, window=win, length=length)
            X = torch.stft(y, self.n_fft, self.hop, window=win, return_complex=True)
            ang = torch.exp(1j * X.angle())
        return torch.istft(mag * ang, self.n_fft, self.hop, window=win, length=length).numpy()


def trim_silence(logmel: np.ndarray, rel_db: float = 50.0) -> np.ndarray:
    """Drop leading/trailing frames whose energy is `rel_db` below the loudest frame."""
    e = 10 * np.log10(np.sum(10.0**logmel, 1))
    keep = np.nonzero(e > e.max() - rel_db)[0]
    return logmel[keep[0] : keep[-1] + 1] if len(keep) else logmel


def dtw_mel_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute log-mel difference in dB (10 * |log10 a - log10 b| averaged over mel bands)
    along the DTW path (steps (1,0), (0,1), (1,1)), divided by the path length. Vectorised over
    anti-diagonals."""
    cost = 10.0 * np.abs(a[:, None, :] - b[None, :, :]).mean(-1)
    n, m = cost.shape
    D = np.full((n + 1, m + 1), np.inf)
    L = np.zeros((n + 1, m + 1))
    D[0, 0] = 0.0
    for k in range(2, n + m + 1):
        i = np.arange(max(1, k - m), min(n, k - 1) + 1)
        j = k - i
        cand = np.stack([D[i - 1, j - 1], D[i - 1, j], D[i, j - 1]])
        lens = np.stack([L[i - 1, j - 1], L[i - 1, j], L[i, j - 1]])
        arg = cand.argmin(0)
        idx = np.arange(len(i))
        D[i, j] = cand[arg, idx] + cost[i - 1, j - 1]
        L[i, j] = lens[arg, idx] + 1
    return float(D[n, m] / L[n, m])


def speaker_vector(logmel: np.ndarray, rel_db: float = 30.0) -> np.ndarray:
    """Speaker-similarity proxy embedding: the mean and standard deviation of each log-mel band over
    the frames within `rel_db` of the loudest one (speech frames), concatenated [2 M]."""
    e = 10 * np.log10(np.sum(10.0**logmel, 1))
    x = logmel[e > e.max() - rel_db]
    return np.concatenate([x.mean(0), x.std(0)]).astype(np.float64)
