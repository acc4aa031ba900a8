# The ssh floor: all 30 checks of workload.yml as one POSIX shell script, fixing
# what differs (so it also serves as a cold run). One plain ssh per server runs it.
umask 022
c=0
for i in 01 02 03 04 05 06 07 08 09 10; do
  d=/srv/bench/d$i
  [ -d "$d" ] || { mkdir -p "$d"; c=$((c+1)); }
  [ "$(stat -c %a "$d")" = 755 ] || { chmod 755 "$d"; c=$((c+1)); }
done
for i in 1 2 3 4 5 6 7 8; do
  f=/srv/bench/d0$i/app$i.conf
  if [ $((i % 2)) = 1 ]; then m=644; else m=600; fi
  if ! printf 'name=app%s\nport=%s\n' "$i" $((8000 + i)) | cmp -s - "$f"; then
    printf 'name=app%s\nport=%s\n' "$i" $((8000 + i)) > "$f.tmp" && mv -f "$f.tmp" "$f"; c=$((c+1))
  fi
  [ "$(stat -c %a "$f")" = $m ] || { chmod $m "$f"; c=$((c+1)); }
done
for i in 1 2 3 4 5 6; do
  grep -qxF "option$i = value$i" /srv/bench/settings.conf 2>/dev/null || { echo "option$i = value$i" >> /srv/bench/settings.conf; c=$((c+1)); }
done
for i in 1 2 3 4; do
  [ -e /srv/bench/marker$i ] || { touch /srv/bench/marker$i; c=$((c+1)); }
done
dpkg-query -W -f '${Status}' procps 2>/dev/null | grep -q 'ok installed' || { apt-get install -y procps >/dev/null; c=$((c+1)); }
systemctl is-active -q ssh || { systemctl start ssh; c=$((c+1)); }
systemctl is-enabled -q ssh || { systemctl enable -q ssh; c=$((c+1)); }
echo "changed=$c"
