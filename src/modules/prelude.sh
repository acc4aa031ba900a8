# condaplay's helpers, sent ahead of every module body (POSIX sh, no bashisms).
# Results travel back on stdout as records: \036 KEY \0 VALUE \0.
# Sent once per shell: a host keeps one shell per become user for the whole run
# and every task runs in a subshell of it (see cp_task in protocol.rs).
umask 022
CP_BASE=$(mktemp -d "${TMPDIR:-/tmp}/.condaplay.XXXXXX") || { printf '\036failed\000cannot create a private temporary directory\000'; exit 1; }
trap 'rm -rf "$CP_BASE"' EXIT
# A signal (the connection closing) still removes the directory.
trap 'exit 129' HUP
trap 'exit 143' TERM
# Modules' scratch files go in CP_TMP, emptied after each task; the per-item
# stderr files live next to it so an idle CP_TMP costs no fork to check.
CP_TMP=$CP_BASE/w
mkdir "$CP_TMP" || { printf '\036failed\000cannot create a private temporary directory\000'; exit 1; }
cp_rec() { printf '\036%s\000%s\000' "$1" "$2"; }
# A record whose value is a file's content (binary-safe but for NUL bytes);
# an empty file costs no program.
cp_recf() { printf '\036%s\000' "$1"; [ -s "$2" ] && tr -d '\000' < "$2"; printf '\000'; }
cp_changed() { cp_rec changed 1; }
cp_ret() { cp_rec "ret.$1" "$2"; }
cp_msg() { cp_rec msg "$1"; }
cp_fail() { cp_rec failed "$1"; exit 1; }
cp_skip() { cp_rec skipped "$1"; exit 0; }
cp_check() { [ "$CP_CHECK" = 1 ]; }
# Before/after of one path, for --diff: cp_diff LABEL BEFORE_FILE AFTER_FILE
cp_diff() {
  [ "$CP_DIFF" = 1 ] || return 0
  cp_rec diff.path "$1"
  if [ -f "$2" ]; then cp_recf diff.before "$2"; else cp_rec diff.before ""; fi
  if [ -f "$3" ]; then cp_recf diff.after "$3"; else cp_rec diff.after ""; fi
}
# Decodes base64 from stdin into a file: cp_b64 FILE <<'EOF' ... EOF
cp_b64() { base64 -d > "$1" || cp_fail "base64 is missing or failed on this host"; }
# Owner, group and mode of an existing path: cp_attrs PATH MODE OWNER GROUP (empty = leave)
cp_attrs() {
  if [ -n "$3" ] || [ -n "$4" ]; then
    cur_og=$(stat -c '%U:%G' "$1") || cp_fail "cannot stat $1"
    want_o=${3:-${cur_og%%:*}}; want_g=${4:-${cur_og#*:}}
    if [ "$cur_og" != "$want_o:$want_g" ]; then
      cp_check || chown -h "$want_o:$want_g" "$1" || cp_fail "chown $want_o:$want_g $1 failed"
      cp_changed
    fi
  fi
  if [ -n "$2" ] && [ ! -L "$1" ]; then
    cur_m=$(stat -c '%a' "$1") || cp_fail "cannot stat $1"
    case "$2" in
      [0-7]*)
        # The octal digits without leading zeros, as stat prints them (no fork).
        case "$2" in *[!0-7]*) cp_fail "invalid mode $2" ;; esac
        want_m=$2
        while [ "${want_m#0}" != "$want_m" ] && [ -n "${want_m#0}" ]; do want_m=${want_m#0}; done
        if [ "$cur_m" != "$want_m" ]; then
          cp_check || chmod "$2" "$1" || cp_fail "chmod $2 $1 failed"
          cp_changed
        fi ;;
      *)
        # Symbolic modes: apply to a scratch file to learn the result.
        : > "$CP_TMP/mode"; chmod "$cur_m" "$CP_TMP/mode"; chmod "$2" "$CP_TMP/mode" || cp_fail "invalid mode $2"
        want_m=$(stat -c '%a' "$CP_TMP/mode")
        if [ "$cur_m" != "$want_m" ]; then
          cp_check || chmod "$want_m" "$1" || cp_fail "chmod $2 $1 failed"
          cp_changed
        fi ;;
    esac
  fi
}
# Installs SRC at DEST atomically when the content differs: temporary file in
# DEST's directory, fsync, owner and mode kept (or set), rename.
# cp_put SRC DEST MODE OWNER GROUP BACKUP(0|1)
cp_put() {
  if [ -f "$2" ] && cmp -s "$1" "$2"; then
    cp_attrs "$2" "$3" "$4" "$5"
    return 0
  fi
  [ -d "$2" ] && cp_fail "$2 is a directory"
  cp_diff "$2" "$2" "$1"
  cp_changed
  cp_check && return 0
  cp_dir=$(dirname -- "$2")
  [ -d "$cp_dir" ] || cp_fail "Destination directory $cp_dir does not exist"
  cp_new=$(mktemp "$cp_dir/.condaplay.XXXXXX") || cp_fail "cannot write in $cp_dir"
  cat "$1" > "$cp_new" || { rm -f "$cp_new"; cp_fail "cannot write $2"; }
  if [ -e "$2" ]; then
    chown --reference="$2" "$cp_new" 2>/dev/null
    chmod --reference="$2" "$cp_new"
    if [ "$6" = 1 ]; then
      cp_bak="$2.$(date +%Y-%m-%d@%H:%M:%S)~"
      cp -p "$2" "$cp_bak" && cp_ret backup_file "$cp_bak"
    fi
  else
    chmod 0644 "$cp_new"
  fi
  [ -n "$3" ] && { chmod "$3" "$cp_new" || { rm -f "$cp_new"; cp_fail "invalid mode $3"; }; }
  if [ -n "$4" ] || [ -n "$5" ]; then
    chown "${4}${5:+:$5}" "$cp_new" || { rm -f "$cp_new"; cp_fail "chown ${4}${5:+:$5} failed"; }
  fi
  sync "$cp_new" 2>/dev/null
  mv -f "$cp_new" "$2" || { rm -f "$cp_new"; cp_fail "cannot rename into $2"; }
}
