"""What is said: reminder texts, FAQ content, and how text is rendered per channel."""
