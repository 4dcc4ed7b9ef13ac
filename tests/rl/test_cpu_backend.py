"""The CPU backend's parts without a verl run: the hf rollout server, the platform, the patches' checks,
and what train-fs-grpo.sh --cpu hands verl."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server(tiny_model):
    """An HFRolloutServer on the tiny model, used in-process (its Ray actor runs the same code)."""
    from omegaconf import OmegaConf

    from avr.rl.cpu.rollout import HFRolloutServer

    config = types.SimpleNamespace(
        engine_kwargs={"hf": {"num_threads": 1}},
        dtype="float32",
        prompt_length=128,
        response_length=12,
        max_num_seqs=64,
        logprobs_mode="processed_logprobs",
    )
    return HFRolloutServer(config, OmegaConf.create({"path": str(tiny_model)}), replica_rank=0)


def _prompts(server, n_images: int = 2):
    """Prompt ids as verl's agent loop builds them (chat template + processor), and their images."""
    from PIL import Image

    from avr.rl.cpu.rollout import _Request

    proc, reqs = server.processor, []
    for i in range(n_images):
        image = Image.new("RGB", (64 + 32 * i, 64), (40 * i, 200, 30))
        question = "How many?" + " Really?" * i  # prompts of different lengths: left padding
        messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]}]
        text = proc.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        ids = proc(text=[text], images=[image])["input_ids"][0]
        reqs += [_Request(list(ids), [image], 12, (0.8, 0.95, -1, 1.0), True, None) for _ in range(3)]
    return reqs


def _reference_log_probs(server, req, ids, temperature):
    proc = server.processor
    full = torch.tensor([req.prompt_ids + ids])
    vision = proc.image_processor(images=req.images, return_tensors="pt")
    with torch.no_grad():
        logits = server.model(
            input_ids=full,
            pixel_values=vision["pixel_values"],
            image_grid_thw=vision["image_grid_thw"],
            mm_token_type_ids=torch.tensor(proc.create_mm_token_type_ids(full.tolist())),
        ).logits[0, len(req.prompt_ids) - 1 : -1]
    logits = logits.index_fill(-1, server.banned, float("-inf"))  # as vLLM's compute_logits masks them
    return torch.log_softmax(logits / temperature, -1).gather(-1, torch.tensor(ids)[:, None])[:, 0]


def test_batched_rollout_log_probs_are_the_trainers(server):
    """Left-padded batches of image prompts: each row's log-probs are a lone forward pass's."""
    reqs = _prompts(server)
    server.config.logprobs_mode = "raw_logprobs"  # before temperature: comparable exactly
    try:
        out = server._generate_batch(reqs)
    finally:
        server.config.logprobs_mode = "processed_logprobs"
    assert len(out) == len(reqs)
    for req, (ids, log_probs) in zip(reqs, out, strict=True):
        assert 1 <= len(ids) <= 12 and len(log_probs) == len(ids)
        ref = _reference_log_probs(server, req, ids, temperature=1.0)
        assert torch.allclose(torch.tensor(log_probs), ref, atol=1e-4), (log_probs, ref)
    # processed (verl's default, vLLM's meaning): after temperature and top-p, so close to the
    # temperature-scaled forward and never below it (top-p only renormalises upwards)
    for req, (ids, log_probs) in zip(reqs, server._generate_batch(reqs), strict=True):
        ref = _reference_log_probs(server, req, ids, temperature=0.8)
        assert (torch.tensor(log_probs) >= ref - 1e-4).all()


def test_rollout_never_samples_a_vision_placeholder_or_a_padding_row(server):
    """The random model is pushed towards <|image_pad|> and the embedding's padding rows: masked."""
    banned = server.banned.tolist()
    assert server.processor.image_token_id in banned and server.processor.video_token_id in banned
    vocab = server.model.get_output_embeddings().weight.shape[0]
    assert set(range(len(server.tokenizer), vocab)) <= set(banned)
    head = server.model.get_output_embeddings().weight
    saved = head.detach().clone()
    try:
        with torch.no_grad():
            head[banned] *= 50  # these logits now dominate
        for ids, _ in server._generate_batch(_prompts(server, n_images=1)):
            assert not set(ids) & set(banned)
    finally:
        with torch.no_grad():
            head.copy_(saved)


def test_weights_load_by_name_and_bad_names_say_which(server):
    name = "lm_head.weight" if "lm_head.weight" in server.params else next(iter(server.params))
    target = server.params[name]
    saved = target.detach().clone()
    try:
        assert server.load_weights([(name, torch.ones_like(saved))]) == 1
        assert torch.equal(server.params[name], torch.ones_like(saved))
    finally:
        server.load_weights([(name, saved)])
    with pytest.raises(KeyError, match=r"no\.such\.weight"):
        server.load_weights([("no.such.weight", torch.zeros(1))])
    with pytest.raises(ValueError, match=re.escape(name)):
        server.load_weights([(name, torch.zeros(3))])


