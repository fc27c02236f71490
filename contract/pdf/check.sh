#!/usr/bin/env bash
# Checks the clinician report's PDFs with an independent renderer (poppler): the reports the
# tests wrote for 3 days, a month and a year of journal (on SQLite and on PostgreSQL) must open,
# embed every font, carry their text, and render to images without an error; a month's report
# is one page. Runs the report tests first when their PDFs are not there yet.
set -euo pipefail
cd "$(dirname "$0")/../.."
out="target/tmp/pdf-report"
if ! command -v pdftoppm >/dev/null || ! command -v pdffonts >/dev/null; then
    echo "installing poppler-utils"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null
fi
if ! compgen -G "$out/*.pdf" >/dev/null; then
    cargo test --locked --test api -- reports::the_report_as_pdf
fi
images="$(mktemp -d)"
trap 'rm -rf "$images"' EXIT
failed=0
fail() { echo "FAIL $1: $2" >&2; failed=1; }
checked=0
for pdf in "$out"/*.pdf; do
    name="$(basename "$pdf" .pdf)"
    before="$failed"
    failed=0
    if ! info="$(pdfinfo "$pdf" 2>&1)"; then fail "$name" "pdfinfo: $info"; continue; fi
    pages="$(awk '/^Pages:/ {print $2}' <<<"$info")"
    case "$name" in
        *-month) [ "$pages" = 1 ] || fail "$name" "a month's report has $pages pages, not 1" ;;
        *-3-days) [ "$pages" = 1 ] || fail "$name" "three days' report has $pages pages, not 1" ;;
    esac
    # pdffonts: a header of two lines, then one line a font; "emb" is the fifth column from the
    # right (name, type and encoding may hold spaces).
    fonts="$(pdffonts "$pdf" | tail -n +3)"
    [ -n "$fonts" ] || fail "$name" "no fonts"
    while read -r line; do
        [ -z "$line" ] && continue
        emb="$(awk '{print $(NF-4)}' <<<"$line")"
        [ "$emb" = yes ] || fail "$name" "a font is not embedded: $line"
    done <<<"$fonts"
    text="$(pdftotext -layout "$pdf" - 2>&1)" || fail "$name" "pdftotext: $text"
    for expected in "Back pain report: Ana Example" "One point per" "Mean worst pain" "Massage sessions and aftercare" \
        "Questionnaires" "Symptoms reported" "Page 1 of $pages"; do
        grep -qiF "$expected" <<<"$text" || fail "$name" "no \"$expected\" in its text"
    done
    if ! rendered="$(pdftoppm -r 60 -png "$pdf" "$images/$name" 2>&1)" || [ -n "$rendered" ]; then
        fail "$name" "pdftoppm: $rendered"
    fi
    count="$(compgen -G "$images/$name*.png" | wc -l)"
    [ "$count" = "$pages" ] || fail "$name" "rendered $count of $pages pages"
    [ "$failed" = 0 ] && echo "ok $name: $pages page(s), fonts embedded, text and rendering fine"
    failed=$((failed | before))
    checked=$((checked + 1))
done
[ "$checked" -ge 6 ] || fail "pdf-report" "expected the 3-day, month and year reports on both databases, found $checked"
exit "$failed"
