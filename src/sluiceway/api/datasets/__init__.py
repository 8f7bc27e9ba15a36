"""The dataset family (seed 004): exports, imports and the job queue, JSON:API style."""
