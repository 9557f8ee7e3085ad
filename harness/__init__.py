"""harness: evaluate and regression-test small LLMs on structured Chinese medical tasks."""

__version__ = "0.1.0"
