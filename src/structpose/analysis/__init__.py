"""The paper's analyses (sensitivity, loss surface, ablations)."""
