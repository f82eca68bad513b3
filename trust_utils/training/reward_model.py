"""The reward model as a value: loading a trained one and scoring replies with it.

Read by the reward-model stage's evaluation (:mod:`.reward`), the online methods (:mod:`.online`) and the
attribution; kept out of the stage module so that their code (and reuse keys) do not depend on how the reward model is
*trained*.
"""

from __future__ import annotations

from pathlib import Path


def load_reward_model(ref: str, device: str = "cpu"):
    """A reward model directory (full, or a LoRA adapter merged on load) in eval mode."""
    from transformers import AutoModelForSequenceClassification

    if (Path(ref) / "adapter_config.json").is_file():
        from peft import AutoPeftModelForSequenceClassification

        model = AutoPeftModelForSequenceClassification.from_pretrained(ref, num_labels=1).merge_and_unload()
    else:
        model = AutoModelForSequenceClassification.from_pretrained(ref, num_labels=1)
    return model.to(device).eval()


def score(model, tok, prompts: list[str], replies: list[str], max_length: int = 512, batch_size: int = 8,
          device: str = "cpu") -> list[float]:
    """Rewards of ``prompt + reply + EOS`` (as in training), right-padded, read at the last real token.

    Texts are batched in order of length (little padding; each value is its own row's), returned in input order.
    """
    import torch

    texts = [p + r + ("" if r.endswith(tok.eos_token) else tok.eos_token) for p, r in zip(prompts, replies, strict=True)]
    side = tok.padding_side
    tok.padding_side = "right"
    out: list[float] = [0.0] * len(texts)
    try:
        ids = tok(texts, truncation=True, max_length=max_length, add_special_tokens=False)["input_ids"]
        order = sorted(range(len(texts)), key=lambda i: -len(ids[i]))
        for k in range(0, len(order), batch_size):
            batch = order[k:k + batch_size]
            enc = tok.pad({"input_ids": [ids[i] for i in batch]}, return_tensors="pt").to(device)
            with torch.inference_mode():
                vals = model(**enc).logits[:, 0].float().cpu().tolist()
            for i, v in zip(batch, vals, strict=True):
                out[i] = v
    finally:
        tok.padding_side = side
    return out
