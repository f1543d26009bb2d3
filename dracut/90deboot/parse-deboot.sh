#!/bin/sh
# cmdline hook: root=swarm:<TARGET>
#
#   root=swarm:bzz://<ref>/rootfs.squashfs            an image in a manifest
#   root=swarm:feed://<owner>/<topic>/rootfs.squashfs  the newest update signed by <owner>
#   deboot.node=tcp://HOST:PORT | http://HOST:PORT     nodes, best first (at least one)
#   deboot.min_index=N                                  anti-rollback minimum (feeds)
#   deboot.state=<dev> deboot.min_index_file=<path>     ... or read/raised in a file on a
#                                                       persistent partition (<dev>: /dev/...,
#                                                       LABEL=, UUID=, PARTUUID=)
#   deboot.timeout=S       give up on the fetch after S seconds (default 300)
#   deboot.reboot_timeout=S  with rd.shell=0: reboot S seconds after a failure (default 30)
#   plus dracut's network: rd.neednet=1 ip=dhcp (or a static ip=...)

[ -z "$root" ] && root=$(getarg root=)

if [ "${root%%:*}" = "swarm" ]; then
    deboot_target=${root#swarm:}
    case "$deboot_target" in
        bzz://?* | feed://?* | bytes://?*) ;;
        *) die "deboot: root=swarm: needs a bzz://, feed:// or bytes:// target, not '$deboot_target'" ;;
    esac
    [ -n "$(getargs deboot.node=)" ] \
        || die "deboot: root=swarm: needs at least one deboot.node=tcp://HOST:PORT or deboot.node=http://HOST:PORT"
    # 40network's netroot runs /sbin/swarmroot once an interface is up.
    netroot="swarm:$deboot_target"
    # shellcheck disable=SC2034
    rootok=1
    echo '[ -e /run/deboot/mounted ]' > "$hookdir"/initqueue/finished/deboot.sh
    unset deboot_target
fi

if [ "${root%%:*}" = "swarm" ]; then
    # At 2/3 of rd.retry: no interface ever came up.
    echo '[ -e /run/deboot/mounted ] || /sbin/swarmroot --no-network' > "$hookdir"/initqueue/timeout/deboot.sh
fi
