"""Reports for people: text renderings of traces, plans, explanations and verify results."""
