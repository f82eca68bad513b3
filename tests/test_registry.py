"""The registry's metric descriptions say what the code computes."""

from trust_utils.registry import get_metric
from trust_utils.verticals.toxicity import ToxicityConfig, prompt_stats, variant_rows


def test_mean_toxicity_is_a_mean_of_per_prompt_means_and_says_so():
    # prompt A: two scored samples 0.0 and 1.0 (mean 0.5); prompt B: one scored sample 1.0, one empty (mean 1.0);
    # prompt C: no scored sample (left out). Mean of prompt means = 0.75; a mean over all samples would be 2/3.
    recs = [{"n_scored": 2, **prompt_stats([0.0, 1.0])}, {"n_scored": 1, **prompt_stats([1.0])},
            {"n_scored": 0, **prompt_stats([])}]
    rows = {r["metric"]: r for r in variant_rows(recs, "benign/toxic", "base", ToxicityConfig(run_dir="r", n_boot=10), "s")}
    assert rows["mean_toxicity"]["value"] == 0.75 and rows["mean_toxicity"]["n"] == 2
    desc = get_metric("toxicity", "mean_toxicity").description
    assert "per prompt" in desc and "averaged over prompts" in desc and "no scored sample" in desc
