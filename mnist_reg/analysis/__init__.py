"""Analysis: the side-by-side comparison of studies, its statistics, report and figures, and
the anytime curves of searches."""
