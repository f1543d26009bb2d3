#!/bin/bash
# dracut module "deboot": boot a root filesystem fetched from Swarm and verified chunk by
# chunk by deboot-fetch (root=swarm:<TARGET>). See parse-deboot.sh for the command line.
#
# Install (from the repository root):
#   cargo build --release --target x86_64-unknown-linux-musl -p deboot-fetch
#   install -m 0755 target/x86_64-unknown-linux-musl/release/deboot-fetch /usr/local/bin/
#   cp -r dracut/90deboot /usr/lib/dracut/modules.d/
#   dracut --force -a "deboot network-legacy" /boot/initrd-deboot.img "$(uname -r)"
# The network is 40network's: network-legacy (dhclient) and network-manager run the
# netroot handler /sbin/swarmroot once an interface is up.

# The deboot-fetch binary to install: $DEBOOT_FETCH, else one beside this file, else PATH.
deboot_fetch_bin() {
    local _b
    for _b in "${DEBOOT_FETCH:-}" "$moddir/deboot-fetch" /usr/local/bin/deboot-fetch /usr/bin/deboot-fetch; do
        [[ -n $_b && -x $_b ]] && {
            echo "$_b"
            return 0
        }
    done
    command -v deboot-fetch
}

# called by dracut
check() {
    deboot_fetch_bin > /dev/null || {
        dinfo "dracut module 'deboot' needs deboot-fetch (set DEBOOT_FETCH=/path/to/deboot-fetch)"
        return 1
    }
    # Only included on request (-a deboot / add_dracutmodules+=" deboot ").
    return 255
}

# called by dracut
depends() {
    echo network
    return 0
}

# called by dracut
installkernel() {
    # The image lives in RAM (tmpfs), mounted read-only through a loop device, with a tmpfs
    # overlay on top. Debian builds all three as modules.
    hostonly='' instmods squashfs loop overlay
}

# called by dracut
install() {
    local _b
    _b=$(deboot_fetch_bin) || return 1
    inst_simple "$_b" /usr/bin/deboot-fetch
    inst_multiple mount umount mkdir sleep timeout wc
    inst_multiple -o losetup
    inst_hook cmdline 90 "$moddir/parse-deboot.sh"
    inst_script "$moddir/swarmroot.sh" /sbin/swarmroot
    dracut_need_initqueue
}
