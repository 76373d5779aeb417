"""Jobs: datasets in, exactly-once resumable output out, with progress and a report."""
