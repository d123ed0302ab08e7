"""PartnerHub benchmarks: ratios measured in one run, printed as a table."""
