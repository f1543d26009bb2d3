#!/usr/bin/env bash
# Builds the Rust core of swarm.mod as one relocatable object, ready to be linked with the C
# shim (grub-spike.md §2.3): staticlib with build-std, gc'd from the exported API, bitcode
# dropped, every Rust symbol but the API made local, and checked for the only relocations
# GRUB's module verifier accepts (R_X86_64_64, PC64; PC32/PLT32 only module-local).
# Usage: deboot-grub/build-core.sh [OUT.o]   (default: $CARGO_TARGET_DIR/deboot-grub-core.o)
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/../target/deboot-grub}
rustup component add rust-src >/dev/null 2>&1 || true
rustup target add x86_64-unknown-none >/dev/null 2>&1 || true
RUSTC_BOOTSTRAP=1 cargo build --release
lib=$CARGO_TARGET_DIR/x86_64-unknown-none/release/libdeboot_grub.a
out=${1:-$CARGO_TARGET_DIR/deboot-grub-core.o}
api=(deboot_grub_open deboot_grub_close deboot_grub_transmit deboot_grub_sent deboot_grub_receive
     deboot_grub_read deboot_grub_size deboot_grub_finished deboot_grub_error deboot_grub_may_send
     deboot_grub_hash_new deboot_grub_hash_write deboot_grub_hash_finish deboot_grub_hash_free)
# One output section per kind (the per-function sections of the Rust objects merged): fewer
# section headers and relocation sections, so a smaller .mod; GRUB loads them all the same.
cat > "$out.ld" <<'EOF'
SECTIONS {
  .ltext : { *(.ltext .ltext.*) }
  .text : { *(.text .text.*) }
  .lrodata : { *(.lrodata .lrodata.*) }
  .rodata : { *(.rodata .rodata.*) }
  .ldata : { *(.ldata .ldata.*) }
  .data : { *(.data .data.*) }
  .lbss : { *(.lbss .lbss.*) }
  .bss : { *(.bss .bss.*) }
}
EOF
ld -m elf_x86_64 -r --gc-sections "${api[@]/#/-u}" -T "$out.ld" -o "$out" "$lib"
objcopy -R .llvmbc -R .llvmcmd "$out"
# Localize every defined global except the API (memcpy & co. must not reach GRUB's table).
keep=$(printf '%s\n' "${api[@]}")
readelf -sW "$out" | awk '$5=="GLOBAL" && $7!="UND" {print $8}' | sort -u | grep -vxF "$keep" > "$out.localize" || true
objcopy --localize-symbols="$out.localize" "$out"
bad=$(readelf -rW "$out" | awk '/R_X86_64_/ {print $3}' | grep -vxE 'R_X86_64_(64|PC64|PC32|PLT32)' | sort -u || true)
[ -z "$bad" ] || { echo "relocations GRUB cannot apply: $bad"; exit 1; }
undef=$(readelf -sW "$out" | awk '$5=="GLOBAL" && $7=="UND" {print $8}' | sort -u | tr '\n' ' ')
echo "core: $out, loaded size $(size -A "$out" | awk '/^Total/ {print $2}') B; imports: $undef"
