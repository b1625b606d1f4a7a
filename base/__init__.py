"""The shared base below every stage: errors, bounded reads, and launching contained children."""
