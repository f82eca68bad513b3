"""The alignment objectives as small functions on tensors: SFT, Bradley-Terry, DPO and PPO.

These are the formulas the stages' TRL 1.12 trainers compute, written out so a notebook (and a student) can
compute them by hand on one example; ``tests/test_losses.py`` checks each against the trainer's own loss on a tiny
batch (tolerance 1e-5, fp32). :mod:`trust_utils.attribution` computes its SFT, Bradley-Terry and DPO losses with
them. Shapes: ``B`` batch, ``T`` sequence length, ``V`` vocabulary.

Conventions (those of transformers/TRL)
    * Labels: a token whose label is ``-100`` (:data:`IGNORE_INDEX`) carries no loss (prompt and padding).
    * Shift: the logits at position ``t`` predict token ``t + 1``; the first token is never a target.
    * SFT: mean NLL over every labelled token of the *batch* (a token mean, not a mean of per-sequence means), as
      ``model(..., labels=labels).loss`` when the Trainer passes no ``num_items_in_batch``.
    * DPO: a sequence log-prob is the *sum* of its completion tokens' log-probs.

PPO (``trl.experimental.ppo.PPOTrainer.train``)
    * Per-token KL to the reference, ``k1 = logp - logp_ref`` or ``k3 = (exp(logr) - 1) - logr`` with
      ``logr = logp_ref - logp`` (Schulman's estimators); zero after the response's last real token.
    * Rewards ``-kl_coef * kl`` per token plus the reward model's score on one token. TRL puts the score at index
      ``sequence_length + 1`` (one past the last real response token, clipped to the last index); the textbook
      (InstructGPT, trlx) puts it on the last real token. Default ``score_offset=1`` follows TRL, since that is what
      our PPO stage trained with; ``score_offset=0`` gives the textbook placement.
    * GAE with ``gamma``, ``lam``; returns = advantages + values; advantages are whitened over the response tokens.
    * Policy loss: clipped surrogate ``max(-A rho, -A clip(rho, 1 - eps, 1 + eps))``, masked mean over response
      tokens; value loss ``0.5 * max((v - R)^2, (clip(v, v_old +- eps_v) - R)^2)``, masked mean over response tokens
      plus one (TRL's ``padding_mask_p1``).
"""

from __future__ import annotations

from typing import Any

IGNORE_INDEX = -100
#: TRL fills log-probs of padding positions with this before the KL (equal values give a zero KL there).
INVALID_LOGPROB = 1.0


# ------------------------------------------------------------------------------------------ helpers
def token_logprobs(logits: Any, input_ids: Any) -> Any:
    """Log-prob of each next token: ``(B, T, V), (B, T) -> (B, T - 1)``; entry ``t`` is ``log p(x_{t+1} | x_<=t)``."""
    import torch

    lp = torch.log_softmax(logits[:, :-1].float(), dim=-1)
    return lp.gather(-1, input_ids[:, 1:, None].long())[..., 0]


def sequence_logprobs(logits: Any, input_ids: Any, completion_mask: Any) -> Any:
    """Summed log-probs of the completion tokens: ``(B, T, V), (B, T), (B, T) -> (B,)``.

    ``completion_mask[b, t]`` is 1 where token ``t`` belongs to the completion (TRL's DPO ``completion_mask``).
    """
    if completion_mask.shape != input_ids.shape:
        raise ValueError(f"completion_mask has shape {tuple(completion_mask.shape)} but input_ids "
                         f"{tuple(input_ids.shape)}; pass one 0/1 entry per token")
    lp = token_logprobs(logits, input_ids)
    return (lp * completion_mask[:, 1:].to(lp.dtype)).sum(dim=1)


def masked_mean(values: Any, mask: Any) -> Any:
    """Mean of ``values`` where ``mask`` is true (any shape, the two equal)."""
    m = mask.to(values.dtype)
    return (values * m).sum() / m.sum()


def masked_whiten(values: Any, mask: Any, shift_mean: bool = True) -> Any:
    """``(x - mean) / sqrt(var + 1e-8)`` over the masked entries (unbiased variance, as TRL); ``shift_mean=False``
    adds the mean back."""
    import torch

    mean = masked_mean(values, mask)
    n = mask.sum()
    if int(n) < 2:
        raise ValueError("masked_whiten needs at least two unmasked values (use a larger batch)")
    var = masked_mean((values - mean) ** 2, mask) * n / (n - 1)
    out = (values - mean) * torch.rsqrt(var + 1e-8)
    return out + mean if not shift_mean else out


