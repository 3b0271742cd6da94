#!/usr/bin/env bash
# Boots Debian's own kernel (package linux-image-amd64, found under /boot at run time, not the
# running kernel) under qemu in software emulation, with a small initramfs made here: busybox,
# the kernel modules asked for (and what they depend on, softdeps included), the given binaries
# with their shared libraries, iproute2 and nft. Runs each test command in turn inside the VM and
# passes when every one exits 0. qemu exits 0 whatever happens inside, so the verdict is read
# from marker lines on the serial console.
#
#   scripts/vm/run.sh [--timeout S] [--memory MB] [--module M]... [--file PATH]... \
#                     [--keep DIR] NAME=COMMAND...
#
# Each NAME=COMMAND is a test: COMMAND runs with /bin/sh inside the VM; absolute paths in it that
# exist on the host (binaries, scripts) are copied in at the same path, with their libraries.
# Prints the serial log of a failed test, and one clear line when the VM cannot boot.
set -euo pipefail

timeout_s=300
memory=1024
keep=""
modules=(ip_vs ip_vs_rr ip_vs_wlc ip_vs_sh dummy veth nf_tables nft_ct nft_fib_ipv4 nft_masq
         nft_chain_nat nf_nat nf_conntrack sch_ingress cls_bpf)
files=()
tests=()
while (($#)); do
  case $1 in
    --timeout) timeout_s=$2; shift 2 ;;
    --memory) memory=$2; shift 2 ;;
    --module) modules+=("$2"); shift 2 ;;
    --file) files+=("$2"); shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *=*) tests+=("$1"); shift ;;
    *) echo "vm/run.sh: unexpected argument '$1' (tests are NAME=COMMAND)" >&2; exit 2 ;;
  esac
