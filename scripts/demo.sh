#!/usr/bin/env bash
# The main job against the embedded demo lab: start it, run every suite, build the Allure report.
# The lab has known weaknesses, so findings are expected: this exits 0 when the run measured
# everything and produced its report, and non-zero when anything could not be measured.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"

harness lab up || exit 1
pytest suites/ --targets targets.yaml \
  --alluredir reports/allure-results --clean-alluredir \
  --summary-json reports/summary.json -p no:cacheprovider "$@"
rc=$?
harness report --results reports/allure-results --output reports/allure-report
report_rc=$?  # 1: built, and the run was incomplete (said below); above 1: no report
[ "$report_rc" -le 1 ] || exit 1

broken=$(python -c "import json; print(json.load(open('reports/summary.json'))['could_not_measure'])" 2>/dev/null || echo "?")
echo
echo "pytest exit code: $rc (0 = no findings, 1 = findings or could-not-measure, 4 = bad targets file)"
if [ "$rc" -le 1 ] && [ "$broken" = "0" ]; then
  echo "demo: every check measured; the lab's known weaknesses show up as findings in the report."
  exit 0
fi
echo "demo: $broken results could not be measured (see the summary above)" >&2
exit "${rc/#0/1}"
