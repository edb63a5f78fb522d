import hashlib
import os

from replayer.runner.fingerprint import fingerprint, loaded_libraries


def test_a_fingerprint_changes_with_one_byte_of_the_binary(tmp_path):
    binary = tmp_path / "llama-server"
    binary.write_bytes(b"\x7fELF" + b"x" * 1000)
    before = fingerprint(binary, None)
    assert [(f.name, f.sha256) for f in before.files] == [("llama-server", hashlib.sha256(binary.read_bytes()).hexdigest())]
    with binary.open("ab") as fh:
        fh.write(b"\0")
    after = fingerprint(binary, None)
    assert after.sha256 != before.sha256 and after.files[0].sha256 != before.files[0].sha256


def test_only_llama_and_ggml_libraries_of_a_process_count():
    # this Python process maps libc and friends, none of llama.cpp's own libraries
    assert loaded_libraries(os.getpid()) == []
    assert loaded_libraries(None) == [] and loaded_libraries(2**22 + 12345) == []
