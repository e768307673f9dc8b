//! SQLite's mutexes, made of parking_lot's: a waiting thread spins for a
//! moment before it sleeps.
//!
//! SQLite's unix build makes its mutexes default pthread mutexes, which
//! put a waiting thread to sleep at once. Every read transaction on a
//! shared (not `?locking=exclusive`) file takes the database's
//! shared-memory mutex twice, to take and to release its WAL read mark.
//! Two threads reading meet there often, and each meeting becomes a futex
//! sleep and a wake-up that cost far more than the read: two threads
//! read a user more slowly than one (0.8 to 1.05 times one thread's rate
//! on this project's 2-core machine). parking_lot's mutexes spin first,
//! and the holder is done long before they would sleep: 1.9 to 2.3 times.
//!
//! SQLite takes a mutex implementation only before it initializes, and
//! `sqlite3_config` must not run while another thread uses SQLite: hence
//! an `unsafe fn` for the host's `main` (see
//! [`SqliteStore::install_spinning_mutexes`](super::SqliteStore::install_spinning_mutexes)),
//! not something the store does on its own.

#![allow(unsafe_code)]

use std::ffi::c_int;
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::lock_api::{RawMutex as _, RawReentrantMutex};
use parking_lot::{RawMutex, RawThreadId};
use rusqlite::ffi;

/// What SQLite's opaque `sqlite3_mutex` pointers point to here.
enum Mutex {
    Fast(RawMutex),
    Recursive(RawReentrantMutex<RawMutex, RawThreadId>),
}

/// SQLite's static mutexes, `SQLITE_MUTEX_STATIC_MAIN` (2) to
/// `SQLITE_MUTEX_STATIC_VFS3` (13). Never freed.
static STATIC_MUTEXES: [Mutex; 12] = [const { Mutex::Fast(RawMutex::INIT) }; 12];

/// The first kind number of a static mutex.
const FIRST_STATIC: c_int = ffi::SQLITE_MUTEX_STATIC_MAIN;

static METHODS: ffi::sqlite3_mutex_methods = ffi::sqlite3_mutex_methods {
    xMutexInit: Some(init),
    xMutexEnd: Some(end),
    xMutexAlloc: Some(alloc),
    xMutexFree: Some(free),
    xMutexEnter: Some(enter),
    xMutexTry: Some(try_enter),
    xMutexLeave: Some(leave),
    xMutexHeld: Some(held),
    xMutexNotheld: Some(not_held),
};

static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Hands SQLite these mutexes; `false` when SQLite has already
/// initialized (it then keeps its own).
///
/// # Safety
///
/// No other thread may call into SQLite while this runs
/// (`sqlite3_config` is not thread-safe).
pub(super) unsafe fn install() -> bool {
    if INSTALLED.load(Ordering::Acquire) {
        return true;
    }
    // SAFETY: `METHODS` lives for the whole program and SQLite copies it;
    // the caller guarantees no other thread is inside SQLite.
    let installed = unsafe { ffi::sqlite3_config(ffi::SQLITE_CONFIG_MUTEX, &raw const METHODS) }
        == ffi::SQLITE_OK;
    if installed {
        INSTALLED.store(true, Ordering::Release);
    }
    installed
}

/// Whether [`install`] succeeded in this process.
pub(super) fn installed() -> bool {
    INSTALLED.load(Ordering::Acquire)
}

/// The `Mutex` behind a pointer SQLite got from [`alloc`].
///
/// # Safety
///
/// `mutex` came from [`alloc`] and was not freed.
unsafe fn get<'m>(mutex: *mut ffi::sqlite3_mutex) -> &'m Mutex {
    // SAFETY: per the caller, a live `Mutex` (boxed or static).
    unsafe { &*mutex.cast::<Mutex>() }
}

unsafe extern "C" fn init() -> c_int {
    ffi::SQLITE_OK
}

unsafe extern "C" fn end() -> c_int {
    ffi::SQLITE_OK
}

unsafe extern "C" fn alloc(kind: c_int) -> *mut ffi::sqlite3_mutex {
    let mutex = match kind {
        ffi::SQLITE_MUTEX_FAST => Mutex::Fast(RawMutex::INIT),
        ffi::SQLITE_MUTEX_RECURSIVE => Mutex::Recursive(RawReentrantMutex::INIT),
        // A static mutex; null (SQLite's "out of memory") for a kind this
        // SQLite does not have.
        _ => {
            return usize::try_from(kind - FIRST_STATIC)
                .ok()
                .and_then(|index| STATIC_MUTEXES.get(index))
                .map_or(ptr::null_mut(), |mutex| {
                    ptr::from_ref(mutex).cast_mut().cast()
                });
        }
    };
    Box::into_raw(Box::new(mutex)).cast()
}

