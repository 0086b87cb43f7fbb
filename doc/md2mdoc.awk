#  md2mdoc.awk: makes zcnc-protocol(7), an mdoc page, from doc/PROTOCOL.md.
#
#	LC_ALL=C awk -v date="May 1, 2026" -v os="zcnc 0.1.0" \
#	    -f doc/md2mdoc.awk doc/PROTOCOL.md >man/zcnc-protocol.7
#
#  `make protocol-man` runs it; tests/t0050-protocol-man.sh checks that the
#  committed page is what it makes. POSIX awk (Debian's mawk included), read
#  byte by byte: run it in the C locale.
#
#  The Markdown it knows, which is what PROTOCOL.md uses: '#' (the title),
#  '##' and '###' headings; paragraphs; '-'/'*' and '1.' lists whose
#  lines go on indented, with paragraphs and indented code inside an item;
#  code blocks indented by 4 spaces or fenced with ```; tables; and inline
#  `code`, **bold**, *emphasis*, [text](#anchor) links (the text is kept;
#  a link out of the page keeps its address too) and NAME(N) references
#  to manual pages, which become Xr. HTML comments are left out.
#  Anything else is taken as paragraph text. A fault in the Markdown (a
#  link to an anchor that no heading has, a table row with more cells than
#  its header or a table without its |---| row, a code block not closed,
#  bytes that are not UTF-8) stops it with an error naming the line.
#
#  How the page is written: text lines hold plain words (backslashes
#  escaped, no line starting with a dot or an apostrophe, one sentence
#  ends a line); a word with markup goes on a macro line with the words
#  glued to it, every word behind \& so that none is taken for a macro or
#  a delimiter, Ns where the Markdown has no space. Characters beyond
#  ASCII become \[uXXXX], which groff and mandoc both render. A table goes
#  as a -column list when its columns but the last fit in about half of an
#  80-column terminal (the last one wraps); otherwise as a tagged list, a
#  row an item, its other cells "header: text" lines.

BEGIN {
	make_ord()
	#  Columns of text on an 80-column terminal, once the page's indent
	#  is taken off; the columns but the last of a -column table get at
	#  most COLUMN_MAX of them (4 more for each gap between columns).
	TEXT_WIDTH = 73
	COLUMN_MAX = 40
	if (date == "")
		date = "January 1, 1970"
	if (os == "")
		os = "zcnc"
	#  The page made: a reference to it in its own text stays text.
	PAGE = "zcnc-protocol"
	SECTION = 7
}

{
	sub(/\r$/, "")
	SRC[NR] = $0
}

END {
	nsrc = NR
	find_anchors()
	out(".\\\" Generated from doc/PROTOCOL.md by doc/md2mdoc.awk (make protocol-man):")
	out(".\\\" edit those, not this page.")
	out(".Dd " date)
	out(".Dt " toupper(PAGE) " " SECTION)
	out(".Os " os)
	out(".Sh NAME")
	out(".Nm " PAGE)
	out(".Nd the zcnc wire protocol")
	out(".Sh DESCRIPTION")
	after_heading = 1
	titled = 0
	blocks()
	out(".Sh SEE ALSO")
	out(".Xr zcnc 1 ,")
	out(".Xr zcnc-policy 5 ,")
	out(".Xr zcnc.conf 5 ,")
	out(".Xr zcnc-socket 7 ,")
	out(".Xr zcnc-daemons 8")
}

#  ORD[c] is the number of the byte c.
function make_ord(    i) {
	for (i = 1; i < 256; i++)
		ORD[sprintf("%c", i)] = i
}

function out(line) {
	print line
}

#  Says what is wrong at line LINENO of the Markdown, and ends awk (exit 1).
function fail(lineno, message) {
	printf "%s:%d: %s\n", FILENAME, lineno, message > "/dev/stderr"
	exit 1
}

# --------------------------------------------------------------------------
# Blocks

function blank(line) {
	return line ~ /^[ \t]*$/
}

function indent_of(line,    n) {
	n = 0
	while (substr(line, n + 1, 1) == " ")
		n++
	return n
}

#  The width of a list marker ("- ", "1. ") at the start of LINE, or 0.
function marker(line) {
	if (line ~ /^[-*] /)
		return 2
	if (match(line, /^[0-9]+\. /))
		return RLENGTH
	return 0
}