def test_the_platform_answers_for_the_cpu():
    from verl.plugin.platform import PlatformRegistry

    import avr.rl.cpu.platform  # noqa: F401

    platform = PlatformRegistry.get("cpu")()
    assert (platform.device_name, platform.current_device(), platform.communication_backend_name()) == (
        "cpu",
        "cpu",
        "gloo",
    )
    assert not platform.is_platform_available(use_smi_check=True)  # only VERL_PLATFORM=cpu selects it
    mod = platform.device_module
    free, total = mod.mem_get_info()
    assert 0 < free <= total
    state = mod.get_rng_state()
    a = torch.rand(2)
    mod.set_rng_state(state)
    assert torch.equal(a, torch.rand(2))
    mod.empty_cache(), mod.synchronize(), mod.set_device(0)  # no-ops verl calls


def _module(**attrs) -> types.ModuleType:
    """A stand-in for the verl module a patch replaces a name in."""
    module = types.ModuleType("stand_in")
    module.__dict__.update(attrs)
    return module


def test_each_patch_applies_only_where_verl_still_needs_it():
    """Each patch, on stand-in modules: applied where the check finds verl 0.9.1's behaviour, else not."""
    from verl.utils import distributed

    from avr.rl.cpu import patches

    # 1. this verl still composes "cpu:gloo,<device>:<collective>" when no backend is given
    verls = distributed.initialize_global_process_group_ray
    assert patches.needs_gloo_backend(getattr(verls, "__wrapped__", verls))

    def broken(timeout_second=None, backend=None):  # what verl 0.9.1 does, as the check reads it
        return backend or f"cpu:gloo,{get_device_name()}:{get_nccl_backend()}"  # noqa: F821

    module = _module(initialize_global_process_group_ray=broken)
    patches._gloo_default(module)
    assert module.initialize_global_process_group_ray() == "cpu:gloo"  # no backend: gloo alone
    assert module.initialize_global_process_group_ray(backend="cpu:gloo") == "cpu:gloo"
    patches._gloo_default(module)  # twice is once
    assert module.initialize_global_process_group_ray.__wrapped__ is broken

    def fixed(timeout_second=None, backend=None):
        return backend or "gloo"

    assert not patches.needs_gloo_backend(fixed)
    module = _module(initialize_global_process_group_ray=fixed)
    patches._gloo_default(module)
    assert module.initialize_global_process_group_ray is fixed  # a fixed verl is left alone
    # 2. the rollout table gets ("hf", "async") once, and an entry verl may add later is kept
    table = {("vllm", "async"): "x"}
    patches._register_rollout(_module(_ROLLOUT_REGISTRY=table))
    assert table[("hf", "async")] == patches.ROLLOUT_ADAPTER
    table[("hf", "async")] = "theirs"
    patches._register_rollout(_module(_ROLLOUT_REGISTRY=table))
    assert table[("hf", "async")] == "theirs"
    # 3. the unpinned offload, only where pinning is impossible (here: no accelerator)
    from torch.distributed.fsdp import CPUOffloadPolicy

    module = _module(CPUOffloadPolicy=CPUOffloadPolicy)
    patches._unpinned_offload(module)
    if patches.can_pin_memory():
        assert module.CPUOffloadPolicy is CPUOffloadPolicy
    else:
        assert module.CPUOffloadPolicy(pin_memory=True).pin_memory is False
        assert issubclass(module.CPUOffloadPolicy, CPUOffloadPolicy)


def test_patches_hook_the_modules_verl_imports_later(tmp_path, monkeypatch):
    """after_import runs a hook once its module has executed (the heavy verl modules load late)."""
    from avr.rl.cpu import patches

    (tmp_path / "late_mod.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    seen = []
    patches.after_import("late_mod", lambda m: seen.append(m.VALUE))
    assert seen == []
    importlib.import_module("late_mod")
    assert seen == [1]
    patches.after_import("late_mod", lambda m: seen.append(2))  # already imported: runs now
    assert seen == [1, 2]


def test_the_rollout_module_imports_verl_first():
    """A Ray actor unpickling HFRolloutServer imports the module before verl (see its docstring)."""
    first = (REPO / "avr/rl/cpu/rollout.py").read_text().splitlines()[0]
    assert first.startswith("import verl")
    r = subprocess.run(
        [sys.executable, "-c", "import avr.rl.cpu.rollout as r; print(r.HFRolloutServer.__name__)"],
        capture_output=True,
        text=True,
        env={
            **__import__("os").environ,
            "VERL_USE_EXTERNAL_MODULES": "avr.rl.cpu.platform,avr.rl.cpu.patches,avr.rl.cpu.rollout",
        },
    )
    assert r.returncode == 0 and "HFRolloutServer" in r.stdout, r.stderr[-2000:]


def test_the_script_loads_the_backends_modules():
    from avr.rl.cpu import MODULES

    script = (REPO / "train-fs-grpo.sh").read_text()
    assert f'VERL_USE_EXTERNAL_MODULES="$VERL_USE_EXTERNAL_MODULES,{",".join(MODULES)}"' in script
    # and, before it, on any backend: the fix for verl's equal-length position_ids (avr/rl/verl_fixes.py)
    assert (
        'VERL_USE_EXTERNAL_MODULES="${VERL_USE_EXTERNAL_MODULES:+$VERL_USE_EXTERNAL_MODULES,}avr.rl.verl_fixes"'
        in script
    )
