import io
import sys

from wordstat.cli import main


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_prints_lines_words_and_chars_by_default(tmp_path, capsys):
    path = write(tmp_path, "a.txt", "one two\nthree\n")
    assert main([path]) == 0
    assert capsys.readouterr().out == f"      2       3      14 {path}\n"


def test_options_select_the_counts(tmp_path, capsys):
    path = write(tmp_path, "a.txt", "one two\nthree\n")
    main(["-w", path])
    assert capsys.readouterr().out == f"      3 {path}\n"


def test_total_line_for_several_files(tmp_path, capsys):
    first = write(tmp_path, "a.txt", "one\n")
    second = write(tmp_path, "b.txt", "two three\n")
    main(["-l", "-w", first, second])
    assert capsys.readouterr().out.splitlines() == [
        f"      1       1 {first}",
        f"      1       2 {second}",
        "      2       3 total",
    ]


def test_reads_standard_input_when_no_files(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("one two\nthree\n"))
    assert main(["-l", "-w"]) == 0
    assert capsys.readouterr().out == "      2       3\n"


def test_top_lists_most_frequent_words(tmp_path, capsys):
    path = write(tmp_path, "a.txt", "the cat and the hat\n")
    main(["-l", "--top", "2", path])
    assert capsys.readouterr().out.splitlines()[-2:] == ["      2 the", "      1 cat"]
