#!/bin/sh
test_description='zcnc-protocol(7) is what doc/PROTOCOL.md makes, and it is lint-clean'
: "${ZCNC_SRC:=$(cd "$(dirname "$0")/.." && pwd)}"
. "$(dirname "$0")/test-lib.sh"

page=$ZCNC_SRC/man/zcnc-protocol.7
md2mdoc=$ZCNC_SRC/doc/md2mdoc.awk

# md2mdoc [AWK-ARGS...] FILE: the page FILE makes, on stdout.
md2mdoc () {
	LC_ALL=C awk -v date="May 1, 2026" -v os=zcnc "$@"
}

command -v mandoc >/dev/null 2>&1 && test_set_prereq MANDOC

test_expect_success 'the committed page is what make protocol-man makes of doc/PROTOCOL.md' '
	date=$(sed -n "s/^\.Dd //p" "$page") &&
	os=$(sed -n "s/^\.Os //p" "$page") &&
	LC_ALL=C awk -v date="$date" -v os="$os" -f "$md2mdoc" \
		"$ZCNC_SRC/doc/PROTOCOL.md" >made.7 &&
	if ! cmp -s "$page" made.7; then
		echo "man/zcnc-protocol.7 is not what doc/PROTOCOL.md makes:" \
			"run make protocol-man, and commit the page" &&
		diff -u "$page" made.7 | head -n 40
		false
	fi
'

test_expect_success 'groff -mandoc -ww finds nothing to warn about in the page' '
	groff -mandoc -ww -z "$page" 2>err &&
	test_cmp /dev/null err
'

test_expect_success MANDOC 'mandoc -Tlint finds no warning in the page' '
	mandoc -Tlint -Wwarning "$page" >err 2>&1 &&
	test_cmp /dev/null err
'

# The page as a terminal of 80 columns shows it, overstrikes removed.
test_expect_success 'the page renders with every section and table of the Markdown' '
	groff -mandoc -Tutf8 -P-cbou "$page" >page.txt 2>err &&
	test_cmp /dev/null err &&
	sed -n "s/^## //p" "$ZCNC_SRC/doc/PROTOCOL.md" | tr "a-z" "A-Z" >sections &&
	test -s sections &&
	missing= &&
	while read -r section; do
		grep -qxF "$section" page.txt || missing="$missing $section"
	done <sections &&
	test -z "$missing" || { echo "sections not in the page:$missing"; false; } &&
	grep -E "^ +offset +size +field +rules" page.txt &&
	grep -E "^ +1 HELLO +direction: peer → hub" page.txt &&
	grep -E "^ +1 ‘BAD_NAME’ +meaning: the HELLO claimed" page.txt &&
	grep -E "^SEE ALSO" page.txt
'

test_expect_success 'text lines are escaped: backslashes, leading dots and apostrophes, macro names' '
	printf "%s\n" "# T" "" "A \\ b and No Ns Ta in text" ".dot at the start and" \
		"'"'"'quote at the start, \`No\` and **Ta** marked." "" \
		"    .code with \\0 in it" >in.md &&
	md2mdoc -f "$md2mdoc" in.md >in.7 &&
	grep -xF "A \\e b and No Ns Ta in text .dot at the start and '"'"'quote at the start," in.7 &&
	grep -xF ".Ql \\&No" in.7 &&
	grep -xF ".Sy \\&Ta" in.7 &&
	grep -xF "\\&.code with \\e0 in it" in.7 &&
	groff -mandoc -ww -z in.7 2>err &&
	test_cmp /dev/null err
'

test_expect_success 'lists, code in an item, a numbered list and a wide table' '
	printf "%s\n" "# T" "" "- one" "  goes on" "" "      code in it" "" "- two" "" \
		"1. first" "2. second" "" \
		"| a long first column name | another quite long one | last |" "|---|---|---|" \
		"| a cell of the first column | a cell of the second one | a last cell too long to fit |" >in.md &&
	md2mdoc -f "$md2mdoc" in.md >in.7 &&
	grep -xF ".Bl -bullet" in.7 &&
	grep -xF "one goes on" in.7 &&
	grep -xF "code in it" in.7 &&
	grep -xF ".Bl -enum -compact" in.7 &&
	grep -xF ".It \\&a \\&cell \\&of \\&the \\&first \\&column" in.7 &&
	grep -xF "another quite long one: a cell of the second one" in.7 &&
	groff -mandoc -ww -z in.7 2>err &&
	test_cmp /dev/null err
'

test_expect_success 'a link to a heading that does not exist is an error naming the line' '
	printf "%s\n" "# T" "" "## Real one" "" "see [it](#real-one) and" "[that](#no-such)" >in.md &&
	test_expect_code 1 md2mdoc -f "$md2mdoc" in.md >/dev/null 2>err &&
	echo "in.md:5: a link to #no-such, which no heading has" >expect &&
	test_cmp expect err
'

test_expect_success 'a table row with more cells than its header is an error' '
	printf "%s\n" "# T" "" "| a | b |" "|---|---|" "| 1 | 2 | 3 |" >in.md &&
	test_expect_code 1 md2mdoc -f "$md2mdoc" in.md >/dev/null 2>err &&
	echo "in.md:5: a table row with 3 cells under a header of 2" >expect &&
	test_cmp expect err
'

test_expect_success 'a table without its |---| row is an error' '
	printf "%s\n" "# T" "" "| a | b |" "| 1 | 2 |" >in.md &&
	test_expect_code 1 md2mdoc -f "$md2mdoc" in.md >/dev/null 2>err &&
	echo "in.md:3: a table needs a header row, a |---| row and a row of cells" >expect &&
	test_cmp expect err
'

test_expect_success 'a code block that is not closed is an error' '
	printf "%s\n" "# T" "" "\`\`\`" "code" >in.md &&
	test_expect_code 1 md2mdoc -f "$md2mdoc" in.md >/dev/null 2>err &&
	echo "in.md:3: code block without its closing \`\`\`" >expect &&
	test_cmp expect err
'

test_expect_success 'a byte that is not UTF-8 is an error' '
	printf "# T\n\nbad \377 byte\n" >in.md &&
	test_expect_code 1 md2mdoc -f "$md2mdoc" in.md >/dev/null 2>err &&
	echo "in.md:3: a byte that is not UTF-8" >expect &&
	test_cmp expect err
'

test_done
