"""The figures core: counters that move with writes (revision) and the cache keyed by them.

It knows no feature: tables say how their writes move the figures (revision.affects_figures).
"""
