"""The public pages: the campaign's home and one page per policy, with its adoption."""
