"""Search: the embedder, the built index and the ranking that turns a question into an answer."""
