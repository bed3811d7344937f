"""Policy: pure judgement of probe results against rules kept as data (harness/data)."""
