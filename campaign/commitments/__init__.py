"""Commitments to policies, their stages and timelines, and who may see them."""
