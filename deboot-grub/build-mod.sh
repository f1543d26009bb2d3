#!/usr/bin/env bash
# Builds swarm.mod, the native `(swarm,HOST:PORT)/…` GRUB device, out of GRUB's tree
# (../shared/research/grub-spike.md §2.3), for the GRUB installed here (grub-efi-amd64-bin):
#  1. GRUB's source pinned to that exact version (GRUB checks no module ABI: struct layouts
#     must match the binary the module is loaded into), `configure`d only, cached in
#     target/grub-src-<version>/ and reused; build-grub-module-verifier built by hand;
#  2. the Rust core as one localized relocatable object (build-core.sh);
#  3. swarm.c compiled with GRUB's module CFLAGS, linked with the core, .modname `swarm`,
#     .moddeps `net`, every symbol local, stripped as genmod.sh does, and checked by GRUB's
#     own verifier.
# Idempotent; run as root from a clean checkout (installs bison/flex/dpkg-dev if missing, and
# adds a deb-src stanza in its own file, /etc/apt/sources.list.d/deboot-grub-src.sources).
# Usage: deboot-grub/build-mod.sh [OUT.mod]   (default: target/deboot-grub/swarm.mod)
set -euo pipefail
cd "$(dirname "$0")"
here=$PWD
top=$(cd .. && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$top/target/deboot-grub}
out=${1:-$CARGO_TARGET_DIR/swarm.mod}
mkdir -p "$CARGO_TARGET_DIR" "$(dirname "$out")"

apt_install() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}
apt_install grub-efi-amd64-bin grub-common grub2-common bison flex dpkg-dev gcc binutils

# --- 1. GRUB's source, pinned and configured (cached) --------------------------------------
version=$(dpkg-query -W -f='${Version}' grub-efi-amd64-bin)
upstream=${version#*:}
upstream=${upstream%%-*}
cache=$top/target/grub-src-$version
src=$cache/grub2-$upstream
bld=$cache/build
verifier=$bld/build-grub-module-verifier
if [ ! -f "$cache/.configured" ]; then
    rm -rf "$cache"
    mkdir -p "$cache"
    list=/etc/apt/sources.list.d/deboot-grub-src.sources
    if ! apt-get source --print-uris "grub2=$version" >/dev/null 2>&1; then
        # deb-src twin of each `deb` stanza of the mirror already configured.
        sed -n 's/^Types: deb$/Types: deb-src/; /^#/d; p' /etc/apt/sources.list.d/debian.sources > "$list"
        apt-get update -qq
    fi
    t0=$SECONDS
    (cd "$cache" && apt-get source -qq "grub2=$version" >/dev/null)
    [ -d "$src" ] || { echo "apt-get source grub2=$version gave no $src"; exit 1; }
    mkdir -p "$bld"
    (cd "$bld" && "$src/configure" --with-platform=efi --target=x86_64 --disable-werror \
        --disable-nls > configure.log 2>&1) || { tail -20 "$bld/configure.log"; exit 1; }
    touch "$cache/.configured"
    echo "grub source $version: fetched and configured in $((SECONDS - t0)) s ($cache)"
fi
if [ ! -x "$verifier" ]; then
    gcc -o "$verifier" -I"$src/include" -I"$bld" -I"$bld/include" -DHAVE_CONFIG_H -DGRUB_BUILD=1 \
        -DGRUB_UTIL=1 -DGRUB_FILE=\"verifier\" -DGRUB_BUILD_PROGRAM_NAME=\"build-grub-module-verifier\" \
        "$src"/util/grub-module-verifier{,32,64}.c "$src/grub-core/kern/emu/misc.c" "$src/util/misc.c"
fi

# --- 2. the Rust core -----------------------------------------------------------------------
core=$CARGO_TARGET_DIR/deboot-grub-core.o
"$here/build-core.sh" "$core"

# --- 3. the module --------------------------------------------------------------------------
work=$CARGO_TARGET_DIR/mod
mkdir -p "$work"
cppflags=(-DHAVE_CONFIG_H -I"$bld" -DGRUB_MACHINE_EFI=1 -DGRUB_MACHINE=X86_64_EFI -m64 -nostdinc
    -isystem "$(gcc -print-file-name=include)" -I"$src/include" -I"$bld/include"
    -DGRUB_FILE=\"swarm.c\")
# GRUB's own TARGET_CFLAGS + CFLAGS_MODULE for x86_64-efi.
cflags=(-std=gnu99 -Os -m64 -Wall -W -Werror -Wno-unused-parameter -freg-struct-return -mno-mmx
    -mno-sse -mno-sse2 -mno-sse3 -mno-3dnow -msoft-float -fno-dwarf2-cfi-asm -mno-stack-arg-probe
    -fno-asynchronous-unwind-tables -fno-unwind-tables -fno-ident -mcmodel=large -mno-red-zone
    -fno-PIE -fno-pie -fno-stack-protector -ffreestanding -fno-builtin)
gcc "${cppflags[@]}" "${cflags[@]}" -c "$here/swarm.c" -o "$work/swarm.o"
ld -m elf_x86_64 -N -r -d -o "$work/swarm.module" "$work/swarm.o" "$core"
# GRUB loads all sections into one heap block aligned to the largest section alignment: a
# page-aligned .text (the first section) gives the module's code pages of its own (see
# swarm_page_zalloc in swarm.c).
objcopy --set-section-alignment .text=4096 "$work/swarm.module"
printf 'swarm\0' > "$work/modname"
printf 'net\0' > "$work/moddeps"
objcopy -R .modname -R .moddeps --add-section .modname="$work/modname" \
    --add-section .moddeps="$work/moddeps" "$work/swarm.module" "$work/swarm.mod"
# Nothing of ours reaches GRUB's global symbol table (it has no duplicate check): the
# module's only global symbols are its undefined imports from GRUB's kernel and net.mod.
readelf -sW "$work/swarm.mod" | awk '$5=="GLOBAL" && $7!="UND" {print $8}' | sort -u \
    | grep -vxE 'grub_mod_init|grub_mod_fini' > "$work/localize" || true
objcopy --localize-symbols="$work/localize" "$work/swarm.mod"
strip --strip-unneeded -K grub_mod_init -K grub_mod_fini -K _text -K _data -K _edata -K _end \
    -R .rel.eh_frame -R .rela.eh_frame -R .eh_frame -R .note -R .comment -R .note.gnu.gold-version \
    -R .note.GNU-stack -R .note.gnu.property -R .gnu.build.attributes -R .llvmbc -R .llvmcmd \
    "$work/swarm.mod"
"$verifier" "$work/swarm.mod" x86_64 efi
[ "$work/swarm.mod" -ef "$out" ] || cp "$work/swarm.mod" "$out"
imports=$(readelf -sW "$out" | awk '$5=="GLOBAL" && $7=="UND" {print $8}' | sort -u | tr '\n' ' ')
echo "swarm.mod: $out, $(stat -c %s "$out") B (loaded $(size -A "$out" | awk '/^Total/ {print $2}') B); imports: $imports"
