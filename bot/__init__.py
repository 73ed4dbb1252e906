"""To whom and through which channel: the channel interface and its implementations."""
