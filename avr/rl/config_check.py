"""Check a stage 2 config before Ray starts: verl's own validate_config, then what verl checks only later.

``python -m verl.trainer.main_ppo --cfg job`` (the ``--dry-run`` of train-fs-grpo.sh) prints the
composed config but skips verl's ``main()``, and with it ``validate_config``. train-fs-grpo.sh pipes
that printed config here, for a dry run and before a real run alike:

    python -m verl.trainer.main_ppo --config-dir ... --config-name ... --cfg job --resolve | python -m avr.rl.config_check -

Besides verl's checks (as ``main()`` calls them), this catches what verl 0.9.1 would only meet on the
GPUs, after the model loads: a vLLM context of the model's full 262,144 tokens, token budgets that
cannot hold one sequence (an assertion in ``rearrange_micro_batches`` after the first rollout), a
rollout tensor-parallel size that does not divide the GPUs of a node, and AVR's own names.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

VERL_CONFIG_SEARCH_PATH = "pkg://verl.trainer.config"


def compose(recipe: str | Path, overrides: list[str] | None = None) -> Any:
    """A recipe composed as train-fs-grpo.sh composes it: recipe folder + verl's config folder."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    recipe = Path(recipe).resolve()
    with initialize_config_dir(config_dir=str(recipe.parent), version_base=None):
        return hydra_compose(
            config_name=recipe.stem,
            overrides=[f"hydra.searchpath=[{VERL_CONFIG_SEARCH_PATH}]", *(overrides or [])],
        )


def verl_checks(config: Any) -> None:
    """verl's validate_config, called exactly as verl.trainer.main_ppo.main() calls it."""
    from verl.trainer.ppo.utils import need_critic, need_reference_policy
    from verl.utils.config import validate_config

    validate_config(
        config=config, use_reference_policy=need_reference_policy(config), use_critic=need_critic(config)
    )


def avr_problems(config: Any) -> list[str]:
    """What verl would meet only on the GPUs, as one line each (empty: nothing found)."""
    from omegaconf import OmegaConf

    def get(key: str, default: Any = None) -> Any:
        return OmegaConf.select(config, key, default=default)

    problems = []
    seq = int(get("data.max_prompt_length")) + int(get("data.max_response_length"))
    max_model_len = get("actor_rollout_ref.rollout.max_model_len")
    if max_model_len is None:
        problems.append(
            f"actor_rollout_ref.rollout.max_model_len is not set: verl then gives vLLM the model's whole "
            f"context (262,144 tokens for Qwen3-VL), which must fit the KV cache; set it to "
            f"data.max_prompt_length + data.max_response_length = {seq}"
        )
    elif int(max_model_len) < seq:
        problems.append(
            f"actor_rollout_ref.rollout.max_model_len ({max_model_len}) < data.max_prompt_length + "
            f"data.max_response_length ({seq}): vLLM would reject the longest prompts"
        )
    budgets = {
        "actor_rollout_ref.actor.ppo_max_token_len_per_gpu": "actor_rollout_ref.actor.use_dynamic_bsz",
        "actor_rollout_ref.rollout.log_prob_max_token_len_per_gpu": (
            "actor_rollout_ref.rollout.log_prob_use_dynamic_bsz"
        ),
        "actor_rollout_ref.ref.log_prob_max_token_len_per_gpu": "actor_rollout_ref.ref.log_prob_use_dynamic_bsz",
    }
    for budget, switch in budgets.items():
        if get(switch) and get(budget) is not None and int(get(budget)) < seq:
            problems.append(
                f"{budget} ({get(budget)}) < one prompt + response ({seq}): verl's dynamic batching "
                f"asserts on the first sequence that long"
            )
    tp, gpus = get("actor_rollout_ref.rollout.tensor_model_parallel_size"), get("trainer.n_gpus_per_node")
    if tp and gpus and int(gpus) % int(tp):
        problems.append(
            f"actor_rollout_ref.rollout.tensor_model_parallel_size ({tp}) does not divide "
            f"trainer.n_gpus_per_node ({gpus}): no vLLM replica can be placed"
        )
    problems += _avr_names(get)
    return problems


def _avr_names(get) -> list[str]:
    """The reward manager, trainer mode and reward preset the config names must resolve."""
    problems = []
    if get("reward.reward_manager.name") == "adaptive_reward":
        from verl.experimental.reward_loop.reward_manager import get_reward_manager_cls

        try:
            get_reward_manager_cls("adaptive_reward")
        except Exception as e:
            problems.append(f"reward manager adaptive_reward is not registered ({e}); is avr installed?")
    mode = get("trainer.v1.trainer_mode")
    if get("reward.reward_manager.name") == "adaptive_reward":
        from avr.rl.group_bonus import group_term_problem

        problem = group_term_problem(
            get("trainer.use_v1"), mode, get("actor_rollout_ref.rollout.agent.agent_loop_manager_class")
        )
        if problem:
            problems.append(problem)
    if mode:
        from verl.trainer.ppo.v1 import get_trainer_cls

        try:
            get_trainer_cls(mode)
        except ValueError as e:
            problems.append(f"trainer.v1.trainer_mode: {e}")
    if get("avr.replay_buffer_poll_s") is not None:
        from avr.rl.trainer_mode import replay_buffer_poll_s

        try:
            replay_buffer_poll_s({"avr": {"replay_buffer_poll_s": get("avr.replay_buffer_poll_s")}})
        except ValueError as e:
            problems.append(str(e))
    from avr.rl.reward import RewardConfig

    try:
        RewardConfig.load(get("avr.reward_config", "paper"))
    except (OSError, ValueError) as e:
        problems.append(f"avr.reward_config: {e}")
    return problems


def _root(e: BaseException) -> BaseException:
    """The innermost cause: verl's own message, not Hydra's instantiation wrapper around it."""
    while e.__cause__ is not None:
        e = e.__cause__
    return e


def check(config: Any) -> None:
    """Raise ValueError with every problem found (verl's own check first, as main() runs it)."""
    try:
        verl_checks(config)
    except Exception as e:  # verl raises assertions, ValueErrors and Hydra instantiation errors
        raise ValueError(f"verl's validate_config: {_root(e)}") from e
    problems = avr_problems(config)
    if problems:
        raise ValueError("; ".join(problems))


def main(argv: list[str] | None = None) -> int:
    """``python -m avr.rl.config_check FILE|-``: check a config printed by ``main_ppo --cfg job --resolve``."""
    import contextlib
    import io

    from omegaconf import OmegaConf

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(
            "usage: python -m avr.rl.config_check FILE|-  (a config printed by main_ppo --cfg job)",
            file=sys.stderr,
        )
        return 2
    text = sys.stdin.read() if args[0] == "-" else Path(args[0]).read_text()
    config = OmegaConf.create(text)
    try:
        with contextlib.redirect_stdout(io.StringIO()) as said:  # verl prints its notices to stdout
            check(config)
    except ValueError as e:
        print(f"avr.rl.config_check: error: {e}", file=sys.stderr)
        return 2
    notices = [line for line in said.getvalue().splitlines() if line.strip()]
    for line in notices:
        print(f"avr.rl.config_check: {line}", file=sys.stderr)
    print("avr.rl.config_check: the config passes verl's validate_config and avr's checks", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
