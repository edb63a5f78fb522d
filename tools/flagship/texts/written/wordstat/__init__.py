"""wordstat: count lines, words and characters in text files."""

__version__ = "0.1.0"
