# Shared by qemu-image/build and qemu-image/boot-test (sourced, not run).

# lock_value KEY: a value from kernel.lock (read as text, never sourced).
lock_value() {
  sed -n "s/^$1=//p" "$(dirname "${BASH_SOURCE[0]}")/kernel.lock"
}

# fetch_kernel_deb CACHE_DIR: prints the path of the pinned kernel .deb, downloading it with
# apt-get download if needed; exits if its SHA-256 is not the pinned one.
fetch_kernel_deb() {
  local cache=$1 package version want deb got
  package=$(lock_value package)
  version=$(lock_value version)
  want=$(lock_value deb_sha256)
  mkdir -p "$cache"
  deb=$cache/${package}_${version}_amd64.deb
  if [ ! -f "$deb" ]; then
    # apt drops privileges to _apt when it can; a folder it may write to avoids a warning.
    (cd "$cache" && apt-get download -qq -o APT::Sandbox::User=root "$package=$version") >&2 || {
      echo "qemu-image: apt-get download $package=$version failed; put the .deb with SHA-256 $want in $cache" >&2
      exit 1
    }
  fi
  got=$(sha256sum "$deb" | cut -d' ' -f1)
  if [ "$got" != "$want" ]; then
    echo "qemu-image: $deb has SHA-256 $got, but kernel.lock pins $want; refusing to build" >&2
    exit 1
  fi
  printf '%s\n' "$deb"
}

# line_send NAME FILE: the framing used on the appliance's transfer lines (second and third
# serial ports), host to guest. Newlines first: the guest's UART drops what sits in its FIFO when
# the port is opened. An empty FILE name sends an empty transfer.
line_send() {
  local name=$1 file=${2:-}
  printf '\n%.0s' $(seq 256)
  if [ -n "$file" ]; then
    printf 'HANKO-TO-GUEST-BEGIN %s %s %s\n' "$name" "$(sha256sum < "$file" | cut -d' ' -f1)" "$(stat -c %s "$file")"
    base64 -w 76 < "$file"
  else
    printf 'HANKO-TO-GUEST-BEGIN %s empty 0\n' "$name"
  fi
  printf 'HANKO-TO-GUEST-END\n'
}

# line_receive CAPTURE OUT_FILE: decodes the last guest-to-host transfer in a captured line and
# checks its SHA-256; returns 1 if there is none or it is damaged, 2 if it was empty.
line_receive() {
  local capture=$1 out=$2 header want
  header=$(tr -d '\r' < "$capture" | grep -a '^HANKO-TO-HOST-BEGIN ' | tail -1) || return 1
  tr -d '\r' < "$capture" | awk '/^HANKO-TO-HOST-BEGIN /{body=""; on=1; next} /^HANKO-TO-HOST-END/{if (on) last=body; on=0; next} on{body=body $0 "\n"} END{printf "%s", last}' \
    | base64 -d > "$out" 2>/dev/null || return 1
  want=$(printf '%s\n' "$header" | cut -d' ' -f3)
  [ "$want" = empty ] && return 2
  [ "$(sha256sum < "$out" | cut -d' ' -f1)" = "$want" ]
}