#  Whether LINE starts a block of its own, so ends a paragraph.
function starts_block(line) {
	return line ~ /^#+ / || line ~ /^```/ || line ~ /^\|/ || line ~ /^<!--/ ||
	    line ~ /^[-*] / || line ~ /^1\. /
}

#  A .Pp before a paragraph, unless it follows a heading or opens an item.
function paragraph_break() {
	if (!after_heading)
		out(".Pp")
	after_heading = 0
}

function blocks(    line) {
	ln = 1
	while (ln <= nsrc) {
		line = SRC[ln]
		if (blank(line)) {
			ln++
		} else if (line ~ /^<!--/) {
			while (ln <= nsrc && index(SRC[ln], "-->") == 0)
				ln++
			ln++
		} else if (line ~ /^#+ /) {
			heading(line)
			ln++
		} else if (line ~ /^```/) {
			fenced_code()
		} else if (line ~ /^    /) {
			indented_code(4)
		} else if (line ~ /^\|/) {
			table()
		} else if (marker(line)) {
			list()
		} else {
			paragraph_break()
			paragraph(0)
		}
	}
}

function heading(line,    level, text) {
	BLK = ln
	match(line, /^#+/)
	level = RLENGTH
	text = substr(line, level + 1)
	sub(/^[ \t]+/, "", text)
	sub(/[ \t#]+$/, "", text)
	inline(text)
	if (level == 1 && !titled) {
		#  The document's title opens DESCRIPTION, in bold.
		titled = 1
		flow(2)
		after_heading = 0
		return
	}
	if (level <= 2) {
		upper_words()
		out(".Sh " run(1, NW, "cell", 0))
	} else {
		out(".Ss " run(1, NW, "cell", 0))
	}
	after_heading = 1
}

#  A paragraph: lines from ln until a blank line or another block, with
#  up to STRIP leading spaces taken off each.
function paragraph(strip,    text, line) {
	BLK = ln
	text = ""
	do {
		line = SRC[ln]
		if (strip > 0 && indent_of(line) >= strip)
			line = substr(line, strip + 1)
		sub(/^[ \t]+/, "", line)
		text = text (text == "" ? "" : " ") line
		ln++
	} while (ln <= nsrc && !blank(SRC[ln]) && !starts_block(SRC[ln]) &&
	    !(strip > 0 && SRC[ln] ~ /^[^ ]/ && marker(SRC[ln])))
	sub(/[ \t]+$/, "", text)
	inline(text)
	flow(0)
}

function fenced_code(    n, start) {
	start = BLK = ln
	n = 0
	ln++
	while (ln <= nsrc && SRC[ln] !~ /^```/)
		CODE[++n] = SRC[ln++]
	if (ln > nsrc)
		fail(start, "code block without its closing ```")
	ln++
	code_block(n)
}

#  Lines indented by at least DEPTH spaces (and blank lines between
#  them), from ln on, with DEPTH spaces taken off.
function indented_code(depth,    n, last) {
	BLK = ln
	n = 0
	last = 0
	while (ln <= nsrc && (blank(SRC[ln]) || indent_of(SRC[ln]) >= depth)) {
		CODE[++n] = blank(SRC[ln]) ? "" : substr(SRC[ln], depth + 1)
		if (!blank(SRC[ln]))
			last = n
		ln++
	}
	#  Trailing blank lines belong to no block: give them back.
	ln -= n - last
	code_block(last)
}

#  CODE[1..N] as a literal display, indented when its longest line leaves
#  room for that on an 80-column terminal.
function code_block(n,    i, widest, w) {
	widest = 0
	for (i = 1; i <= n; i++) {
		w = display_width(CODE[i])
		if (w > widest)
			widest = w
	}
	out(widest <= TEXT_WIDTH - 6 ? ".Bd -literal -offset indent" : ".Bd -literal")
	for (i = 1; i <= n; i++) {
		w = escape(CODE[i], 0)
		if (w ~ /^[.']/)
			w = "\\&" w
		out(w)
	}
	out(".Ed")
	after_heading = 0
}

#  A list: items start at column 0 with a marker of one kind ('-' or '*',
#  or a number); an item's lines go on indented (or, directly after the
#  marker's line, not indented), its later paragraphs are indented by the
#  marker's width, and a code block in it by 4 more.
function list(    numbered, width, compact, j) {
	numbered = SRC[ln] ~ /^[0-9]/
	#  A list of one-line items with no blank line between them is compact.
	compact = 1
	for (j = ln; j <= nsrc && !blank(SRC[j]); j++)
		if (!marker(SRC[j]))
			compact = 0
	if (j <= nsrc && j + 1 <= nsrc && marker(SRC[j + 1]))
		compact = 0
	#  A compact list keeps no space before it: a .Pp makes it.
	if (compact)
		paragraph_break()
	out(".Bl " (numbered ? "-enum" : "-bullet") (compact ? " -compact" : ""))
	while (ln <= nsrc && marker(SRC[ln]) && (SRC[ln] ~ /^[0-9]/) == numbered) {
		width = marker(SRC[ln])
		out(".It")
		SRC[ln] = substr(SRC[ln], width + 1)
		after_heading = 1
		paragraph(width)
		for (;;) {
			for (j = ln; j <= nsrc && blank(SRC[j]); j++)
				;
			if (j > nsrc || indent_of(SRC[j]) < width || j == ln)
				break
			ln = j
			if (indent_of(SRC[ln]) >= width + 4) {
				indented_code(width + 4)
			} else {
				paragraph_break()
				paragraph(width)
			}
		}
		for (j = ln; j <= nsrc && blank(SRC[j]); j++)
			;
		if (j <= nsrc && marker(SRC[j]) && (SRC[j] ~ /^[0-9]/) == numbered)
			ln = j
		else
			break
	}
	out(".El")
	after_heading = 0
}

# --------------------------------------------------------------------------
# Tables

#  Splits LINE, a table row, into CELL[1..n] at the bars outside `code`
#  and not escaped (\|); returns n.
function split_row(line,    n, i, c, incode, cell) {
	sub(/^[ \t]*\|/, "", line)
	sub(/\|[ \t]*$/, "", line)
	n = 0
	cell = ""
	incode = 0
	for (i = 1; i <= length(line); i++) {
		c = substr(line, i, 1)
		if (c == "\\" && substr(line, i + 1, 1) == "|") {
			cell = cell "|"
			i++
			continue
		}
		if (c == "`")
			incode = !incode
		if (c == "|" && !incode) {
			CELL[++n] = trim(cell)
			cell = ""
		} else {
			cell = cell c
		}
	}
	CELL[++n] = trim(cell)
	return n
}

function trim(s) {
	sub(/^[ \t]+/, "", s)
	sub(/[ \t]+$/, "", s)
	return s
}

function table(    start, rows, cols, r, c, n, w, fixed, widths, tagcols, widest) {
	start = BLK = ln
	rows = 0
	while (ln <= nsrc && SRC[ln] ~ /^\|/) {
		n = split_row(SRC[ln])
		if (rows == 0)
			cols = n
		if (rows == 1 && SRC[ln] ~ /^[ \t|:-]+$/) {
			ln++
			continue
		}
		if (n > cols)
			fail(ln, "a table row with " n " cells under a header of " cols)
		rows++
		for (c = 1; c <= cols; c++)
			T[rows, c] = c <= n ? CELL[c] : ""
		ln++
	}
	if (rows < 2 || SRC[start + 1] !~ /^[ \t|:-]+$/)
		fail(start, "a table needs a header row, a |---| row and a row of cells")
	for (c = 1; c <= cols; c++) {
		WIDE[c] = 0
		for (r = 1; r <= rows; r++) {
			w = cell_width(T[r, c])
			if (w > WIDE[c])
				WIDE[c] = w
		}
	}
	fixed = 0
	for (c = 1; c < cols; c++)
		fixed += WIDE[c] + 4
	if (fixed <= COLUMN_MAX || fixed + WIDE[cols] <= TEXT_WIDTH) {
		widths = ""
		for (c = 1; c < cols; c++)
			widths = widths " \"" repeat("x", WIDE[c]) "\""
		out(".Bl -column" widths)
		for (r = 1; r <= rows; r++)
			column_row(r, cols)
	} else {
		#  A tagged list: the first cell is the tag, the first two when
		#  the first is at most 3 wide (a type's number: "1 HELLO").
		w = 0
		for (r = 2; r <= rows; r++)
			if (cell_width(T[r, 1]) > w)
				w = cell_width(T[r, 1])
		tagcols = w <= 3 && cols > 2 ? 2 : 1
		widest = 0
		for (r = 2; r <= rows; r++)
			if (tag_width(r, tagcols) > widest)
				widest = tag_width(r, tagcols)
		out(".Bl -tag -width " (widest <= 16 ? "\"" repeat("x", widest + 1) "\"" : "Ds"))
		for (r = 2; r <= rows; r++)
			tagged_row(r, cols, tagcols)
	}
	out(".El")
	after_heading = 0
}

function repeat(s, n,    t) {
	t = ""
	while (n-- > 0)
		t = t s
	return t
}

#  The width of TEXT, a cell, on a terminal: what flow() prints, with
#  quotes around code.
function cell_width(text,    k, w) {
	inline(text)
	w = 0
	for (k = 1; k <= NW; k++) {
		w += display_width(WORD[k])
		if (k > 1 && !GLUED[k])
			w++
		if (STYLE[k] == 1 && (k == 1 || STYLE[k - 1] != 1 || SEG[k - 1] != SEG[k]))
			w += 2
	}
	return w
}

function tag_width(r, tagcols) {
	return cell_width(T[r, 1]) + (tagcols == 2 ? 1 + cell_width(T[r, 2]) : 0)
}

#  One row of a -column list: the cells but the last on the .It line, the
#  last one after it (it wraps). The header row is bold.
function column_row(r, cols,    c, line) {
	line = ".It"
	for (c = 1; c <= cols; c++) {
		if (r > 1 && c == cols)
			break
		if (c > 1)
			line = line " Ta"
		inline(T[r, c])
		if (NW > 0)
			line = line " " run(1, NW, "cell", r == 1 ? 2 : 0)
	}
	if (r > 1 && cols > 1)
		line = line " Ta"
	out(line)
	if (r > 1) {
		inline(T[r, cols])
		after_heading = 1
		flow(0)
	}
}

#  One row of a tagged list: the tag, then each other cell that is not
#  empty as "header: text" on a line of its own.
function tagged_row(r, cols, tagcols,    c, first) {
	inline(T[r, 1] (tagcols == 2 ? " " T[r, 2] : ""))
	out(".It " run(1, NW, "cell", 0))
	first = 1
	for (c = tagcols + 1; c <= cols; c++) {
		if (T[r, c] == "")
			continue
		if (!first)
			out(".br")
		first = 0
		inline(T[1, c] ": " T[r, c])
		after_heading = 1
		flow(0)
	}
}

# --------------------------------------------------------------------------
# Anchors: a heading's anchor is its text in lower case, markup and
# punctuation left out, spaces made dashes (as GitHub makes them); a second
# heading of the same text gets "-1".

function find_anchors(    i, fenced, line, a) {
	fenced = 0
	for (i = 1; i <= nsrc; i++) {
		line = SRC[i]
		if (line ~ /^```/)
			fenced = !fenced
		if (fenced || line !~ /^#+ /)
			continue
		sub(/^#+[ \t]+/, "", line)
		a = anchor(line)
		if (a in ANCHOR)
			a = a "-" (++ANCHOR[a])
		ANCHOR[a] = 0
	}
}

function anchor(text,    i, c, a) {
	text = tolower(text)
	a = ""
	for (i = 1; i <= length(text); i++) {
		c = substr(text, i, 1)
		if (c == " ")
			a = a "-"
		else if (c ~ /[a-z0-9_-]/)
			a = a c
	}
	return a
}

# --------------------------------------------------------------------------
# Inline markup: inline(TEXT) splits TEXT into words WORD[1..NW], each with
# STYLE (0 plain, 1 code, 2 bold, 3 emphasis, 4 a manual page NAME(N)),
# SEG (words of one code span or one run of markup share it) and GLUED
# (no space between it and the word before).

function inline(s,    p, c, q, ticks, rest, closer, code, style, after) {
	NW = 0
	spaced = 1
	open_word = 0
	bold = 0
	em = 0
	seg = 1
	p = 1
	while (p <= length(s)) {
		c = substr(s, p, 1)
		style = bold ? 2 : em ? 3 : 0
		if (c == "`") {
			q = p
			while (substr(s, q, 1) == "`")
				q++
			ticks = substr(s, p, q - p)
			rest = substr(s, q)
			closer = index(rest, ticks)
			if (closer > 0) {
				code = substr(rest, 1, closer - 1)
				if (code ~ /^ .* $/)
					code = substr(code, 2, length(code) - 2)
				seg++
				add_text(code, 1)
				seg++
				p = q + closer - 1 + length(ticks)
			} else {
				add_text(ticks, style)
				p = q
			}
			continue
		}
		if (c == "*" && substr(s, p + 1, 1) == "*") {
			bold = !bold
			seg++
			p += 2
			continue
		}
		if (c == "*" && !em && substr(s, p + 1, 1) ~ /[^ \t*]/ &&
		    index(substr(s, p + 2), "*") > 0) {
			em = 1
			seg++
			p++
			continue
		}
		if (c == "*" && em && substr(s, p - 1, 1) !~ /[ \t]/) {
			em = 0
			seg++
			p++
			continue
		}
		if (c == "[" && match(substr(s, p), /^\[[^]]*\]\([^)]*\)/)) {
			#  A link: its text stays, and the address of one that
			#  leads out of the page, in angle brackets.
			rest = substr(s, p, RLENGTH)
			after = p + RLENGTH <= length(s) ? substr(s, p + RLENGTH) : ""
			q = index(rest, "](")
			code = substr(rest, q + 2, length(rest) - q - 2)
			link_target(code)
			s = substr(s, 1, p - 1) substr(rest, 2, q - 2) \
			    (code ~ /^#/ ? "" : " <" code ">") after
			continue
		}
		if (style != 1 && (p == 1 || substr(s, p - 1, 1) !~ /[A-Za-z0-9_.-]/) &&
		    match(substr(s, p), /^[a-z][a-z0-9_.-]*\([1-9]\)/) &&
		    substr(s, p, RLENGTH) != PAGE "(" SECTION ")") {
			open_word = 0
			seg++
			add_text(substr(s, p, RLENGTH), 4)
			open_word = 0
			seg++
			p += RLENGTH
			continue
		}
		add_text(c, style)
		p++
	}
}

function link_target(target) {
	if (target !~ /^#/)
		return
	if (!(substr(target, 2) in ANCHOR))
		fail(BLK, "a link to " target ", which no heading has")
}

function add_text(text, style,    i, c) {
	for (i = 1; i <= length(text); i++) {
		c = substr(text, i, 1)
		if (c == " " || c == "\t") {
			spaced = 1
			open_word = 0
			continue
		}
		if (open_word && (STYLE[NW] != style || SEG[NW] != seg))
			open_word = 0
		if (!open_word) {
			NW++
			WORD[NW] = ""
			STYLE[NW] = style
			SEG[NW] = seg
			GLUED[NW] = NW > 1 && !spaced
			spaced = 0
			open_word = 1
		}
		WORD[NW] = WORD[NW] c
	}
}

function upper_words(    k) {
	for (k = 1; k <= NW; k++)
		if (STYLE[k] == 0)
			WORD[k] = toupper(WORD[k])
}

# --------------------------------------------------------------------------
# Writing words out

#  Prints WORD[1..NW] as text and macro lines; BASE is the style of plain
#  words (2 for the title).
function flow(base,    k, m, a, line, e) {
	for (k = 1; k <= NW; k++)
		MACRO[k] = (STYLE[k] ? STYLE[k] : base) != 0
	#  A word glued to one with markup goes on its macro line.
	for (k = NW; k > 1; k--)
		if (MACRO[k] && GLUED[k])
			MACRO[k - 1] = 1
	for (k = 2; k <= NW; k++)
		if (MACRO[k - 1] && GLUED[k])
			MACRO[k] = 1
	line = ""
	for (k = 1; k <= NW; k++) {
		if (MACRO[k]) {
			if (line != "")
				out(line)
			line = ""
			#  A sentence that ends inside the run ends its line.
			for (m = k; m < NW && MACRO[m + 1] &&
			    (GLUED[m + 1] || STYLE[m] == 1 || WORD[m] !~ /[.?!][)"']*$/); m++)
				;
			out("." run(k, m, "para", base))
			k = m
			continue
		}
		e = escape(WORD[k], 0)
		if (WORD[k] ~ /:\/\//)
			e = "\\%" e
		if (line == "" && e ~ /^[.']/)
			e = "\\&" e
		if (line != "" && length(line) + 1 + length(e) > 72) {
			out(line)
			line = e ~ /^[.']/ ? "\\&" e : e
		} else {
			line = line (line == "" ? "" : " ") e
		}
		#  A sentence ends its line (so roff spaces it as one).
		if (WORD[k] ~ /[.?!][)"']*$/ && k < NW && !MACRO[k + 1]) {
			out(line)
			line = ""
		}
	}
	if (line != "")
		out(line)
	after_heading = 0
}

#  Whether W is only closing punctuation, which mdoc puts right after what
#  comes before it.
function closing(w) {
	return w ~ /^[].,:;)?!]+$/
}

#  The arguments of a macro line (without the dot) for WORD[a..b]. MODE
#  "para" starts a line of its own; "cell" follows .It, Ta, .Sh or .Ss,
#  and closes every code span explicitly (So Li ... Sc: groff misplaces
#  Ql's closing quote in a column, and Ql takes what follows it on the
#  line into its quotes).
function run(a, b, mode, base,    k, s, st, toks, e, i, last, ql, tail) {
	toks = ""
	st = mode == "cell" ? "text" : ""
	for (k = a; k <= b; k++) {
		s = STYLE[k] ? STYLE[k] : base
		if (s == 0 && k > a && GLUED[k] && closing(WORD[k])) {
			if (st == "So")
				toks = toks " Sc"
			for (i = 1; i <= length(WORD[k]); i++)
				toks = toks " " substr(WORD[k], i, 1)
			st = "delim"
			continue
		}
		if (st == "So" && (s != 1 || SEG[k] != SEG[k - 1])) {
			toks = toks " Sc"
			st = "closed"
		}
		if (k > a && GLUED[k])
			toks = toks " Ns"
		if (s == 4) {
			e = WORD[k]
			i = index(e, "(")
			toks = toks " Xr " escape(substr(e, 1, i - 1), 1) " " substr(e, i + 1, 1)
			st = "closed"
			continue
		}
		if (s == 1 && (k == a || STYLE[k - 1] != 1 || SEG[k - 1] != SEG[k])) {
			#  A code span: Ql when nothing but closing punctuation
			#  follows it on this line.
			for (last = k; last < b && STYLE[last + 1] == 1 && SEG[last + 1] == SEG[k]; last++)
				;
			ql = mode == "para"
			for (i = last + 1; i <= b; i++)
				if (STYLE[i] == 1 || !GLUED[i] || !closing(WORD[i]))
					ql = 0
			toks = toks (ql ? " Ql" : " So Li")
			st = ql ? "Ql" : "So"
		} else if (s == 0 && st != "text") {
			toks = toks " No"
			st = "text"
		} else if (s == 2 && st != "Sy") {
			toks = toks " Sy"
			st = "Sy"
		} else if (s == 3 && st != "Em") {
			toks = toks " Em"
			st = "Em"
		}
		#  Closing punctuation at the end of a word (not of code) is a
		#  delimiter of its own, so that a sentence ends there.
		e = WORD[k]
		tail = ""
		if (s != 1 && match(e, /[].,:;)?!]+$/) && RSTART > 1) {
			tail = substr(e, RSTART)
			e = substr(e, 1, RSTART - 1)
		}
		toks = toks " \\&" escape(e, 1)
		if (s == 1 && closing(substr(e, length(e))))
			toks = toks "\\&"
		for (i = 1; i <= length(tail); i++)
			toks = toks " " substr(tail, i, 1)
		if (tail != "")
			st = "delim"
	}
	if (st == "So")
		toks = toks " Sc"
	return substr(toks, 2)
}

#  TEXT for roff: backslashes escaped, characters beyond ASCII as
#  \[uXXXX]; on a macro line (MACRO set) double quotes as \(dq.
function escape(text, macro,    i, c, o, n, cp, k, b) {
	o = ""
	n = length(text)
	for (i = 1; i <= n; i++) {
		c = substr(text, i, 1)
		b = ORD[c]
		if (c == "\\") {
			o = o "\\e"
		} else if (c == "\"" && macro) {
			o = o "\\(dq"
		} else if (b < 128) {
			o = o c
		} else {
			if (b >= 240 && b < 248) {
				cp = b - 240
				k = 3
			} else if (b >= 224) {
				cp = b - 224
				k = 2
			} else if (b >= 192) {
				cp = b - 192
				k = 1
			} else {
				fail(BLK, "a byte that is not UTF-8")
			}
			while (k-- > 0) {
				b = ORD[substr(text, ++i, 1)]
				if (b < 128 || b >= 192)
					fail(BLK, "a byte that is not UTF-8")
				cp = cp * 64 + b - 128
			}
			o = o sprintf("\\[u%04X]", cp)
		}
	}
	return o
}

#  The columns TEXT takes on a terminal (a UTF-8 character takes one).
function display_width(text,    i, n, b) {
	n = 0
	for (i = 1; i <= length(text); i++) {
		b = ORD[substr(text, i, 1)]
		if (b < 128 || b >= 192)
			n++
	}
	return n
}
