"""Write a real world-size-1 FSDP actor checkpoint of a model, with verl's own FSDPCheckpointManager.

    python tests/helpers/save_fsdp_checkpoint.py MODEL_DIR CKPT_DIR STEP [--perturb]

FSDP2 (fully_shard) on a one-rank gloo group with verl's ("fsdp",) mesh, as verl's workers name it,
so the shards are DTensors laid out exactly as a GPU run of world size 1 writes them.
"""

import os
import socket
import sys

import torch
import torch.distributed as dist
from omegaconf import OmegaConf
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import fully_shard
from transformers import AutoModelForImageTextToText, AutoProcessor


def main() -> None:
    model_dir, ckpt_dir, step = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK="0", WORLD_SIZE="1", LOCAL_RANK="0"
    )
    dist.init_process_group("gloo")
    from verl.utils.checkpoint.fsdp_checkpoint_manager import FSDPCheckpointManager

    model = AutoModelForImageTextToText.from_pretrained(model_dir)
    if "--perturb" in sys.argv:
        with torch.no_grad():
            model.lm_head.weight.add_(1.0)
    fully_shard(model, mesh=init_device_mesh("cpu", (1,), mesh_dim_names=("fsdp",)))
    optim = torch.optim.AdamW(model.parameters(), lr=1e-3)
    manager = FSDPCheckpointManager(
        model=model,
        optimizer=optim,
        lr_scheduler=None,
        processing_class=AutoProcessor.from_pretrained(model_dir),
        checkpoint_config=OmegaConf.create(
            {"save_contents": ["model", "optimizer", "extra"], "load_contents": ["model"]}
        ),
    )
    manager.save_checkpoint(os.path.join(ckpt_dir, f"global_step_{step}", "actor"), global_step=step)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
