//! SQLite's memory from the process's own allocator.
//!
//! The bundled SQLite allocates with the C library's `malloc`, beside folio's mimalloc. Its
//! page caches and prepared statements are allocated and freed on many threads (sqlx's worker
//! per connection, the blocking pool's threads for the hot reads), and glibc gives each of
//! them an arena that keeps what was freed: after a mixed load the server stayed tens of MiB
//! above its idle size (bench/README.md, "Memory under mixed load"). Handing SQLite mimalloc
//! makes one allocator of the process, which returns freed pages at once.

use std::ffi::{c_int, c_void};

use libmimalloc_sys as mi;
use rusqlite::ffi;

unsafe extern "C" fn malloc(size: c_int) -> *mut c_void {
    // SAFETY: SQLite asks only for positive sizes.
    unsafe { mi::mi_malloc(size as usize) }
}

unsafe extern "C" fn free(block: *mut c_void) {
    // SAFETY: SQLite frees only what `malloc` or `realloc` above gave it.
    unsafe { mi::mi_free(block) }
}

unsafe extern "C" fn realloc(block: *mut c_void, size: c_int) -> *mut c_void {
    // SAFETY: as for `malloc` and `free`.
    unsafe { mi::mi_realloc(block, size as usize) }
}

unsafe extern "C" fn size(block: *mut c_void) -> c_int {
    // SAFETY: `block` came from mimalloc; SQLite's allocations stay far below 2 GiB.
    unsafe { mi::mi_usable_size(block) as c_int }
}

unsafe extern "C" fn roundup(size: c_int) -> c_int {
    // SAFETY: a pure function of its argument.
    unsafe { mi::mi_good_size(size as usize) as c_int }
}

unsafe extern "C" fn init(_: *mut c_void) -> c_int {
    ffi::SQLITE_OK
}

unsafe extern "C" fn shutdown(_: *mut c_void) {}

/// Makes SQLite allocate through mimalloc. Must run before any SQLite connection opens (SQLite
/// refuses the change once it is initialised, and then keeps the C library's allocator, which
/// is only slower to give memory back); `main` calls it first thing. Returns whether SQLite
/// took it.
pub fn use_mimalloc() -> bool {
    let methods = ffi::sqlite3_mem_methods {
        xMalloc: Some(malloc),
        xFree: Some(free),
        xRealloc: Some(realloc),
        xSize: Some(size),
        xRoundup: Some(roundup),
        xInit: Some(init),
        xShutdown: Some(shutdown),
        pAppData: std::ptr::null_mut(),
    };
    // SAFETY: SQLITE_CONFIG_MALLOC takes a pointer to a `sqlite3_mem_methods`, which SQLite
    // copies; the functions it names live as long as the process.
    let result = unsafe {
        ffi::sqlite3_config(
            ffi::SQLITE_CONFIG_MALLOC,
            &methods as *const ffi::sqlite3_mem_methods,
        )
    };
    result == ffi::SQLITE_OK
}