done
((${#tests[@]})) || { echo "vm/run.sh: no test given (NAME=COMMAND)" >&2; exit 2; }

fail() { echo "vm/run.sh: $*" >&2; exit 1; }

# The newest Debian kernel installed under /boot (by version order), with its modules.
boot_dir=${SHOAL_VM_BOOT_DIR:-/boot}  # another directory only to test this script
kernel=$(ls "$boot_dir"/vmlinuz-* 2>/dev/null | sort -V | tail -n 1 || true)
[[ -n $kernel ]] || fail "cannot boot the VM: no kernel in $boot_dir (install linux-image-amd64)"
version=${kernel#"$boot_dir"/vmlinuz-}
[[ -d /lib/modules/$version ]] || fail "cannot boot the VM: no /lib/modules/$version for $kernel"
[[ -r $kernel ]] || fail "cannot boot the VM: $kernel is not readable"
command -v qemu-system-x86_64 >/dev/null || fail "cannot boot the VM: qemu-system-x86_64 missing (install qemu-system-x86)"
busybox=$(command -v busybox) || fail "cannot boot the VM: busybox missing (install busybox-static)"
ldd "$busybox" >/dev/null 2>&1 && fail "cannot boot the VM: $busybox is dynamically linked (install busybox-static)"

work=$(mktemp -d /tmp/shoal-vm.XXXXXX)
cleanup() { [[ -n $keep ]] && { mkdir -p "$keep"; cp -a "$work"/. "$keep"/; }; rm -rf "$work"; }
trap cleanup EXIT
root=$work/root
mkdir -p "$root"/{bin,sbin,bb,proc,sys,dev,run,tmp,etc,lib/modules/"$version"}

# Files: each copied at its own path, a symlink as a symlink plus its target.
copy() {
  local f=$1
  [[ -e $root$f ]] && return 0
  mkdir -p "$root$(dirname "$f")"
  if [[ -L $f ]]; then
    local target
    target=$(readlink -f "$f")
    copy "$target"
    ln -sf "$target" "$root$f"
  else
    cp -a "$f" "$root$f"
  fi
}
copy_binary() {
  copy "$1"
  local lib
  for lib in $(ldd "$1" 2>/dev/null | grep -o '/[^ ]*' || true); do
    copy "$lib"
  done
}

# busybox applets live in /bb, last on PATH: its own `ip` must not shadow iproute2's.
cp "$busybox" "$root/bb/busybox"
for applet in $("$busybox" --list); do
  [[ $applet == busybox ]] || ln -sf busybox "$root/bb/$applet"
done
ln -sf /bb/busybox "$root/bin/sh"
for tool in /usr/sbin/ip /usr/sbin/nft /usr/sbin/ipvsadm; do
  [[ -e $tool ]] && copy_binary "$tool"
done
for f in /etc/protocols /etc/services; do copy "$f"; done  # nft names protocols and ports

# Modules: every dependency (modprobe's order), softdeps first, each once.
declare -A seen_module=()
module_lines=()
add_module() {
  local name=$1 soft line path
  [[ -n ${seen_module[$name]:-} ]] && return 0
  seen_module[$name]=1
  for soft in $(modinfo -k "$version" -F softdep "$name" 2>/dev/null | tr ' ' '\n' |
                grep -v ':$' || true); do
    add_module "$soft"
  done
  while read -r line; do
    case $line in
      insmod\ *)
        path=${line#insmod }; path=${path%% *}
        if [[ -z ${seen_module[$path]:-} ]]; then
          seen_module[$path]=1
          copy "$path"
          module_lines+=("$path")
        fi ;;
      builtin\ *) ;;
    esac
  done < <(modprobe -S "$version" --show-depends "$name" 2>/dev/null ||
           echo "missing $name")
  if ! modprobe -S "$version" --show-depends "$name" >/dev/null 2>&1; then
    fail "module $name not found for kernel $version"
  fi
}
for m in "${modules[@]}"; do add_module "$m"; done
printf '%s\n' "${module_lines[@]}" > "$root/etc/modules.list"

# Test commands: absolute host paths inside them come along.
: > "$root/etc/tests.list"
for t in "${tests[@]}"; do
  for word in ${t#*=}; do
    if [[ $word == /* && -f $word && ! -e $root$word ]]; then
      if ldd "$word" >/dev/null 2>&1; then
        copy_binary "$word"
      else
        copy "$word"
      fi
    fi
  done
  printf '%s\n' "$t" >> "$root/etc/tests.list"
done
for f in "${files[@]}"; do
  if ldd "$f" >/dev/null 2>&1; then copy_binary "$f"; else copy "$f"; fi
done

cat > "$root/init" <<'INIT'
#!/bin/sh
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:/bb
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /run
mkdir -p /tmp  # no tmpfs over it: the initramfs is in RAM already, and the tests may live under /tmp
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
while read -r module; do
  insmod "$module" || echo "SHOAL-VM-MODULE-FAILED $module"
done < /etc/modules.list
/usr/sbin/ip link set lo up
echo "SHOAL-VM-BOOTED $(uname -r)"
pass=0
fail=0
while IFS= read -r test; do
  name=${test%%=*}
  echo "SHOAL-VM-BEGIN $name"
  start=$(date +%s)
  sh -c "${test#*=}" < /dev/null
  rc=$?
  echo "SHOAL-VM-END $name rc=$rc seconds=$(( $(date +%s) - start ))"
  if [ "$rc" -eq 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
done < /etc/tests.list
echo "SHOAL-VM-RESULT pass=$pass fail=$fail"
poweroff -f
INIT
chmod +x "$root/init"

(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) > "$work/initramfs.gz"
echo "vm/run.sh: kernel $version, initramfs $(du -h "$work/initramfs.gz" | cut -f1), ${#tests[@]} test(s), timeout ${timeout_s}s"

log=$work/serial.log
start=$(date +%s)
set +e
timeout --kill-after=10 "$timeout_s" qemu-system-x86_64 -accel tcg -m "$memory" -smp 1 \
  -kernel "$kernel" -initrd "$work/initramfs.gz" \
  -append "console=ttyS0 panic=-1 loglevel=4 rdinit=/init" \
  -display none -monitor none -serial "file:$log" -nic none -no-reboot
qemu_rc=$?
set -e
elapsed=$(($(date +%s) - start))
[[ -f $log ]] || : > "$log"
sed -i 's/\r$//' "$log"
[[ -n ${SHOAL_VM_LOG:-} ]] && cp "$log" "$SHOAL_VM_LOG"

grep -a '^SHOAL-VM-END\|^SHOAL-VM-MODULE-FAILED' "$log" | sed 's/^/vm: /' || true
result=$(grep -a -o 'SHOAL-VM-RESULT pass=[0-9]* fail=[0-9]*' "$log" | tail -n 1 || true)
if [[ -z $result ]]; then
  tail -n 40 "$log" | sed 's/^/serial: /' >&2
  if ((qemu_rc == 124 || qemu_rc == 137)); then
    if grep -aq SHOAL-VM-BOOTED "$log"; then
      fail "the VM timed out after ${timeout_s}s (tests still running; raise --timeout)"
    fi
    fail "cannot boot the VM: kernel $version did not reach init within ${timeout_s}s"
  fi
  [[ -s $log ]] ||
    fail "cannot boot the VM: qemu exited ($qemu_rc) before kernel $version printed anything"
  panic=$(grep -a -m1 'Kernel panic' "$log" || true)
  [[ -z $panic ]] || fail "the VM kernel panicked: ${panic#*] }"
  fail "the VM stopped before its tests finished (kernel panic or init died; serial log above)"
fi
passed=${result#*pass=}; passed=${passed%% *}
failed=${result##*fail=}
if ((failed != 0 || passed != ${#tests[@]})); then
  # The serial log of each failed test, between its markers.
  awk '/^SHOAL-VM-BEGIN/{buf=""; name=$2} {buf=buf"\n"$0} /^SHOAL-VM-END/ && !/rc=0 /{print buf}' \
    "$log" | sed 's/^/serial: /' >&2
  fail "$failed of ${#tests[@]} VM test(s) failed (${elapsed}s)"
fi
echo "vm/run.sh: ${#tests[@]} VM test(s) passed in ${elapsed}s (kernel $version, emulated)"
