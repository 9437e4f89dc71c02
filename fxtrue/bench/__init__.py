"""`fxtrue bench`: benchmarks of FXTrue beside named references measured in the same run (harness, report,
one module per benchmark)."""
