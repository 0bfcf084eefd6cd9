#!/bin/bash
# The option list in step: what the parser accepts (user/cmd/args.c: long_opts,
# the getopt string and the command names), the man page (user/tcpclose.8,
# the option reference), `tcpclose --help` and each command's --help, and the
# tcpclose command lines of README.md and docs/*.md. Every option and command
# the parser accepts is documented, with or without its argument as the
# parser takes it, and nothing is documented that the parser rejects.
# No root, no traffic: `bash tests/integration/test_options.sh` anywhere.
. "$(dirname "$0")/lib.sh"
args_c=$ROOT/user/cmd/args.c
man8=$ROOT/user/tcpclose.8
if [ ! -r "$args_c" ] || [ ! -r "$man8" ]; then
	# The test VM copies tests/integration, not the sources; the host runs this.
	note "user/cmd/args.c or user/tcpclose.8 not in this tree: skipped"
	finish
	exit
fi

# --- what the parser accepts ----------------------------------------------
# long_opts: `{ "name", required_argument, NULL, 'x' },` -> "name required x"
sed -n 's/^[[:space:]]*{ "\([a-z0-9-]*\)", \([a-z]*\)_argument, NULL, \([^ ]*\) },.*/\1 \2 \3/p' \
	"$args_c" | tr -d "'" >"$WORK/p.long"
