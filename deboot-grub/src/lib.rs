//! DeBoot's verified fetch core for a GRUB module: a `no_std` staticlib that a C shim
//! (`swarm.c`, GPL-3.0-or-later, in this folder) links into `swarm.mod`.
//!
//! The shim owns GRUB's TCP connection; this library owns everything that must be right: the
//! DBCP framing (`swarm-net`'s codec), and target resolution and chunk verification
//! (`swarm-core`'s [`Resolver`](swarm_core::target::Resolver)). The shim moves bytes both ways
//! and hands GRUB only what [`deboot_grub_read`] returns, which is verified. See README.md for
//! the build, the status and what is left.
//!
//! On `x86_64-unknown-none` (the GRUB build) the crate brings its panic handler (it calls the
//! shim's `deboot_grub_panic`, which ends in `grub_fatal`) and a global allocator on GRUB's
//! heap (`grub_memalign` / `grub_free`); host builds use `std` for the tests.
#![cfg_attr(target_os = "none", no_std)]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

extern crate alloc;

pub mod session;

use alloc::boxed::Box;
use alloc::vec;
use core::fmt::Write as _;

use swarm_core::joiner::{Slot, TreeLevel};
use swarm_core::manifest::MAX_NODE_LEN;
use swarm_core::redundancy::MAX_TREE_LEVELS;
use swarm_core::target::Target;

use session::{Session, SessionError};

/// The joiner's window (chunks fetched ahead) of one fetch.
pub const WINDOW: usize = 32;

/// The memory one fetch borrows; boxed on GRUB's heap.
struct Memory {
    node_buf: Box<[u8]>,
    slots: Box<[Slot]>,
    levels: Box<[TreeLevel]>,
}

/// What C holds: a session and the memory it borrows.
pub struct Handle {
    session: core::mem::ManuallyDrop<Session<'static>>,
    memory: *mut Memory,
}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: the session, which borrows `memory`, is dropped first and never used again.
        unsafe { core::mem::ManuallyDrop::drop(&mut self.session) };
        // SAFETY: `memory` came from `Box::into_raw` in `deboot_grub_open` and is freed only
        // here, after the session that borrowed it.
        drop(unsafe { Box::from_raw(self.memory) });
    }
}

/// Starts fetching `target` (`bzz://…`, `bytes://…`, `feed://…`, UTF-8, `len` bytes). Returns
/// NULL for a target that does not parse (`*err` = 1) or no memory (`*err` = 2).
///
/// # Safety
/// `target` points to `len` readable bytes; `err` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn deboot_grub_open(
    target: *const u8,
    len: usize,
    err: *mut i32,
) -> *mut Handle {
    let set = |code: i32| {
        if !err.is_null() {
            // SAFETY: the caller gives a writable `err` or NULL (checked).
            unsafe { *err = code };
        }
    };
    if target.is_null() {
        set(1);
        return core::ptr::null_mut();
    }
    // SAFETY: the caller guarantees `len` readable bytes at `target`.
    let text = unsafe { core::slice::from_raw_parts(target, len) };
    let Some(target) = core::str::from_utf8(text)
        .ok()
        .and_then(|t| t.parse::<Target>().ok())
    else {
        set(1);
        return core::ptr::null_mut();
    };
    let memory = Box::into_raw(Box::new(Memory {
        node_buf: vec![0u8; MAX_NODE_LEN].into_boxed_slice(),
        slots: vec![Slot::default(); WINDOW].into_boxed_slice(),
        levels: vec![TreeLevel::default(); MAX_TREE_LEVELS].into_boxed_slice(),
    }));
    // SAFETY: `memory` is a fresh, unique allocation that lives until the Handle's drop, which
    // drops the session that borrows it first; nothing else touches it meanwhile.
    let m: &'static mut Memory = unsafe { &mut *memory };
    match Session::for_target(&target, &mut m.node_buf, &mut m.slots, &mut m.levels) {
        Ok(session) => {
            set(0);
            Box::into_raw(Box::new(Handle {
                session: core::mem::ManuallyDrop::new(session),
                memory,
            }))
        }
        Err(_) => {
            // SAFETY: from `Box::into_raw` above; the failed session no longer borrows it.
            drop(unsafe { Box::from_raw(memory) });
            set(2);
            core::ptr::null_mut()
        }
    }
}

/// Ends a fetch and frees its memory.
///
/// # Safety
/// `h` is NULL or from [`deboot_grub_open`], not yet closed.
#[no_mangle]
pub unsafe extern "C" fn deboot_grub_close(h: *mut Handle) {
    if !h.is_null() {
        // SAFETY: the caller passes a live handle from `deboot_grub_open` once.
        drop(unsafe { Box::from_raw(h) });
    }
}

