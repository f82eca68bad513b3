# The MCQ template's entry: paste it into trust_utils/registry.py, inside the VERTICALS tuple (after the last
# Vertical(...)), with mcq / MCQ replaced by your vertical's name.
        Vertical(
            "mcq", "Multiple choice", "trust_utils.verticals.mcq",
            (
                Metric("mcq_accuracy_loglik", True, "Accuracy (log-likelihood)",
                       "share of items whose true option has the highest log-likelihood", guard="degenerate_loglik"),
                Metric("degenerate_loglik", False, "Uninformative likelihoods",
                       "share of units whose candidate scores are all equal or not finite", guard=""),
            ),
            headline_variant="default",
            notebook="29_mcq.ipynb", config="trust_utils.verticals.mcq:MCQConfig",
            produces="results/mcq.csv, records", benchmark="template",
            reading="Each option of a question is scored by its log-likelihood after `Q: <question>\\nA:`.",
            paper="not in the paper (a template vertical).",
        ),