optstring=$(sed -n 's/.*getopt_long([^"]*"\([^"]*\)".*/\1/p' "$args_c" | head -1)
sed -n 's/^[[:space:]]*{ "\([a-z]*\)", TC_CMD_[A-Z]* },.*/\1/p' "$args_c" | sort -u >"$WORK/p.cmds"
check_ge "args.c: long options found (else this test's reader needs updating)" 10 "$(wc -l <"$WORK/p.long")"
check_match "args.c: getopt string found" '^:?[a-zA-Z]' "$optstring"
check_ge "args.c: commands found" 5 "$(wc -l <"$WORK/p.cmds")"
cut -d' ' -f1 "$WORK/p.long" | sort -u >"$WORK/p.longnames"
# short options, "x arg" or "x none", from the getopt string
: >"$WORK/p.short"
s=${optstring#:}
while [ -n "$s" ]; do
	c=${s:0:1} s=${s:1}
	if [ "${s:0:1}" = : ]; then echo "$c required" >>"$WORK/p.short"; s=${s:1}
	else echo "$c no" >>"$WORK/p.short"; fi
done
cut -d' ' -f1 "$WORK/p.short" | sort -u >"$WORK/p.shortnames"
is_long() { grep -Fqx -- "$1" "$WORK/p.longnames"; }
is_short() { grep -Fqx -- "$1" "$WORK/p.shortnames"; }
arg_of_long() { awk -v o="$1" '$1 == o { print $2 }' "$WORK/p.long"; }
short_of_long() { awk -v o="$1" '$1 == o && length($3) == 1 { print $3 }' "$WORK/p.long"; }

# The binary agrees with the reader: a known option is never "unknown"
# (`help` runs nothing; the trailing word makes every parse end in an error
# or in the usage text), a made-up one is.
accepted() { ! "$TCPCLOSE" help "$1" x extra-word 2>&1 | grep -q "unknown option"; }
bad=
while read -r o _; do accepted "--$o" || bad="$bad --$o"; done <"$WORK/p.long"
while read -r o _; do accepted "-$o" || bad="$bad -$o"; done <"$WORK/p.short"
check "the binary accepts every option args.c lists" "" "$bad"
accepted --no-such-option-$$ && check "the binary rejects a made-up option" rejected accepted
accepted --no-such-option-$$ || check "the binary rejects a made-up option" rejected rejected
bad=
while read -r c; do
	"$TCPCLOSE" "$c" --help >/dev/null 2>&1 || bad="$bad $c"
done <"$WORK/p.cmds"
check "every command args.c names parses (with --help)" "" "$bad"

# --- --help -----------------------------------------------------------------
"$TCPCLOSE" --help >"$WORK/help"; check "--help exits 0" 0 $?
"$TCPCLOSE" help >"$WORK/help2"; check "help prints the same as --help" "" "$(cmp "$WORK/help" "$WORK/help2" 2>&1)"
# OPTIONS section: "  -d, --duration SECONDS   text" or "      --light      text"
# (an option in column 2 or 6; deeper lines continue a description)
sed -n '/^OPTIONS/,/^[A-Z]/p' "$WORK/help" |
	sed -n 's/^\(  -\([a-zA-Z]\), \|      \)--\([a-z0-9-]*\)\(.*\)$/\3|\2|\4/p' >"$WORK/h.items"
cut -d'|' -f1 "$WORK/h.items" | sort -u >"$WORK/h.long"
check "--help lists every long option args.c accepts" "" \
	"$(comm -23 "$WORK/p.longnames" "$WORK/h.long" | sed 's/^/--/' | xargs)"
check "--help lists no long option args.c rejects" "" \
	"$(comm -13 "$WORK/p.longnames" "$WORK/h.long" | sed 's/^/--/' | xargs)"
bad=
while IFS='|' read -r o short rest; do
	[ "$short" = "$(short_of_long "$o")" ] || bad="$bad --$o(-${short:-none} vs -$(short_of_long "$o"))"
	want=$(arg_of_long "$o") has=no
	[[ "$rest" =~ ^\ [A-Z[] ]] && has=required
	[ "$has" = "$want" ] || bad="$bad --$o(argument: $has, parser: $want)"
done <"$WORK/h.items"
check "--help: each option's short form and argument as the parser has them" "" "$bad"
# every option word anywhere in the text (examples too) is one the parser knows
bad=
for o in $(grep -oE -- '(^|[ ([])--[a-z][a-z0-9-]*' "$WORK/help" | sed 's/^[ ([]//; s/^--//' | sort -u); do
	is_long "$o" || bad="$bad --$o"
done
for o in $(grep -E '^  (sudo )?tcpclose' "$WORK/help" | sed 's/\$([^)]*)//g' |
		grep -oE -- '(^| )-[a-zA-Z]( |$)' | tr -d ' -' | sort -u); do
	is_short "$o" || bad="$bad -$o"
done
check "--help mentions no option the parser rejects" "" "$bad"
sed -n '/^COMMANDS/,/^[A-Z]/p' "$WORK/help" | sed -n 's/^  \([a-z]\{1,\}\)\( .*\)\{0,1\}$/\1/p' |
	sort -u >"$WORK/h.cmds"
check "--help lists every command, and only those" "" \
	"$(diff "$WORK/p.cmds" "$WORK/h.cmds" | grep '^[<>]' | xargs)"
# each command's --help: exit 0, the usage, only options the parser knows
bad=
while read -r c; do
	"$TCPCLOSE" "$c" --help >"$WORK/hc" 2>&1 || { bad="$bad $c(exit)"; continue; }
	grep -q '^USAGE' "$WORK/hc" || bad="$bad $c(no usage)"
	for o in $(grep -oE -- '(^|[ ([])--[a-z][a-z0-9-]*' "$WORK/hc" | sed 's/^[ ([]//; s/^--//' | sort -u); do
		is_long "$o" || bad="$bad $c:--$o"
	done
done <"$WORK/p.cmds"
check "every command's --help: the usage, only options the parser knows" "" "$bad"

# --- the man page -----------------------------------------------------------
# roff to plain words: \- is -, font escapes go
sed 's/\\-/-/g; s/\\f[BIRP]//g; s/\\(mc/u/g' "$man8" >"$WORK/man"
# OPTIONS: the item line after each .TP, e.g. `.BR -d ", " --duration " SECONDS"`
sed -n '/^\.SH OPTIONS/,/^\.SH /p' "$WORK/man" | awk 'tp { print; tp = 0 } /^\.TP/ { tp = 1 }' >"$WORK/m.items"
grep -oE -- '(^| )--[a-z][a-z0-9-]*' "$WORK/m.items" | sed 's/^ //; s/^--//' | sort -u >"$WORK/m.long"
check_ge "man page: OPTIONS items found" 10 "$(wc -l <"$WORK/m.items")"
check "man page lists every long option args.c accepts" "" \
	"$(comm -23 "$WORK/p.longnames" "$WORK/m.long" | sed 's/^/--/' | xargs)"
check "man page lists no long option args.c rejects" "" \
	"$(comm -13 "$WORK/p.longnames" "$WORK/m.long" | sed 's/^/--/' | xargs)"
bad=
while read -r line; do
	for o in $(grep -oE -- '(^| )--[a-z][a-z0-9-]*' <<<"$line" | sed 's/^ //; s/^--//'); do
		# the short form, when the parser has one, on the same item line
		short=$(short_of_long "$o")
		if [ -n "$short" ] && ! grep -qE -- "(^| )-$short \", \" --$o( |$)" <<<"$line"; then
			bad="$bad --$o(no -$short)"
		fi
		want=$(arg_of_long "$o") has=no
		[[ "${line#*--$o}" =~ ^\ \"\ [A-Z[] ]] && has=required
		[ "$has" = "$want" ] || bad="$bad --$o(argument: $has, parser: $want)"
	done
	for s in $(grep -oE -- '(^| )-[a-zA-Z] ' <<<"$line" | tr -d ' -'); do
		is_short "$s" || bad="$bad -$s(unknown)"
	done
done <"$WORK/m.items"
check "man page: each option's short form and argument as the parser has them" "" "$bad"
grep -oE -- '(^| )-[a-zA-Z] ", " --' "$WORK/m.items" | tr -d ' ",-' | sort -u >"$WORK/m.short"
check "man page lists every short option args.c accepts" "" \
	"$(comm -23 "$WORK/p.shortnames" "$WORK/m.short" | sed 's/^/-/' | xargs)"
bad=
for o in $(grep -oE -- '(^|[ ([])--[a-z][a-z0-9-]*' "$WORK/man" | sed 's/^[ ([]//; s/^--//' | sort -u); do
	is_long "$o" || bad="$bad --$o"
done
check "man page mentions no long option the parser rejects" "" "$bad"
sed -n '/^\.SH COMMANDS/,/^\.SH /p' "$WORK/man" | awk 'tp { print; tp = 0 } /^\.TP/ { tp = 1 }' |
	sed -n 's/^\.B \([a-z]*\)$/\1/p' | sort -u >"$WORK/m.cmds"
check "man page lists every command, and only those" "" \
	"$(diff "$WORK/p.cmds" "$WORK/m.cmds" | grep '^[<>]' | xargs)"

# --- README.md and docs/: the tcpclose command lines in code blocks ----------
bad=
for f in "$ROOT/README.md" "$ROOT"/docs/*.md "$ROOT/tests/README.md"; do
	[ -r "$f" ] || continue
	awk '/^```/ { code = !code; next } code' "$f" |
		sed -n 's/^[[:space:]]*\(\$ \)\{0,1\}\(sudo \)\{0,1\}\(\.\/\)\{0,1\}tcpclose\( \(.*\)\)\{0,1\}$/\5/p' |
		sed 's/\$([^)]*)//g; s/[|;#>].*//' >"$WORK/doc.lines"
	while read -r first rest; do
		case $first in
		'' | '['* | *:) continue ;;	# a synopsis or output ("tcpclose doctor: ..."), not a command
		-*) rest="$first $rest" ;;
		*) grep -Fqx -- "$first" "$WORK/p.cmds" || bad="$bad ${f#"$ROOT"/}:$first" ;;
		esac
		for w in $rest; do
			case $w in
			--[a-z]*) is_long "${w#--}" || bad="$bad ${f#"$ROOT"/}:$w" ;;
			-[a-zA-Z]) is_short "${w#-}" || bad="$bad ${f#"$ROOT"/}:$w" ;;
			esac
		done
	done <"$WORK/doc.lines"
done
check "README and docs run tcpclose only with commands and options the parser knows" "" "$bad"
finish
