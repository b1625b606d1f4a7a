"""Planning: a trace and a target profile in, a bundle plan with a decision and a reason per module out."""
