#!/bin/sh
# Second mutmut 2 campaign (REPORT.md, part 2): mutate ONE core file with a fast, per-file test
# selection, in a throwaway clone of the repository. Usage:
#
#   rm -rf /tmp/mut2 && git clone -q /path/to/repo /tmp/mut2
#   sh validation/mutation/run_core.sh /tmp/mut2 ns_implicit/methods/aid_cg.py "tests/a.py tests/b.py" "--deselect ..."
#
# Writes <copy>/setup.cfg, removes the previous .mutmut-cache and runs `mutmut run` under
# nice -n 19. The runner is wrapped in `timeout $LIMIT` (default 60 s, ~4x the slowest
# selection here): an infinite-loop mutant then fails in a minute instead of mutmut's
# 10 x baseline, and is counted `killed` by mutmut; its diff is appended to
# <copy>_timeouts_<file>.log so the report can list it as a timeout. NUMBA_DISABLE_JIT=1 can be
# exported by the caller for the Numba kernel files; NICE (default 19) sets the niceness.
set -e
COPY=$1; FILE=$2; TESTS=$3; EXTRA=$4
MUTMUT=${MUTMUT:-/work/venv/bin/mutmut}
PY=${PY:-/work/venv/bin/python}
LIMIT=${LIMIT:-60}
NICE=${NICE:-19}
cd "$COPY"
cat > "${COPY}_runner.sh" <<RUN
#!/bin/sh
cd "$COPY"
env PYTHONPATH=$COPY NUMBA_CACHE_DIR=${COPY}_nc OPENBLAS_NUM_THREADS=1 ${NUMBA_DISABLE_JIT:+NUMBA_DISABLE_JIT=1 }timeout $LIMIT nice -n $NICE $PY -m pytest -x -q -p no:cacheprovider $TESTS $EXTRA
rc=\$?
if [ \$rc = 124 ]; then git -C "$COPY" diff -U0 -- $FILE >> "${COPY}_timeouts_$(basename $FILE .py).log"; fi
exit \$rc
RUN
cat > setup.cfg <<CFG
[mutmut]
paths_to_mutate=$FILE
backup=False
tests_dir=tests/
runner=sh ${COPY}_runner.sh
CFG
rm -f .mutmut-cache
nice -n $NICE "$MUTMUT" run --no-progress || true
"$MUTMUT" results || true
