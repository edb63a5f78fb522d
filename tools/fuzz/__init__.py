"""Property-based fuzzing of every loader and importer (issue 10): valid seeds of every format
(``seeds``), Hypothesis strategies that mutate them (``mutate``), and the contract every input
must meet (``contract``). The unit suite runs a few hundred examples per format
(tests/unit/test_fuzz_inputs.py); ``bench/fuzz.py --examples N`` runs long campaigns."""
