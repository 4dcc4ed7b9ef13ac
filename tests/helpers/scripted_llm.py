"""A scripted stand-in for verl's LLM server client (vLLM), for running verl's agent loop on a CPU.

verl's agent loop calls ``await llm_client.generate(request_id=..., prompt_ids=..., image_data=...)``
and expects a ``TokenOutput``. This answers the k-th request for a prompt with the k-th response of
a pattern picked by the prompt, so each GRPO group gets a known mix of formats. It also reports, in
``extra_fields`` (which verl stores with the sample), the size of every image the agent loop handed
it: the resolution the policy would see. Everything else in the path is verl's own code.

It lives in a module of its own because Ray pickles it into the agent-loop worker process, which
imports it from this folder (the tests put it on the workers' PYTHONPATH).
"""

from __future__ import annotations

LONG = " ".join(["step"] * 420)  # well past the 300-token length threshold
PATTERNS = [
    [
        "<answer>2</answer>",
        "<answer>3</answer>",
        "<perception>two shapes</perception><answer>2</answer>",
        "2",
    ],
    [
        "<perception>p</perception><answer>2</answer>",
        "<perception>p</perception><reasoning>r</reasoning><answer>2</answer>",
        "<answer>red</answer>",
        f"<perception>{LONG}</perception><reasoning>r</reasoning><answer>2</answer>",
    ],
    ["<answer>2</answer>", "<answer>4</answer>", "<answer>2</answer>", "<answer>blue</answer>"],
]


class ScriptedLLM:
    def __init__(self, model_path: str):
        self.model_path = model_path
        self.calls: dict[tuple[int, ...], int] = {}
        self._tokenizer = None

    async def generate(self, *, request_id, prompt_ids, sampling_params, image_data=None, **kwargs):
        from verl.utils import hf_tokenizer
        from verl.workers.rollout.replica import TokenOutput

        if self._tokenizer is None:
            self._tokenizer = hf_tokenizer(self.model_path)
        key = tuple(int(i) for i in prompt_ids)
        k = self.calls.get(key, 0)
        self.calls[key] = k + 1
        pattern = PATTERNS[sum(key) % len(PATTERNS)]
        text = pattern[k % len(pattern)]
        ids = [*self._tokenizer(text, add_special_tokens=False)["input_ids"], self._tokenizer.eos_token_id]
        sizes = [list(im.size) for im in image_data or []]
        return TokenOutput(token_ids=ids, stop_reason="completed", extra_fields={"test_image_sizes": sizes})
