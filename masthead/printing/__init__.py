"""Print runs: each issue's mailing list for the printer."""
