"""A Ctrl-C that arrives while a server is forked is kept for after the fork, whichever thread takes it."""

import os
import signal
import threading
import time

import pytest

from replayer.runner.server import _signals_held


def _interrupt_from_another_thread() -> None:
    # The kernel gives a process-directed signal to any thread that does not block it: here, not the main one.
    sender = threading.Thread(target=os.kill, args=(os.getpid(), signal.SIGINT))
    sender.start()
    sender.join()


@pytest.fixture
def python_takes_sigint():
    """Python's own SIGINT handler, whatever this process inherited: a shell that runs the suite
    as a background job hands it SIGINT ignored, and an ignored signal stays ignored here too."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


def test_an_interrupt_during_the_fork_arrives_after_it(python_takes_sigint):
    reached_the_end = False
    with pytest.raises(KeyboardInterrupt):
        with _signals_held():
            _interrupt_from_another_thread()
            time.sleep(0.05)  # bytecode runs here: with Python's own handler the interrupt would surface now
            reached_the_end = True
    assert reached_the_end


def test_an_ignored_interrupt_stays_ignored():
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with _signals_held():
            _interrupt_from_another_thread()
            time.sleep(0.05)
        time.sleep(0.05)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)


def test_the_handlers_are_back_afterwards():
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with _signals_held():
        pass
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def test_off_the_main_thread_it_still_holds_what_reaches_that_thread():
    errors: list[BaseException] = []

    def start() -> None:
        try:
            with _signals_held():
                pass
        except BaseException as exc:  # noqa: BLE001 - the test reports whatever escaped
            errors.append(exc)

    worker = threading.Thread(target=start)
    worker.start()
    worker.join()
    assert errors == []


def test_how_a_server_ended_names_the_signal_and_calls_a_segfault_a_crash(tmp_path):
    import subprocess
    import sys

    from replayer.runner.server import ManagedServer

    server = ManagedServer("a", tmp_path / "bin", tmp_path / "m.gguf", [], tmp_path / "a.log")
    assert server.how_it_ended() == "was stopped by replayer"  # stop() forgets the process
    for code, said in (("import os, signal; os.kill(os.getpid(), signal.SIGSEGV)", "was killed by SIGSEGV (a crash)"),
                       ("raise SystemExit(3)", "exited with code 3"),
                       ("import os, signal; os.kill(os.getpid(), signal.SIGTERM)", "was killed by SIGTERM")):
        server.proc = subprocess.Popen([sys.executable, "-c", code])
        server.proc.wait()
        assert server.how_it_ended() == said
