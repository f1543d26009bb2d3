#!/bin/sh
# /sbin/swarmroot NETIF swarm:<TARGET> NEWROOT
#   40network's netroot handler for root=swarm:<TARGET>: fetch the image into RAM with
#   deboot-fetch (every chunk verified against TARGET before the file exists), mount it
#   read-only (squashfs) under a tmpfs overlay at NEWROOT.
# /sbin/swarmroot --no-network
#   initqueue timeout hook: no interface came up in time.
# On failure: a clear message, then dracut's emergency shell, or with rd.shell=0 a reboot
# after deboot.reboot_timeout seconds (rd.emergency=poweroff|halt picks another action).

command -v getarg > /dev/null || . /lib/dracut-lib.sh
PATH=/usr/sbin:/usr/bin:/sbin:/bin

DEBOOT=/run/deboot

deboot_fail() {
    : > /run/initramfs/.die 2> /dev/null
    warn "deboot: FATAL: $*"
    warn "deboot: refusing to boot an unverified root filesystem"
    umount "$NEWROOT" 2> /dev/null
    umount "$DEBOOT/lower" 2> /dev/null
    umount "$DEBOOT" 2> /dev/null
    if getargbool 1 rd.shell -d -y rdshell; then
        emergency_shell "deboot: $*"
        exit 1
    fi
    _t=$(getarg deboot.reboot_timeout=)
    _t=${_t:-30}
    _a=$(getarg rd.emergency=)
    _a=${_a:-reboot}
    warn "deboot: rd.shell=0: $_a in $_t s"
    sleep "$_t"
    case "$_a" in
        poweroff) echo o > /proc/sysrq-trigger ;;
        halt) halt -f ;;
        *) echo b > /proc/sysrq-trigger ;;
    esac
    exit 1
}

if [ "$1" = "--no-network" ]; then
    [ -e "$DEBOOT/mounted" ] && exit 0
    deboot_fail "no network: no interface was configured (rd.neednet=1 ip=dhcp?) within rd.retry"
fi

[ -n "$3" ] || exit 1
netif=$1
NEWROOT=$3
target=${2#swarm:}

# Several interfaces may come up; the first one fetches.
[ -e "$DEBOOT/mounted" ] && exit 0
mkdir -p "$DEBOOT" && mkdir "$DEBOOT.lock" 2> /dev/null || exit 0

# The image lives in RAM: a tmpfs of its own, carried into the new root with /run.
mount -t tmpfs -o mode=0700 deboot "$DEBOOT" || deboot_fail "cannot mount a tmpfs on $DEBOOT"
mkdir -p "$DEBOOT/lower" "$DEBOOT/rw/upper" "$DEBOOT/rw/work"

set --
for n in $(getargs deboot.node=); do
    set -- "$@" --node "$n"
done
[ $# -gt 0 ] || deboot_fail "no deboot.node= on the kernel command line"

min=$(getarg deboot.min_index=)
minfile=$(getarg deboot.min_index_file=)
state=$(getarg deboot.state=)
if [ -n "$min" ]; then
    set -- "$@" --min-index "$min"
elif [ -n "$minfile" ]; then
    if [ -n "$state" ]; then
        dev=$(label_uuid_to_dev "$state")
        i=0
        while [ ! -b "$dev" ] && [ $i -lt 30 ]; do
            sleep 1
            i=$((i + 1))
        done
        [ -b "$dev" ] || deboot_fail "state partition $state ($dev) did not appear"
        mkdir -p "$DEBOOT/state"
        mount -o rw,noexec,nodev,nosuid "$dev" "$DEBOOT/state" \
            || deboot_fail "cannot mount state partition $state ($dev)"
        minfile="$DEBOOT/state/${minfile#/}"
    fi
    set -- "$@" --min-index-file "$minfile"
fi

t=$(getarg deboot.timeout=)
t=${t:-300}
info "deboot: fetching $target via $netif"
read -r start _ < /proc/uptime
# deboot-fetch prints one line on failure; it writes the file only once all of it verified.
err=$(timeout "$t" deboot-fetch "$@" "$target" -o "$DEBOOT/rootfs.img" 2>&1)
rc=$?
if [ -n "$minfile" ] && [ -n "$state" ]; then
    umount "$DEBOOT/state" 2> /dev/null
fi
[ $rc -eq 124 ] && deboot_fail "fetching $target took longer than deboot.timeout=$t s"
[ $rc -eq 0 ] || deboot_fail "deboot-fetch exit $rc: $err"
[ -s "$DEBOOT/rootfs.img" ] || deboot_fail "deboot-fetch succeeded but wrote no image"
read -r end _ < /proc/uptime
size=$(wc -c < "$DEBOOT/rootfs.img")
info "deboot: verified $size bytes of $target in $start..$end s (uptime)"
echo "deboot: verified $size bytes, fetch $start..$end s (uptime)" > /dev/kmsg

mount -t squashfs -o ro,loop "$DEBOOT/rootfs.img" "$DEBOOT/lower" \
    || deboot_fail "the verified image is not a mountable squashfs"
mount -t overlay -o "lowerdir=$DEBOOT/lower,upperdir=$DEBOOT/rw/upper,workdir=$DEBOOT/rw/work" \
    deboot "$NEWROOT" || deboot_fail "cannot mount the overlay on $NEWROOT"
: > "$DEBOOT/mounted"
read -r up _ < /proc/uptime
echo "deboot: root filesystem mounted at $up s (uptime)" > /dev/kmsg
info "deboot: root filesystem $target mounted (squashfs + tmpfs overlay)"
exit 0
