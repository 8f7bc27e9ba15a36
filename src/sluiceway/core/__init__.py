"""Shared leaf: the error tree, settings and small helpers. Imports nothing of Sluiceway."""