/// The bytes to send now; `*len` receives their count. Valid until the next call on `h`.
///
/// # Safety
/// `h` is live; `len` is writable.
#[no_mangle]
pub unsafe extern "C" fn deboot_grub_transmit(h: *mut Handle, len: *mut usize) -> *const u8 {
    // SAFETY: the caller passes a live handle.
    let h = unsafe { &mut *h };
    let out = h.session.transmit();
    // SAFETY: the caller passes a writable `len`.
    unsafe { *len = out.len() };
    out.as_ptr()
}

/// Marks `n` bytes from [`deboot_grub_transmit`] as sent.
///
/// # Safety
/// `h` is live.
#[no_mangle]
pub unsafe extern "C" fn deboot_grub_sent(h: *mut Handle, n: usize) {
    // SAFETY: the caller passes a live handle.
    unsafe { &mut *h }.session.sent(n);
}

/// Takes `len` bytes received from the node. 0, or -1 when the fetch has failed
/// ([`deboot_grub_error`] says why).
///
/// # Safety
/// `h` is live; `data` points to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn deboot_grub_receive(h: *mut Handle, data: *const u8, len: usize) -> i32 {
    // SAFETY: the caller passes a live handle and `len` readable bytes.
    let (h, data) = unsafe { (&mut *h, core::slice::from_raw_parts(data, len)) };
    match h.session.receive(data) {
        Ok(()) => 0,
        Err(_) => -1,
    }
}

/// Copies up to `len` verified bytes to `buf`: their count (0: receive more first, or
/// finished), or -1 when the fetch has failed.
///
/// # Safety
/// `h` is live; `buf` has `len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn deboot_grub_read(h: *mut Handle, buf: *mut u8, len: usize) -> isize {
    // SAFETY: the caller passes a live handle and `len` writable bytes.
    let (h, buf) = unsafe { (&mut *h, core::slice::from_raw_parts_mut(buf, len)) };
    match h.session.read(buf) {
        Ok(n) => isize::try_from(n).unwrap_or(-1),
        Err(_) => -1,
    }
}

/// The file's size once known (its root chunk verified), else -1.
///
/// # Safety
/// `h` is live.
#[no_mangle]
pub unsafe extern "C" fn deboot_grub_size(h: *const Handle) -> i64 {
    // SAFETY: the caller passes a live handle.
    let h = unsafe { &*h };
    h.session
        .size()
        .and_then(|s| i64::try_from(s).ok())
        .unwrap_or(-1)
}

/// 1 when the next [`deboot_grub_transmit`] bytes may be sent ([`session::Session::may_send`]:
/// the node has answered the last batch sent), else 0.
///
/// # Safety
/// `h` is live.
#[no_mangle]
pub unsafe extern "C" fn deboot_grub_may_send(h: *const Handle) -> i32 {
    // SAFETY: the caller passes a live handle.
    i32::from(unsafe { &*h }.session.may_send())
}

/// 1 when every verified byte has been read, else 0.
///
/// # Safety
/// `h` is live.
#[no_mangle]
pub unsafe extern "C" fn deboot_grub_finished(h: *const Handle) -> i32 {
    // SAFETY: the caller passes a live handle.
    i32::from(unsafe { &*h }.session.is_finished())
}

/// Writes why the fetch failed (NUL-terminated, truncated to `len`) and returns the length
/// without the NUL; 0 if it has not failed.
///
/// # Safety
/// `h` is live; `buf` has `len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn deboot_grub_error(h: *const Handle, buf: *mut u8, len: usize) -> usize {
    // SAFETY: the caller passes a live handle and `len` writable bytes.
    let (h, buf) = unsafe { (&*h, core::slice::from_raw_parts_mut(buf, len)) };
    let Some(e) = h.session.error() else {
        return 0;
    };
    let mut w = Truncating { buf, len: 0 };
    let _ = match e {
        SessionError::Core(e) => write!(w, "{e}"),
        SessionError::Protocol => w.write_str("the node broke the DBCP protocol"),
        SessionError::Refused(code) => write!(w, "the node refused (code {code})"),
    };
    let n = w.len;
    if let Some(nul) = w.buf.get_mut(n) {
        *nul = 0;
    }
    n
}

/// A Swarm reference being computed over a file's bytes (`swarm_verify`): `swarm-bmt`'s
/// [`Splitter`](swarm_bmt::Splitter) (about 37 KiB), on GRUB's heap.
pub struct Hash(swarm_bmt::Splitter);

/// Starts computing a Swarm reference (the root of the file's chunk tree, as `bytes://`).
/// Free it with [`deboot_grub_hash_finish`] or [`deboot_grub_hash_free`].
#[no_mangle]
pub extern "C" fn deboot_grub_hash_new() -> *mut Hash {
    Box::into_raw(Box::new(Hash(swarm_bmt::Splitter::new())))
}

