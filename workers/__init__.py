"""Background jobs of Greencoin: the functions RQ runs, the schedule, and the in-process runner."""
