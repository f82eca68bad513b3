"""PPO and the reward model when the tokenizer pads with EOS: the first EOS of a response must stay learnable."""

from __future__ import annotations

import shutil

import pytest
import torch

from trust_utils.training.config import TrainingError
from trust_utils.training.padding import distinct_pad_token


def _pad_is_eos(tok):
    tok.pad_token = tok.eos_token
    assert tok.pad_token_id == tok.eos_token_id
    return tok


@pytest.fixture
def tiny_tok(tiny_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tiny_model_dir))


@pytest.fixture
def pad_eos_model(tiny_model_dir, tmp_path):
    """A copy of the tiny model whose saved tokenizer pads with EOS (as Pythia's and SmolLM2's do)."""
    from transformers import AutoTokenizer

    d = tmp_path / "pad_eos_model"
    shutil.copytree(tiny_model_dir, d)
    tok = _pad_is_eos(AutoTokenizer.from_pretrained(str(d)))
    tok.save_pretrained(d)
    return d


def _trl_response_mask(tok, responses: torch.Tensor) -> torch.Tensor:
    """TRL PPOTrainer's per-token loss mask of the responses (True = in the loss), from its own helpers."""
    from trl.experimental.ppo.ppo_trainer import truncate_response
    from trl.experimental.utils import first_true_indices

    post = truncate_response(tok.eos_token_id, tok.pad_token_id, responses)
    seq_len = first_true_indices(post == tok.pad_token_id) - 1
    idx = torch.arange(responses.shape[1]).repeat(responses.shape[0], 1)
    return ~(idx > seq_len.unsqueeze(1))  # TRL: padding_mask = response_idxs > sequence_lengths


def test_distinct_pad_token_picks_a_spare_special_token(tiny_tok):
    assert distinct_pad_token(tiny_tok) is None  # the tiny tokenizer already pads with <|padding|>
    tok = _pad_is_eos(tiny_tok)
    assert distinct_pad_token(tok) == "<|padding|>"
    assert tok.pad_token_id == 1 != tok.eos_token_id == 0


def test_distinct_pad_token_needs_a_spare_token(tiny_tok):
    tok = _pad_is_eos(tiny_tok)
    tok.eos_token = tok.pad_token = "<|padding|>"  # leave no special token but BOS (= UNK) and EOS
    tok.bos_token = tok.unk_token = "<|endoftext|>"
    with pytest.raises(TrainingError, match="no other special token to pad with"):
        distinct_pad_token(tok, "'sft'")


def test_first_eos_of_a_response_stays_in_the_ppo_loss(tiny_tok):
    eos = tiny_tok.eos_token_id
    # response of 5 tokens: two words, EOS, then whatever HF filled in after it
    responses = torch.tensor([[300, 301, eos, eos, 302]])
    tok = _pad_is_eos(tiny_tok)
    assert _trl_response_mask(tok, responses).tolist() == [[True, True, False, False, False]]  # the bug: EOS masked
    distinct_pad_token(tok)
    assert _trl_response_mask(tok, responses).tolist() == [[True, True, True, False, False]]


def test_ppo_models_load_with_a_pad_distinct_from_eos(pad_eos_model, tmp_path):
    from trust_utils.training.ppo import PPOStageConfig, load_models

    ref = str(pad_eos_model)
    cfg = PPOStageConfig(run_dir=str(tmp_path / "run"), init_from=ref, reward_model=ref, value_init=ref)
    tok, policy, ref_policy, rm, value, _ = load_models(cfg, ref)
    assert tok.eos_token_id == 0 and tok.pad_token_id == 1
    assert rm.config.pad_token_id == value.config.pad_token_id == policy.generation_config.pad_token_id == 1
    eos = tok.eos_token_id
    assert _trl_response_mask(tok, torch.tensor([[300, eos, eos]])).tolist() == [[True, True, False]]


def test_reward_model_reads_its_score_at_the_eos(pad_eos_model, prepared_run, tmp_path, cache_dir):
    from trust_utils.training.reward import RewardStageConfig, build_trainer

    rd = tmp_path / "run"
    shutil.copytree(prepared_run / "data", rd / "data")
    cfg = RewardStageConfig(run_dir=str(rd), cache_dir=str(cache_dir), threads=1, init_from=str(pad_eos_model),
                            max_steps=1)
    trainer, tok = build_trainer(cfg, "cpu")
    assert tok.pad_token_id != tok.eos_token_id and trainer.model.config.pad_token_id == tok.pad_token_id
    # HF's sequence-classification pooling: last token that is not pad -> the appended EOS itself
    ids = torch.tensor([[300, 301, tok.eos_token_id, tok.pad_token_id]])
    non_pad = (ids != trainer.model.config.pad_token_id).int()
    assert int((torch.arange(ids.shape[1]) * non_pad).argmax(-1)) == 2
