"""Data sets of the paper (Section 2.1-2.2) and their one on-disk format."""
