"""When things are said: the timeline (pure) and the dispatch engine (I/O at the edges)."""
