"""Operations around the jobs: `python -m ops.sync` runs every job and prints a summary."""
