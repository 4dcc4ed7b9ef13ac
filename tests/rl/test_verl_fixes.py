"""The fix for verl 0.9.1's equal-length mRoPE position_ids (avr/rl/verl_fixes.py), on verl's own function."""

import pytest
import torch
from tensordict import TensorDict


def _batch(lengths: list[int], width: int = 8) -> TensorDict:
    """Left-padded prompts + right-padded responses as verl's trainer hands them over: B sequences of
    ``lengths`` valid tokens in ``width`` columns, Qwen3-VL's (4, width) position_ids per sequence."""
    b = len(lengths)
    mask = torch.zeros(b, width, dtype=torch.long)
    for i, n in enumerate(lengths):
        mask[i, width - n :] = 1
    pos = (
        torch.cumsum(mask, dim=1).unsqueeze(1).expand(b, 4, width).clone()
        + torch.arange(4).view(1, 4, 1) * 100
    )
    return TensorDict(
        {
            "input_ids": torch.arange(b * width).view(b, width),
            "attention_mask": mask,
            "response_mask": mask[:, -2:].clone(),
            "position_ids": pos,
        },
        batch_size=[b],
    )


def _per_sequence(td: TensorDict) -> list[torch.Tensor]:
    return [td["position_ids"][i][:, td["attention_mask"][i].bool()] for i in range(len(td))]


def test_torch_still_flips_equal_lengths_so_the_fix_is_needed():
    from avr.rl.verl_fixes import torch_flips_equal_lengths

    assert torch_flips_equal_lengths()  # when this fails, torch fixed it: delete avr/rl/verl_fixes.py


@pytest.mark.parametrize("lengths", [[5, 5, 5, 5], [3, 6, 5, 6]])
def test_position_ids_are_jagged_on_the_sequence_whatever_the_lengths(lengths):
    import verl.workers.utils.padding as padding
    from verl.utils.tensordict_utils import chunk_tensordict, index_select_tensor_dict

    import avr.rl.verl_fixes as fixes

    assert getattr(padding.left_right_2_no_padding, "__avr_fixed__", False)  # applied at import
    td = _batch(lengths)
    expected = _per_sequence(td)
    original = padding.left_right_2_no_padding.__wrapped__(td.clone())["position_ids"]
    assert original._ragged_idx == (1 if len(set(lengths)) == 1 else 2)  # the bug's condition
    out = padding.left_right_2_no_padding(td.clone())
    pos = out["position_ids"]
    assert pos._ragged_idx == 2 and pos.shape[:2] == (len(lengths), 4)
    assert all(torch.equal(a, b) for a, b in zip(pos.unbind(), expected, strict=True))
    # what verl does with it next: micro-batches (index_select) of chunks (the dispatch to ranks)
    for chunk, idx in zip(chunk_tensordict(out, 2), ([1, 0], [0, 1]), strict=True):
        picked = index_select_tensor_dict(chunk, idx)["position_ids"]
        assert picked._ragged_idx == 2 and [t.shape[1] for t in picked.unbind()] == [
            t.shape[1] for t in (chunk["position_ids"].unbind()[i] for i in idx)
        ]
    assert "verl.workers.utils.padding.left_right_2_no_padding" in fixes.applied


def test_the_trainer_calls_the_fixed_function():
    import verl.trainer.ppo.ray_trainer as ray_trainer

    import avr.rl.verl_fixes  # noqa: F401

    assert getattr(ray_trainer.left_right_2_no_padding, "__avr_fixed__", False)
