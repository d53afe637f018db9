# Sourced by scripts/test (and by tests/test_run_pytest.py): run_pytest PYTHON [ARGS...] runs
# `PYTHON -m pytest ARGS` so that signals sent to the calling script reach it, and returns
# pytest's exit status.
#
# Why not simply in the foreground: bash runs no trap while a foreground command runs, and an
# untrapped SIGTERM (a CI runner's timeout, `kill PID`) ends bash at once, leaving pytest and
# the servers it started running with nobody waiting for them. So pytest runs as a child that
# this shell waits for (`wait` is interrupted by traps), and a SIGTERM is passed on to it;
# conftest.py turns it into the same orderly stop as Ctrl-C (fixtures tear down, containers go).
#
# bash starts such a child with SIGINT ignored (no job control in a script). When the calling
# script got SIGINT at its default, pytest gets it back at its default: Ctrl-C in the terminal
# then reaches pytest directly (it stays in the terminal's process group), and this shell, which
# also gets it, waits for pytest to finish stopping. When the calling script was itself started
# with SIGINT ignored (from a background job), pytest inherits that, as it would have before.

run_pytest() {
    local python=$1 status=0 sigint_default=0
    shift
    [ -n "$(trap -p INT)" ] || sigint_default=1   # neither ignored on entry nor trapped
    local -a command=("$python" -m pytest "$@")
    if [ "$sigint_default" = 1 ]; then
        command=("$python" -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.executable, [sys.executable, "-m", "pytest", *sys.argv[1:]])' "$@")
    fi
    # Keep the caller's stdin: a background child would otherwise read /dev/null (pytest --pdb).
    "${command[@]}" <&0 &
    _run_pytest_pid=$!
    trap 'kill -TERM "$_run_pytest_pid" 2>/dev/null' TERM
    if [ "$sigint_default" = 1 ]; then
        trap ':' INT   # pytest got the Ctrl-C too; wait for it to finish stopping
    fi
    wait "$_run_pytest_pid" || status=$?
    # A trap ended the wait early: wait again, for pytest's own exit status.
    while kill -0 "$_run_pytest_pid" 2>/dev/null; do
        status=0
        wait "$_run_pytest_pid" || status=$?
    done
    trap - TERM
    if [ "$sigint_default" = 1 ]; then
        trap - INT
    fi
    return "$status"
}