/// Adds `len` bytes of the file. 0, or -1 when the file is longer than Swarm's largest
/// tree ([`swarm_bmt::MAX_FILE_LEN`]).
///
/// # Safety
/// `h` is from [`deboot_grub_hash_new`], not yet finished or freed; `data` points to `len`
/// readable bytes.
#[no_mangle]
pub unsafe extern "C" fn deboot_grub_hash_write(h: *mut Hash, data: *const u8, len: usize) -> i32 {
    // SAFETY: the caller passes a live hash and `len` readable bytes.
    let (h, data) = unsafe { (&mut *h, core::slice::from_raw_parts(data, len)) };
    match h.0.write(data) {
        Ok(()) => 0,
        Err(_) => -1,
    }
}

/// Ends the computation, frees `h` and writes the reference as 64 lowercase hex digits and a
/// NUL to `out` (at least 65 bytes). 0, or -1 if `out` is too short or the tree is invalid.
///
/// # Safety
/// `h` is from [`deboot_grub_hash_new`], not yet finished or freed; `out` has `len` writable
/// bytes.
#[no_mangle]
pub unsafe extern "C" fn deboot_grub_hash_finish(h: *mut Hash, out: *mut u8, len: usize) -> i32 {
    // SAFETY: the caller passes a live hash from `Box::into_raw`, given up here.
    let h = unsafe { Box::from_raw(h) };
    // SAFETY: the caller passes `len` writable bytes.
    let out = unsafe { core::slice::from_raw_parts_mut(out, len) };
    let Ok(root) = h.0.finish() else {
        return -1;
    };
    let mut w = Truncating { buf: out, len: 0 };
    for b in root.as_bytes() {
        let _ = write!(w, "{b:02x}");
    }
    let n = w.len;
    match w.buf.get_mut(n) {
        Some(nul) if n == 64 => {
            *nul = 0;
            0
        }
        _ => -1,
    }
}

/// Frees a computation without finishing it.
///
/// # Safety
/// `h` is NULL or from [`deboot_grub_hash_new`], not yet finished or freed.
#[no_mangle]
pub unsafe extern "C" fn deboot_grub_hash_free(h: *mut Hash) {
    if !h.is_null() {
        // SAFETY: the caller passes a live hash from `Box::into_raw` once.
        drop(unsafe { Box::from_raw(h) });
    }
}

/// Writes into a byte buffer, keeping one byte for a NUL and dropping what does not fit.
struct Truncating<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl core::fmt::Write for Truncating<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for &b in s.as_bytes() {
            if self.len + 1 >= self.buf.len() {
                break;
            }
            if let Some(slot) = self.buf.get_mut(self.len) {
                *slot = b;
                self.len += 1;
            }
        }
        Ok(())
    }
}

#[cfg(target_os = "none")]
mod grub {
    use core::alloc::{GlobalAlloc, Layout};

    extern "C" {
        fn grub_memalign(align: usize, size: usize) -> *mut u8;
        fn grub_free(ptr: *mut u8);
        /// In the C shim: prints the message and calls `grub_fatal`.
        fn deboot_grub_panic(msg: *const u8, len: usize) -> !;
    }

    struct GrubHeap;

    /// Granularity of every allocation: whole pages, so that what the core writes while a
    /// file streams never shares a page with code (under QEMU's TCG such writes are slow and
    /// may discard the page's translated code; see `swarm_page_alloc` in swarm.c). The core
    /// makes a few allocations per file, not per chunk.
    const PAGE: usize = 4096;

    // SAFETY: GRUB's allocator returns aligned, exclusive blocks or NULL; `grub_free` takes any
    // pointer it returned. GRUB is single-threaded.
    unsafe impl GlobalAlloc for GrubHeap {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let Some(size) = layout.size().checked_next_multiple_of(PAGE) else {
                return core::ptr::null_mut();
            };
            // SAFETY: a plain call into GRUB's kernel export.
            unsafe { grub_memalign(layout.align().max(PAGE), size) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
            // SAFETY: `ptr` came from `grub_memalign`.
            unsafe { grub_free(ptr) }
        }
    }

    #[global_allocator]
    static HEAP: GrubHeap = GrubHeap;

    #[panic_handler]
    fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
        use core::fmt::Write as _;
        let mut buf = [0u8; 160];
        let mut w = super::Truncating {
            buf: &mut buf,
            len: 0,
        };
        let _ = w.write_str("deboot-grub: internal error (Rust panic)");
        if let Some(at) = info.location() {
            let _ = write!(w, " at {}:{}", at.file(), at.line());
        }
        let len = w.len;
        // SAFETY: the shim's function reads `len` bytes at `buf` and does not return.
        unsafe { deboot_grub_panic(buf.as_ptr(), len) }
    }
}

#[cfg(test)]
mod tests;
