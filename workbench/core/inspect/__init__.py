"""The inspectors' core: re-filtering a run at another ROUGE-L threshold, decision sets,
keep/drop overrides, dataset statistics and SELF-CHECK voting summaries. No Qt here."""