unsafe extern "C" fn free(mutex: *mut ffi::sqlite3_mutex) {
    let statics = STATIC_MUTEXES.as_ptr_range();
    let mutex = mutex.cast::<Mutex>();
    // SQLite frees only what it allocated (never a static mutex); check
    // anyway.
    if mutex.is_null() || statics.contains(&mutex.cast_const()) {
        return;
    }
    // SAFETY: a dynamic mutex comes from `Box::into_raw` in `alloc`, and
    // SQLite frees it once, unlocked.
    drop(unsafe { Box::from_raw(mutex) });
}

unsafe extern "C" fn enter(mutex: *mut ffi::sqlite3_mutex) {
    // SAFETY: SQLite passes mutexes it allocated.
    match unsafe { get(mutex) } {
        Mutex::Fast(raw) => raw.lock(),
        Mutex::Recursive(raw) => raw.lock(),
    }
}

unsafe extern "C" fn try_enter(mutex: *mut ffi::sqlite3_mutex) -> c_int {
    // SAFETY: SQLite passes mutexes it allocated.
    let entered = match unsafe { get(mutex) } {
        Mutex::Fast(raw) => raw.try_lock(),
        Mutex::Recursive(raw) => raw.try_lock(),
    };
    if entered {
        ffi::SQLITE_OK
    } else {
        ffi::SQLITE_BUSY
    }
}

unsafe extern "C" fn leave(mutex: *mut ffi::sqlite3_mutex) {
    // SAFETY: SQLite passes mutexes it allocated, and leaves only a mutex
    // the calling thread entered.
    match unsafe { get(mutex) } {
        Mutex::Fast(raw) => unsafe { raw.unlock() },
        Mutex::Recursive(raw) => unsafe { raw.unlock() },
    }
}

/// For SQLite's debug assertions: whether this thread holds the mutex; 1
/// when that cannot be told (a fast mutex knows no owner), as SQLite asks.
unsafe extern "C" fn held(mutex: *mut ffi::sqlite3_mutex) -> c_int {
    // SAFETY: SQLite passes mutexes it allocated.
    c_int::from(match unsafe { get(mutex) } {
        Mutex::Fast(raw) => raw.is_locked(),
        Mutex::Recursive(raw) => raw.is_owned_by_current_thread(),
    })
}

/// For SQLite's debug assertions: whether this thread does not hold the
/// mutex; 1 when that cannot be told.
unsafe extern "C" fn not_held(mutex: *mut ffi::sqlite3_mutex) -> c_int {
    // SAFETY: SQLite passes mutexes it allocated.
    c_int::from(match unsafe { get(mutex) } {
        Mutex::Fast(_) => true,
        Mutex::Recursive(raw) => !raw.is_owned_by_current_thread(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recursive_mutex_is_entered_twice_by_its_thread_and_not_by_another() {
        // SAFETY: these calls follow SQLite's contract: alloc, enter and
        // leave in pairs on one thread, free unlocked.
        unsafe {
            let mutex = alloc(ffi::SQLITE_MUTEX_RECURSIVE);
            enter(mutex);
            assert_eq!(try_enter(mutex), ffi::SQLITE_OK);
            assert_eq!(held(mutex), 1);
            let address = mutex as usize;
            let other = std::thread::spawn(move || {
                let mutex = address as *mut ffi::sqlite3_mutex;
                (try_enter(mutex), not_held(mutex))
            })
            .join()
            .unwrap();
            assert_eq!(other, (ffi::SQLITE_BUSY, 1));
            leave(mutex);
            leave(mutex);
            assert_eq!(held(mutex), 0);
            free(mutex);
        }
    }

    #[test]
    fn a_fast_mutex_excludes_and_static_ones_are_shared_and_never_freed() {
        // SAFETY: as above.
        unsafe {
            let mutex = alloc(ffi::SQLITE_MUTEX_FAST);
            enter(mutex);
            assert_eq!(try_enter(mutex), ffi::SQLITE_BUSY);
            leave(mutex);
            assert_eq!(try_enter(mutex), ffi::SQLITE_OK);
            leave(mutex);
            free(mutex);

            let main = alloc(ffi::SQLITE_MUTEX_STATIC_MAIN);
            assert_eq!(main, alloc(ffi::SQLITE_MUTEX_STATIC_MAIN));
            assert_ne!(main, alloc(ffi::SQLITE_MUTEX_STATIC_VFS3));
            assert!(alloc(ffi::SQLITE_MUTEX_STATIC_VFS3 + 1).is_null());
            free(main);
            enter(main);
            leave(main);
        }
    }
}
