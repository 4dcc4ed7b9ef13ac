"""Generation backends: one request shape, answered by transformers (CPU, tests) or vLLM (GPU).

Used by evaluation (``avr.eval``) and by data annotation (``avr.data.annotate``), so it sits below both.
Modes (``avr.eval.modes``) speak only in ``GenRequest``/``Generation``, so forcing a format or
sampling for consensus works the same on both backends. A request can *prefill* the start of the
assistant turn (``<answer>`` forces format 1) and *stop* after a string (``</perception>``), which is
all the modes need.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Protocol

from avr.formats import build_prompt, prompt_to_content
from avr.pixels import IMAGE_MAX_PIXELS, IMAGE_MIN_PIXELS


@dataclass(frozen=True)
class Decoding:
    """The authors' evaluation defaults: greedy, long budget; the training pixel bounds (avr/pixels.py)."""

    temperature: float = 0.0
    top_p: float = 1.0
    max_new_tokens: int = 4096
    min_pixels: int = IMAGE_MIN_PIXELS
    max_pixels: int = IMAGE_MAX_PIXELS
    seed: int = 0


@dataclass
class GenRequest:
    question: str
    images: list[bytes]
    choices: list[str] | None = None
    instruction: bool = False  # describe the formats in the prompt (models that never saw SFT)
    prefill: str = ""  # text the assistant turn starts with; counted as output, not generated
    stop: list[str] = field(default_factory=list)  # stop after (and including) any of these
    n: int = 1  # samples (temperature > 0) or copies (greedy)
    temperature: float | None = None  # None: the run's Decoding.temperature
    max_new_tokens: int | None = None


@dataclass(frozen=True)
class Generation:
    text: str  # generated text only (the prefill is not repeated here)
    tokens: int  # generated tokens, as the model's tokenizer counts them


class Backend(Protocol):
    def generate(self, requests: list[GenRequest]) -> list[list[Generation]]: ...

    def count_tokens(self, text: str) -> int: ...


def chat_messages(req: GenRequest) -> list[dict]:
    """The user turn every stage uses (``avr.formats.build_prompt``), as chat content parts."""
    prompt = build_prompt(req.question, req.choices, n_images=len(req.images), instruction=req.instruction)
    return [{"role": "user", "content": prompt_to_content(prompt)}]


def _cut_at_stop(text: str, stop: list[str]) -> tuple[str, bool]:
    """Keep text up to and including the first stop string; True when one was found."""
    hits = [(text.find(s), s) for s in stop if s and s in text]
    if not hits:
        return text, False
    pos, s = min(hits)
    return text[: pos + len(s)], True


class HFBackend:
    """transformers ``generate``: runs anywhere. Requests that share their generation settings go
    through ``generate`` together, left-padded, ``batch_size`` at a time (CPU evaluation of thousands
    of short answers is dominated by per-call overhead otherwise)."""

    def __init__(
        self, model_path: str, decoding: Decoding, *, device: str | None = None, batch_size: int = 16
    ):
        import torch
        from transformers import AutoModelForImageTextToText, AutoProcessor

        self.decoding = decoding
        self.batch_size = max(1, batch_size)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
        self.processor = AutoProcessor.from_pretrained(model_path)
        self.tokenizer = self.processor.tokenizer
        self.model = (
            AutoModelForImageTextToText.from_pretrained(model_path, dtype=dtype).to(self.device).eval()
        )

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"]) if text else 0

    def _inputs(self, reqs: list[GenRequest]):
        from PIL import Image

        texts = [
            self.processor.apply_chat_template(chat_messages(r), add_generation_prompt=True) + r.prefill
            for r in reqs
        ]
        images = [Image.open(io.BytesIO(b)).convert("RGB") for r in reqs for b in r.images] or None
        d = self.decoding
        size = {"shortest_edge": d.min_pixels, "longest_edge": d.max_pixels}
        side = self.tokenizer.padding_side
        self.tokenizer.padding_side = "left"  # generation continues every row from its last real token
        try:
            batch = self.processor(text=texts, images=images, size=size, padding=True, return_tensors="pt")
        finally:
            self.tokenizer.padding_side = side
        return batch.to(self.device)

    def _settings(self, req: GenRequest) -> tuple:
        temperature = self.decoding.temperature if req.temperature is None else req.temperature
        return (temperature, req.n, req.max_new_tokens or self.decoding.max_new_tokens, tuple(req.stop))

    def generate(self, requests: list[GenRequest]) -> list[list[Generation]]:
        groups: dict[tuple, list[int]] = {}
        for i, req in enumerate(requests):
            groups.setdefault(self._settings(req), []).append(i)
        out: list[list[Generation] | None] = [None] * len(requests)
        for settings, idx in groups.items():
            for start in range(0, len(idx), self.batch_size):
                chunk = idx[start : start + self.batch_size]
                for i, gens in zip(
                    chunk, self._generate([requests[i] for i in chunk], *settings), strict=True
                ):
                    out[i] = gens
        return out  # type: ignore[return-value]

    def _generate(
        self, reqs: list[GenRequest], temperature: float, n: int, max_new_tokens: int, stop: tuple
    ) -> list[list[Generation]]:
        import torch

        inputs = self._inputs(reqs)
        sample = temperature > 0
        kwargs = {
            "max_new_tokens": max_new_tokens,
            "do_sample": sample,
            "num_return_sequences": n if sample else 1,
            "pad_token_id": self.tokenizer.pad_token_id,
        }
        if sample:
            kwargs.update(temperature=temperature, top_p=self.decoding.top_p)
        if stop:
            kwargs.update(stop_strings=list(stop), tokenizer=self.tokenizer)
        with torch.no_grad():
            if sample:
                torch.manual_seed(self.decoding.seed)
            ids = self.model.generate(**inputs, **kwargs)
        start = inputs["input_ids"].shape[1]
        per_req = n if sample else 1
        out = []
        for r in range(len(reqs)):
            gens = []
            for row in ids[r * per_req : (r + 1) * per_req, start:]:
                row = row.tolist()
                n_tok = len(row)
                while n_tok and row[n_tok - 1] == self.tokenizer.pad_token_id:
                    n_tok -= 1
                text = self.tokenizer.decode(row[:n_tok], skip_special_tokens=True)
                text, _ = _cut_at_stop(text, list(stop))
                gens.append(Generation(text=text, tokens=n_tok))
            out.append(gens if sample else gens * n)
        return out


