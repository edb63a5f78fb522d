from wordstat.counting import Counts, count_text, top_words


def test_counts_lines_words_and_chars():
    assert count_text("one two\nthree\n") == Counts(lines=2, words=3, chars=14, bytes=14)


def test_last_line_without_newline_is_not_counted():
    # Same rule as wc -l: a line is counted by its terminating newline.
    assert count_text("alpha\nbeta").lines == 1


def test_empty_text_counts_nothing():
    assert count_text("") == Counts()


def test_any_whitespace_run_separates_words():
    assert count_text("  tabs\tand   spaces \n").words == 3


def test_chars_and_bytes_differ_for_non_ascii_text():
    counts = count_text("café\n")
    assert counts.chars == 5
    assert counts.bytes == 6


def test_counts_add_up():
    total = count_text("a b\n") + count_text("c\n")
    assert total == Counts(lines=2, words=3, chars=6, bytes=6)


def test_top_words_ignores_case():
    assert top_words("The cat saw the dog. THE END", 1) == [("the", 3)]


def test_top_words_ignores_punctuation():
    assert top_words("Yes — yes, and no.", 3) == [("yes", 2), ("and", 1), ("no", 1)]


def test_top_words_keeps_apostrophes_inside_words():
    assert top_words("don't stop, don't", 2) == [("don't", 2), ("stop", 1)]


def test_top_words_breaks_ties_by_first_appearance():
    assert top_words("b a c a b", 3) == [("b", 2), ("a", 2), ("c", 1)]
