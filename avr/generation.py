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


@dataclass(frozen=True)
class Decoding:
    """The authors' evaluation defaults: greedy, long budget, Qwen-VL pixel bounds."""

    temperature: float = 0.0
    top_p: float = 1.0
    max_new_tokens: int = 4096
    min_pixels: int = 35_840
    max_pixels: int = 458_752
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
    """transformers ``generate``: runs anywhere, one request at a time (samples batched by ``n``)."""

    def __init__(self, model_path: str, decoding: Decoding, *, device: str | None = None):
        import torch
        from transformers import AutoModelForImageTextToText, AutoProcessor

        self.decoding = decoding
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
        self.processor = AutoProcessor.from_pretrained(model_path)
        self.tokenizer = self.processor.tokenizer
        self.model = (
            AutoModelForImageTextToText.from_pretrained(model_path, dtype=dtype).to(self.device).eval()
        )

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"]) if text else 0

    def _inputs(self, req: GenRequest):
        from PIL import Image

        text = (
            self.processor.apply_chat_template(chat_messages(req), add_generation_prompt=True) + req.prefill
        )
        images = [Image.open(io.BytesIO(b)).convert("RGB") for b in req.images] or None
        d = self.decoding
        size = {"shortest_edge": d.min_pixels, "longest_edge": d.max_pixels}
        return self.processor(text=[text], images=images, size=size, return_tensors="pt").to(self.device)

    def generate(self, requests: list[GenRequest]) -> list[list[Generation]]:
        import torch

        out: list[list[Generation]] = []
        for req in requests:
            inputs = self._inputs(req)
            temperature = self.decoding.temperature if req.temperature is None else req.temperature
            sample = temperature > 0
            kwargs = {
                "max_new_tokens": req.max_new_tokens or self.decoding.max_new_tokens,
                "do_sample": sample,
                "num_return_sequences": req.n if sample else 1,
                "pad_token_id": self.tokenizer.pad_token_id,
            }
            if sample:
                kwargs.update(temperature=temperature, top_p=self.decoding.top_p)
            if req.stop:
                kwargs.update(stop_strings=req.stop, tokenizer=self.tokenizer)
            with torch.no_grad():
                if sample:
                    torch.manual_seed(self.decoding.seed)
                ids = self.model.generate(**inputs, **kwargs)
            start = inputs["input_ids"].shape[1]
            gens = []
            for row in ids[:, start:]:
                row = row.tolist()
                n_tok = len(row)
                while n_tok and row[n_tok - 1] == self.tokenizer.pad_token_id:
                    n_tok -= 1
                text = self.tokenizer.decode(row[:n_tok], skip_special_tokens=True)
                text, _ = _cut_at_stop(text, req.stop)
                gens.append(Generation(text=text, tokens=n_tok))
            out.append(gens if sample else gens * req.n)
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


def make_backend(name: str, model_path: str, decoding: Decoding, *, tensor_parallel_size: int = 1) -> Backend:
    if name == "hf":
        return HFBackend(model_path, decoding)
    if name == "vllm":
        return VLLMBackend(model_path, decoding, tensor_parallel_size=tensor_parallel_size)
    raise ValueError(f"unknown backend {name!r}; use 'hf' (transformers, CPU or GPU) or 'vllm' (GPU)")
