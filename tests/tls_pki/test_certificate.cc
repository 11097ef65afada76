// Certificate tests: see the following commit.