class VLLMBackend:
    """vLLM offline ``LLM.generate`` on GPUs; all requests of a call go in one batch."""

    def __init__(self, model_path: str, decoding: Decoding, **engine_kwargs):
        try:
            from vllm import LLM
        except ImportError as e:  # pragma: no cover - vllm is a GPU-only dependency
            raise RuntimeError(
                "the vllm backend needs vLLM (GPU machines: bash setup_env.sh --gpu); use --backend hf on CPU"
            ) from e
        from transformers import AutoProcessor

        self.decoding = decoding
        self.processor = AutoProcessor.from_pretrained(model_path)
        self.tokenizer = self.processor.tokenizer
        mm = {"min_pixels": decoding.min_pixels, "max_pixels": decoding.max_pixels}
        # MMMU items carry up to 7 images; vLLM reserves memory per allowed image, so allow what is needed
        engine_kwargs.setdefault("limit_mm_per_prompt", {"image": 8})
        self.llm = LLM(model=model_path, mm_processor_kwargs=mm, seed=decoding.seed, **engine_kwargs)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"]) if text else 0

    def generate(self, requests: list[GenRequest]) -> list[list[Generation]]:  # pragma: no cover - GPU only
        from PIL import Image
        from vllm import SamplingParams

        prompts, params = [], []
        for req in requests:
            text = self.processor.apply_chat_template(chat_messages(req), add_generation_prompt=True)
            images = [Image.open(io.BytesIO(b)).convert("RGB") for b in req.images]
            prompts.append({"prompt": text + req.prefill, "multi_modal_data": {"image": images}})
            temperature = self.decoding.temperature if req.temperature is None else req.temperature
            params.append(
                SamplingParams(
                    n=req.n,
                    temperature=temperature,
                    top_p=self.decoding.top_p if temperature > 0 else 1.0,
                    max_tokens=req.max_new_tokens or self.decoding.max_new_tokens,
                    stop=req.stop or None,
                    include_stop_str_in_output=True,
                )
            )
        results = self.llm.generate(prompts, params)
        return [[Generation(text=o.text, tokens=len(o.token_ids)) for o in r.outputs] for r in results]


def make_backend(
    name: str, model_path: str, decoding: Decoding, *, tensor_parallel_size: int = 1, batch_size: int = 16
) -> Backend:
    if name == "hf":
        return HFBackend(model_path, decoding, batch_size=batch_size)
    if name == "vllm":
        return VLLMBackend(model_path, decoding, tensor_parallel_size=tensor_parallel_size)
    raise ValueError(f"unknown backend {name!r}; use 'hf' (transformers, CPU or GPU) or 'vllm' (GPU)")
