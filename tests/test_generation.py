"""Generation backends: the authors' decoding defaults, and the vLLM backend's requests (against a stand-in vllm module)."""

from __future__ import annotations

from avr.eval.items import EvalItem
from avr.eval.modes import Mode, run_mode
from avr.generation import Decoding


class _FakeVLLM:
    """Records what AVR hands vLLM's offline API and answers like it (text + token_ids per sample)."""

    def __init__(self):
        self.init: dict = {}
        self.calls: list = []

    def module(self):
        import types

        fake = self

        class LLM:
            def __init__(self, **kwargs):
                fake.init = kwargs

            def generate(self, prompts, params):
                fake.calls.append((prompts, params))
                outs = []
                for prompt, p in zip(prompts, params, strict=True):
                    done = prompt["prompt"].endswith("<answer>\n")
                    text = "4</answer>" if done else "four</perception><answer>4</answer>"
                    if p.stop:
                        text = text[: text.index(p.stop[0]) + len(p.stop[0])]
                    sample = types.SimpleNamespace(text=text, token_ids=list(range(len(text) // 4)))
                    outs.append(types.SimpleNamespace(outputs=[sample] * p.n))
                return outs

        class SamplingParams:
            def __init__(self, **kwargs):
                self.__dict__.update(kwargs)

        return types.SimpleNamespace(LLM=LLM, SamplingParams=SamplingParams)


def test_decoding_defaults_follow_the_authors():
    """Greedy and 4096 tokens as the authors; images at the training bounds (avr/pixels.py)."""
    d = Decoding()
    assert (d.temperature, d.max_new_tokens, d.min_pixels, d.max_pixels) == (0.0, 4096, 65_536, 262_144)


def test_vllm_backend_builds_prompts_images_and_sampling(tiny_model, monkeypatch):
    import sys

    from avr.generation import VLLMBackend

    fake = _FakeVLLM()
    monkeypatch.setitem(sys.modules, "vllm", fake.module())
    be = VLLMBackend(str(tiny_model), Decoding(max_new_tokens=64), tensor_parallel_size=2)
    assert fake.init["model"] == str(tiny_model) and fake.init["tensor_parallel_size"] == 2
    assert fake.init["mm_processor_kwargs"] == {"min_pixels": 65_536, "max_pixels": 262_144}
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (0, 0, 255)).save(buf, format="PNG")
    item = EvalItem(id="1", benchmark="b", question="How many?", images=[buf.getvalue()], answers=["4"])
    (pred,) = run_mode(Mode("forced", format=2), be, [item])
    assert pred["response"] == "<perception>\nfour</perception>\n\n<answer>\n4</answer>"
    (prompts1, params1), (prompts2, params2) = fake.calls
    first = prompts1[0]
    assert first["prompt"].endswith("<|im_start|>assistant\n<perception>\n")
    assert "<|vision_start|>" in first["prompt"] and "Question: How many?" in first["prompt"]
    assert first["multi_modal_data"]["image"][0].size == (40, 30)
    assert params1[0].stop == ["</perception>"] and params1[0].include_stop_str_in_output
    assert (params1[0].temperature, params1[0].max_tokens, params1[0].n) == (0.0, 64, 1)
    assert (
        prompts2[0]["prompt"].endswith("<perception>\nfour</perception>\n\n<answer>\n")
        and not params2[0].stop
    )
