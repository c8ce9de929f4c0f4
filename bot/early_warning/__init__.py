"""Early warning: spikes in the stream found before the queue floods, opened as incidents."""