# ------------------------------------------------------------------------------------------ SFT
def sft_loss(logits: Any, labels: Any, ignore_index: int = IGNORE_INDEX) -> Any:
    """Masked token NLL: ``(B, T, V), (B, T) -> ()``, the mean over tokens whose label is not ``ignore_index``.

    ``labels`` are the input ids with the prompt and padding set to ``-100`` (TRL ``completion_only_loss``).
    """
    import torch

    if logits.dim() != 3 or labels.shape != logits.shape[:2]:
        raise ValueError(f"sft_loss: logits must be (B, T, V) and labels (B, T); got {tuple(logits.shape)} and "
                         f"{tuple(labels.shape)}")
    tgt = labels[:, 1:]
    keep = tgt != ignore_index
    if not bool(keep.any()):
        raise ValueError("sft_loss: every label is ignore_index (-100): the batch has no reply token to learn; "
                         "check the prompt/completion split or max_length")
    lp = torch.log_softmax(logits[:, :-1].float(), dim=-1)
    nll = -lp.gather(-1, tgt.clamp(min=0)[..., None].long())[..., 0]
    return (nll * keep).sum() / keep.sum()


# ------------------------------------------------------------------------------------------ reward model
def bradley_terry_loss(rewards_chosen: Any, rewards_rejected: Any, margin: Any = None) -> Any:
    """``-log sigmoid(r_chosen - r_rejected [- margin])``, mean over pairs: ``(B,), (B,) -> ()``."""
    import torch.nn.functional as F

    if rewards_chosen.shape != rewards_rejected.shape:
        raise ValueError(f"bradley_terry_loss: chosen {tuple(rewards_chosen.shape)} and rejected "
                         f"{tuple(rewards_rejected.shape)} rewards must have the same shape (one per pair)")
    d = rewards_chosen - rewards_rejected
    if margin is not None:
        d = d - margin
    return -F.logsigmoid(d).mean()


# ------------------------------------------------------------------------------------------ DPO
def dpo_loss(policy_chosen_logps: Any, policy_rejected_logps: Any, ref_chosen_logps: Any, ref_rejected_logps: Any,
             beta: float = 0.1) -> tuple[Any, Any, Any]:
    """DPO's sigmoid loss on sequence log-probs, all ``(B,)``; returns ``(loss (), chosen_rewards (B,),
    rejected_rewards (B,))``.

    ``loss = mean(-log sigmoid(beta * [(pi_c - ref_c) - (pi_r - ref_r)]))``; the implicit rewards are
    ``beta * (pi - ref)`` (TRL logs them detached as ``rewards/chosen`` and ``rewards/rejected``).
    """
    import torch.nn.functional as F

    chosen = policy_chosen_logps - ref_chosen_logps
    rejected = policy_rejected_logps - ref_rejected_logps
    loss = -F.logsigmoid(beta * (chosen - rejected)).mean()
    return loss, beta * chosen.detach(), beta * rejected.detach()


# ------------------------------------------------------------------------------------------ PPO
def response_padding_mask(sequence_lengths: Any, length: int) -> Any:
    """``(B,) -> (B, length)`` bool, True after each response's last real token (index ``sequence_lengths[b]``)."""
    import torch

    idx = torch.arange(length, device=sequence_lengths.device)[None, :]
    return idx > sequence_lengths[:, None]


def kl_penalty(logprobs: Any, ref_logprobs: Any, estimator: str = "k1") -> Any:
    """Per-token KL estimate to the reference, ``(B, T), (B, T) -> (B, T)``: ``k1 = logp - logp_ref``, or ``k3``."""
    logr = ref_logprobs - logprobs
    if estimator == "k1":
        return -logr
    if estimator == "k3":
        return (logr.exp() - 1) - logr
    raise ValueError(f"kl_penalty: estimator must be 'k1' or 'k3', got {estimator!r}")


