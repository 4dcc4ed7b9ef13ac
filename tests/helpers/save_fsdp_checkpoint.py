"""Write a real FSDP2 actor checkpoint of a model with verl's own FSDPCheckpointManager, at world size N.

    python tests/helpers/save_fsdp_checkpoint.py MODEL_DIR CKPT_DIR STEP [--world-size N] [--perturb]

The recipes train with ``strategy: fsdp2``. Each of N processes (a gloo group on the CPU) loads the
model, shards it with verl's own ``apply_fsdp2`` (every decoder layer and vision block, then the root,
as verl's FSDP engine wraps it) on a ("fsdp",) mesh as verl's ``create_device_mesh`` names it, and saves
through ``FSDPCheckpointManager``: one ``model_world_size_N_rank_R.pt`` of DTensor shards per rank, as
a GPU run of world size N writes them.
"""

import argparse
import os
import socket

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def _rank(rank: int, world_size: int, port: int, args: argparse.Namespace) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        WORLD_SIZE=str(world_size),
        LOCAL_RANK=str(rank),
    )
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    from omegaconf import OmegaConf
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import MixedPrecisionPolicy
    from transformers import AutoModelForImageTextToText, AutoProcessor
    from verl.utils.checkpoint.fsdp_checkpoint_manager import FSDPCheckpointManager
    from verl.utils.fsdp_utils import apply_fsdp2

    model = AutoModelForImageTextToText.from_pretrained(args.model_dir)
    if args.perturb:
        with torch.no_grad():
            model.lm_head.weight.add_(1.0)
    mesh = init_device_mesh("cpu", (world_size,), mesh_dim_names=("fsdp",))
    mp_policy = MixedPrecisionPolicy(
        param_dtype=torch.float32, reduce_dtype=torch.float32, cast_forward_inputs=True
    )
    fsdp_kwargs = {
        "mesh": mesh,
        "mp_policy": mp_policy,
        "offload_policy": None,
        "reshard_after_forward": True,
    }
    apply_fsdp2(model, fsdp_kwargs, {"wrap_policy": {}})
    optim = torch.optim.AdamW(model.parameters(), lr=1e-3)
    manager = FSDPCheckpointManager(
        model=model,
        optimizer=optim,
        lr_scheduler=None,
        processing_class=AutoProcessor.from_pretrained(args.model_dir),
        checkpoint_config=OmegaConf.create(
            {"save_contents": ["model", "optimizer", "extra"], "load_contents": ["model"]}
        ),
    )
    path = os.path.join(args.ckpt_dir, f"global_step_{args.step}", "actor")
    manager.save_checkpoint(path, global_step=args.step)
    dist.destroy_process_group()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("model_dir")
    p.add_argument("ckpt_dir")
    p.add_argument("step", type=int)
    p.add_argument("--world-size", type=int, default=1)
    p.add_argument("--perturb", action="store_true")
    args = p.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(_rank, args=(args.world_size, port, args), nprocs=args.world_size, join=True)


if __name__ == "__main__":
    main()
