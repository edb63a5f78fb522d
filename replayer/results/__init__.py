"""Results: one JSON line per turn per variant per repetition, appended and flushed as it happens."""

from replayer.results.jsonl import ResultsWriter, read_results, read_results_if_any
from replayer.results.record import RESULT_SCHEMA, TurnError, TurnResult

__all__ = ["RESULT_SCHEMA", "ResultsWriter", "TurnError", "TurnResult", "read_results", "read_results_if_any"]
