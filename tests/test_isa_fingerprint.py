"""benchmarks/isa_equality.py's fingerprints: what two machines' runs are compared on, worked out on inline tables."""

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def isa():
    sys.path.insert(0, str(BENCH))
    try:
        import isa_equality
    finally:
        sys.path.remove(str(BENCH))
    return isa_equality


def _run(root: Path, rows: list[str], weights: bytes) -> Path:
    (root / "results").mkdir(parents=True)
    head = "vertical,metric,variant,checkpoint,value,versions,model_revision\n"
    (root / "results" / "bias.csv").write_text(head + "".join(r + "\n" for r in rows))
    (root / "sft" / "model").mkdir(parents=True)
    (root / "sft" / "model" / "model.safetensors").write_bytes(weights)
    return root


def test_rows_are_equal_only_when_every_column_but_the_revision_is(isa, tmp_path):
    a = _run(tmp_path / "a", ["bias,index,benign,base,0.5,torch=2.13.0,r1", "bias,index,benign,sft,0.25,torch=2.13.0,r1",
                              "bias,index,benign,dpo,,torch=2.13.0,r1"], b"w")
    b = _run(tmp_path / "b", ["bias,index,benign,base,0.5,torch=2.13.0,r2",  # another revision: still equal
                              "bias,index,benign,sft,0.375,torch=2.13.0,r1",  # value differs by 0.125
                              "bias,index,benign,ppo,0.1,torch=2.13.0,r1"], b"w")  # dpo / ppo: one side only
    fa = isa.fingerprint(a)
    assert fa["results"]["bias"]["bias|index|benign|dpo"][0] is None and set(fa["models"]) == {"sft"}
    c = isa.compare_fingerprints(fa, isa.fingerprint(b))
    assert (c["equal"], c["differ"], c["one_side"]) == (1, 1, 2)
    assert c["largest_value_difference"] == 0.125 and c["differing_by_file"] == {"bias": 1}
    assert (c["models_equal"], c["models"], c["models_one_side"]) == (1, 1, [])
    other = _run(tmp_path / "c", ["bias,index,benign,base,0.5,torch=2.14.0,r1"], b"v")  # versions differ: a difference
    c = isa.compare_fingerprints(fa, isa.fingerprint(other))
    assert (c["equal"], c["differ"], c["largest_value_difference"], c["models_equal"]) == (0, 1, 0.0, 0)
    (other / "dpo" / "model").mkdir(parents=True)  # a model the other run has and the first (stopped early) lacks
    (other / "dpo" / "model" / "model.safetensors").write_bytes(b"d")
    c = isa.compare_fingerprints(fa, isa.fingerprint(other))
    assert (c["models_equal"], c["models"], c["models_one_side"]) == (0, 1, ["dpo"])