def ppo_rewards(logprobs: Any, ref_logprobs: Any, scores: Any, sequence_lengths: Any, kl_coef: float,
                estimator: str = "k1", score_offset: int = 1) -> dict[str, Any]:
    """Shaped per-token rewards ``-kl_coef * kl`` plus the score on one token (see the module docstring).

    Args:
        logprobs, ref_logprobs: (B, T) log-probs of the response tokens under the policy and the reference.
        scores: (B,) reward-model scores.
        sequence_lengths: (B,) index of each response's last real token (TRL: first pad index - 1).
        score_offset: 1 = TRL (score at ``sequence_lengths + 1``, or the last index), 0 = on the last real token.
    Returns:
        ``{"kl": (B, T), "non_score_reward": (B, T), "rewards": (B, T)}``; the KL is 0 after the last real token.
    """
    import torch

    pad = response_padding_mask(sequence_lengths, logprobs.shape[1])
    lp = torch.masked_fill(logprobs, pad, INVALID_LOGPROB)
    ref = torch.masked_fill(ref_logprobs, pad, INVALID_LOGPROB)
    kl = kl_penalty(lp, ref, estimator)
    non_score = -kl_coef * kl
    rewards = non_score.clone()
    end = sequence_lengths + score_offset
    end = torch.where(end < rewards.shape[1], end, sequence_lengths)
    rewards[torch.arange(rewards.shape[0], device=rewards.device), end] += scores
    return {"kl": kl, "non_score_reward": non_score, "rewards": rewards}


def gae(rewards: Any, values: Any, gamma: float = 1.0, lam: float = 0.95) -> tuple[Any, Any]:
    """Generalised advantage estimation, ``(B, T), (B, T) -> (advantages (B, T), returns (B, T))``, not whitened.

    ``delta_t = r_t + gamma * V_{t+1} - V_t`` (``V_T = 0``), ``A_t = delta_t + gamma * lam * A_{t+1}``,
    ``returns = A + V``. Pass ``values`` already zeroed after the episode's end, as TRL does.
    """
    import torch

    T = rewards.shape[1]
    last = torch.zeros_like(rewards[:, 0])
    out = []
    for t in reversed(range(T)):
        nxt = values[:, t + 1] if t < T - 1 else torch.zeros_like(values[:, 0])
        delta = rewards[:, t] + gamma * nxt - values[:, t]
        last = delta + gamma * lam * last
        out.append(last)
    adv = torch.stack(out[::-1], dim=1)
    return adv, adv + values


def ppo_policy_loss(logprobs: Any, old_logprobs: Any, advantages: Any, mask: Any, cliprange: float = 0.2
                    ) -> tuple[Any, Any]:
    """Clipped surrogate, all ``(B, T)`` with ``mask`` True on response tokens: ``(loss (), clipfrac ())``.

    ``rho = exp(logp - logp_old)``; ``loss = masked_mean(max(-A rho, -A clip(rho, 1 - eps, 1 + eps)))``.
    """
    import torch

    ratio = torch.exp(logprobs - old_logprobs)
    l1 = -advantages * ratio
    l2 = -advantages * torch.clamp(ratio, 1.0 - cliprange, 1.0 + cliprange)
    return masked_mean(torch.max(l1, l2), mask), masked_mean((l2 > l1).float(), mask)


def ppo_value_loss(values: Any, old_values: Any, returns: Any, mask: Any, cliprange_value: float = 0.2
                   ) -> tuple[Any, Any]:
    """Clipped value loss, all ``(B, T)``: ``(0.5 * masked_mean(max((v - R)^2, (clip(v, v_old +- eps) - R)^2)),
    clipfrac)``. TRL's mask covers the response tokens plus one (``padding_mask_p1``)."""
    import torch

    clipped = torch.clamp(values, old_values - cliprange_value, old_values + cliprange_value)
    l1 = (values - returns) ** 2
    l2 = (clipped - returns) ** 2
    return 0.5 * masked_mean(torch.max(l1, l2), mask), masked_mean((l2 > l1).float(), mask)


__all__ = [
    "IGNORE_INDEX", "INVALID_LOGPROB", "token_logprobs", "sequence_logprobs", "masked_mean", "masked_whiten",
    "sft_loss", "bradley_terry_loss", "dpo_loss", "response_padding_mask", "kl_penalty", "ppo_rewards", "gae",
    "ppo_policy_loss", "ppo_value_loss",
]
