"""DataInf (Kwon et al., ICLR 2024): closed-form influence scores of training examples for LoRA-tuned models, and the
LoRA-isation of a full fine-tune it needs. The math of the ``attribution`` stage (:mod:`trust_utils.attribution`).

Influence functions (Koh & Liang 2017)
    Up-weighting a training example ``z_i`` by a small ``eps`` moves the optimum by ``-eps H^-1 g_i`` (``H`` the
    Hessian of the training loss, ``g_i`` the example's gradient), so the test loss changes by
    ``I(i) = -v^T H^-1 g_i`` per unit ``eps``, where ``v`` is the test-loss gradient. The expensive part is the
    inverse-Hessian-vector product (iHVP) ``h = H^-1 v``.

DataInf
    Replace ``H`` by the damped Gauss-Newton / Fisher matrix ``G + lambda I`` with ``G = (1/n) sum_i g_i g_i^T``,
    treat each layer separately (block-diagonal), and swap the inverse of the average for the average of the
    inverses ``(1/n) sum_i (g_i g_i^T + lambda I)^-1``, each of which has a closed form (Sherman-Morrison). Per layer:

        lambda_l = damping * mean_i mean(g_il^2)                            (damping 0.1, as the released code)
        h_l      = 1/(n lambda_l) * sum_i [ v_l - <v_l, g_il> / (lambda_l + ||g_il||^2) * g_il ]
        I(i)     = - sum_l <h_l, g_il>

    Sign (Koh & Liang): ``I(i) > 0`` means up-weighting example i would *increase* the test loss, i.e. it pushes
    AGAINST the post-alignment behaviour the test set encodes; ``I(i) < 0`` pushes TOWARD it. The paper also shows
    a normalised score in [-1, 1]: positives divided by the largest positive, negatives by ``|most negative|``.
    A "layer" is one LoRA matrix (A or B of one linear module), as the keys of DataInf's gradient dictionaries.

LoRA-isation of a full fine-tune
    DataInf needs LoRA gradients; our stages fine-tune all weights. As the released ``convert_lora.py``, each
    selected linear layer's update ``dW = W_ft - W_ref`` is truncated by SVD at rank ``lora_rank`` (4):
    ``A`` = top-r rows of ``V^T``, ``B = U_r diag(S_r)`` (alpha 1), so ``W = W_ref + B A``. The selected layers of the
    model are set to ``W_ref + B A`` (the LoRA-ised model the released code differentiated); other layers keep their
    fine-tuned weights (the released code truncated every linear layer, but only attributed through the last blocks).
    Per-example gradients w.r.t. A and B come from the full-weight gradient ``G = dL/dW`` evaluated at that point:
    ``dL/dB = G A^T`` and ``dL/dA = B^T G`` (exact for ``W = W_ref + B A``; checked against autograd in the tests).
    Only nn.Linear modules inside the last ``n_layers`` transformer blocks are used (default 2; the released code
    used the last 4 GPT-J blocks via a hard-coded slice ``names[288:-2]`` that is empty for Pythia); lm_head and
    the reward head are excluded.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

_BLOCK_RE = re.compile(r"\.(?:layers|h|blocks|layer)\.(\d+)\.")


# ------------------------------------------------------------------------------------------ math
def lora_from_delta(delta, rank: int):
    """Truncated SVD of ``delta`` (out x in): ``(A, B)`` with A (r x in) = top rows of V^T, B (out x r) = U_r S_r."""
    import torch

    U, S, Vh = torch.linalg.svd(delta.double(), full_matrices=False)
    r = min(rank, S.shape[0])
    A = Vh[:r].to(delta.dtype)
    B = (U[:, :r] * S[:r]).to(delta.dtype)
    return A, B


def project_grad(G, A, B):
    """LoRA gradients from the full-weight gradient G at W = W_ref + B A: ``(dL/dA, dL/dB) = (B^T G, G A^T)``."""
    return B.T @ G, G @ A.T


def datainf_ihvp(train_grads: dict[str, Any], v: dict[str, Any], damping: float = 0.1) -> tuple[dict, dict]:
    """DataInf's per-layer approximation of ``(G_l + lambda_l I)^-1 v_l``.

    Args:
        train_grads: layer -> (n, d) per-example training gradients.
        v: layer -> (d,) average test gradient.
    Returns:
        ``(h, lambdas)``: layer -> (d,) iHVP, and layer -> damping used.
    """
    h, lambdas = {}, {}
    for name, G in train_grads.items():
        G = G.double()
        vl = v[name].double()
        n = G.shape[0]
        lam = damping * float((G ** 2).mean())
        lam = lam if lam > 0 else 1e-12
        coef = (G @ vl) / (lam + (G ** 2).sum(1))  # (n,)
        h[name] = (n * vl - coef @ G) / (n * lam)
        lambdas[name] = lam
    return h, lambdas


def influence_scores(train_grads: dict[str, Any], h: dict[str, Any]):
    """``I(i) = -sum_l <h_l, g_il>`` (positive: up-weighting i increases the test loss)."""
    import torch

    n = next(iter(train_grads.values())).shape[0]
    out = torch.zeros(n, dtype=torch.float64)
    for name, G in train_grads.items():
        out -= G.double() @ h[name]
    return out


def normalise_scores(scores):
    """Positives / max positive, negatives / |min negative| (the paper's [-1, 1] display)."""
    s = np.asarray(scores, dtype=float)
    out = np.zeros_like(s)
    pos, neg = s > 0, s < 0
    if pos.any():
        out[pos] = s[pos] / s[pos].max()
    if neg.any():
        out[neg] = s[neg] / abs(s[neg].min())
    return out


# ------------------------------------------------------------------------------------------ models
def select_linear_layers(model, n_layers: int) -> list[str]:
    """Names of the nn.Linear modules inside the last ``n_layers`` transformer blocks."""
    import torch

    found = []
    for name, mod in model.named_modules():
        if isinstance(mod, torch.nn.Linear):
            m = _BLOCK_RE.search("." + name + ".")
            if m:
                found.append((int(m.group(1)), name))
    if not found:
        raise ValueError("no nn.Linear modules inside numbered transformer blocks were found "
                         "(only Linear layers are supported; GPT-2's Conv1D is not)")
    last = max(b for b, _ in found)
    return [name for b, name in found if b > last - n_layers]


class LoraView:
    """The selected linear layers of ``model`` LoRA-ised against reference weights ``ref_state``.

    Sets ``W = W_ref + B A`` in place and turns gradients on for those weights only.
    """

    def __init__(self, model, ref_state: dict[str, Any], layers: list[str], rank: int):
        import torch

        self.model, self.layers, self.ab, self.rank_info = model, layers, {}, {}
        for p in model.parameters():
            p.requires_grad_(False)
        mods = dict(model.named_modules())
        for name in layers:
            w = mods[name].weight
            key = f"{name}.weight"
            if key not in ref_state:
                raise KeyError(f"reference model has no weight {key!r}")
            ref = ref_state[key].to(w.device, w.dtype)
            delta = w.detach() - ref
            A, B = lora_from_delta(delta, rank)
            with torch.no_grad():
                w.copy_(ref + B @ A)
            w.requires_grad_(True)
            self.ab[name] = (A, B)
            dn = float(delta.norm())
            self.rank_info[name] = (float((delta - B @ A).norm()) / dn) if dn > 0 else 0.0

    def grads(self) -> dict[str, Any]:
        """Flattened LoRA gradients (layer -> vector) from the ``.grad`` of the selected weights; clears them."""
        mods = dict(self.model.named_modules())
        out = {}
        for name in self.layers:
            w = mods[name].weight
            G = w.grad.detach().float() if w.grad is not None else w.detach().new_zeros(w.shape).float()
            A, B = self.ab[name]
            gA, gB = project_grad(G, A.float(), B.float())
            out[f"{name}.lora_A"] = gA.flatten().cpu()
            out[f"{name}.lora_B"] = gB.flatten().cpu()
            w.grad = None
        return out


# ------------------------------------------------------------------------------------------ scores
def per_example_grads(view: LoraView, loss_fn, examples: list[dict]) -> dict[str, Any]:
    """layer -> (n, d) gradients of ``loss_fn(example)``, one backward per example."""
    import torch

    rows: list[dict] = []
    for ex in examples:
        loss = loss_fn(ex)
        loss.backward()
        rows.append(view.grads())
    return {k: torch.stack([r[k] for r in rows]) for k in rows[0]}


def attribute(view: LoraView, train_loss, test_loss, train: list[dict], test: list[dict],
              damping: float = 0.1) -> dict[str, Any]:
    """DataInf scores of ``train`` examples for the average test loss of ``test`` (see the module docstring)."""
    g_train = per_example_grads(view, train_loss, train)
    g_test = per_example_grads(view, test_loss, test)
    v = {k: g.mean(0) for k, g in g_test.items()}
    h, lambdas = datainf_ihvp(g_train, v, damping)
    scores = influence_scores(g_train, h).numpy()
    return {"scores": scores, "normalised": normalise_scores(scores), "lambdas": lambdas,
            "grad_dim": int(sum(g.shape[1] for g in g_train.values()))}


__all__ = ["lora_from_delta", "project_grad", "datainf_ihvp", "influence_scores", "normalise_scores",
           "select_linear_layers", "LoraView", "per_example_grads", "attribute"]
