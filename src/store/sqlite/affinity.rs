//! Read connections that stay with the thread that used them last.
//!
//! Every transaction took a connection from the r2d2 pool and gave it
//! back: two turns of the pool's one mutex (and a condition variable
//! signalled on the way back). From two threads reading at once, that
//! mutex's cache line moved between the cores on nearly every turn: under
//! `perf`, checkout and return took 19% of a two-thread `user_get` (11% of
//! a server's reads taking turns), much of what kept two threads from
//! twice one thread's reads.
//!
//! So a few pool connections are kept in slots, one per cache line, and a
//! thread reads through the slot its index picks: it takes the connection
//! out, reads, and puts it back, each time under the slot's own lock,
//! which no other thread touches while threads are fewer than slots. An
//! empty slot is filled from the pool; a connection goes back to the pool
//! only when its slot was filled meanwhile (by a thread sharing the slot),
//! so the pool still bounds the connections, and the slots never hold
//! more than [`SLOTS`] of them.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use r2d2::PooledConnection;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::Connection;

type Pooled = PooledConnection<SqliteConnectionManager>;

/// Slots for kept read connections: half the read pool, so that threads
/// beyond them still find connections in the pool.
pub(super) const SLOTS: usize = super::POOL_SIZE as usize / 2;

/// A slot, alone on its cache line (two lines: adjacent-line prefetch).
#[repr(align(128))]
#[derive(Default)]
struct Slot(Mutex<Option<Pooled>>);

/// The kept read connections of a store.
#[derive(Default)]
pub(super) struct Kept {
    slots: [Slot; SLOTS],
}

impl Kept {
    /// The calling thread's slot.
    fn slot(&self) -> &Slot {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        thread_local! {
            /// Threads are numbered as they first read, so that the first
            /// `SLOTS` to read get a slot each.
            static INDEX: usize = NEXT.fetch_add(1, Ordering::Relaxed);
        }
        &self.slots[INDEX.with(|index| *index) % SLOTS]
    }

    /// The connection kept in the calling thread's slot, if any.
    pub(super) fn take(&self) -> Option<Pooled> {
        lock(self.slot()).take()
    }

    /// Ends a transaction's use of `conn`: a read connection is kept for
    /// the calling thread, a write connection goes back to its pool.
    pub(super) fn put_back(&self, conn: Conn<'_>) {
        if conn.read {
            self.keep(conn.conn);
        }
    }

    /// Keeps `conn` in the calling thread's slot, unless the slot holds
    /// one already (`conn` then goes back to the pool).
    fn keep(&self, conn: Pooled) {
        let mut slot = lock(self.slot());
        if slot.is_none() {
            *slot = Some(conn);
        }
    }

    /// How many connections the slots hold.
    #[cfg(test)]
    pub(super) fn count(&self) -> usize {
        self.slots
            .iter()
            .filter(|slot| lock(slot).is_some())
            .count()
    }
}

/// A slot's contents. A slot is locked only to take or put back a
/// connection, never across a transaction: poisoned or not, what it holds
/// is a whole connection or none.
fn lock(slot: &Slot) -> std::sync::MutexGuard<'_, Option<Pooled>> {
    slot.0.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A connection for one transaction, counted in `active` while it lives.
/// [`Kept::put_back`] keeps a read connection for its thread; dropped
/// instead (an early return), a connection goes back to its pool.
pub(super) struct Conn<'a> {
    conn: Pooled,
    read: bool,
    _active: Active<'a>,
}

/// One count in a store's connections in use.
struct Active<'a>(&'a AtomicU32);

impl Drop for Active<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl<'a> Conn<'a> {
    /// `conn`, for a read or a write, counted in `active`.
    pub(super) fn new(conn: Pooled, read: bool, active: &'a AtomicU32) -> Conn<'a> {
        active.fetch_add(1, Ordering::Relaxed);
        Conn {
            conn,
            read,
            _active: Active(active),
        }
    }
}

impl Deref for Conn<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        &self.conn
    }
}

impl DerefMut for Conn<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }
}
