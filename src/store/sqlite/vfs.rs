//! A VFS that hands a transaction's WAL frames to the kernel in a few
//! long writes instead of two per page.
//!
//! SQLite writes each page of a commit to the WAL as a frame: a 24-byte
//! header, then the page, each its own `pwrite`. Creating a user with a
//! full profile changed about 45 pages of 4 KiB (a leaf in each of its 31
//! B-trees, and the splits), so its commit made about 90 system calls,
//! which took half of its 200 µs. This VFS wraps SQLite's own (`unix`, or `unix-excl`
//! for `locking=exclusive`) and gathers the frames of a transaction in
//! memory, in file order, until its commit frame: the gathered frames and
//! the commit frame's header then go out in writes of up to 124 KiB, and
//! the commit frame's page in one more.
//!
//! Why this is as safe as SQLite's own writes:
//!
//! - A frame is visible to no one before its commit is: readers look only
//!   at frames up to the last one the WAL index's header names, which
//!   SQLite updates last (in `walFrames`, after the commit's writes), and
//!   every path through `walFrames` that commits ends with a write of a
//!   commit frame's header (the frame itself, its padding copies, or its
//!   rewritten checksum), which passes everything gathered on. So when
//!   the WAL index names a frame, the frame is in the file, exactly as
//!   without this VFS.
//! - A read, sync, truncation, size query or file control of the WAL
//!   first passes on what is gathered, so SQLite never sees the file
//!   without its own writes.
//! - Frames gathered for a transaction that then rolls back (pages a big
//!   transaction spilled before its commit) are dropped when the
//!   connection releases the WAL's write lock: passed on later they could
//!   overwrite frames another connection has committed since.
//! - Durability is unchanged: a commit's frames reach the kernel before
//!   the commit returns, and `PRAGMA synchronous` syncs them as before
//!   (a sync passes the gathered frames on first).
//!
//! It also keeps a read transaction's lock on its WAL read mark for the
//! connection's next read (over `unix`; see "Read marks kept between read
//! transactions" below): one read then makes no system call where SQLite
//! made two, with its WAL index mutex held across each.
//!
//! Other files (journals, temporary files) are SQLite's own, untouched;
//! the database file is wrapped to see its WAL write lock released and to
//! keep its read marks.

#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, c_void, CStr};
use std::mem::size_of;
use std::ptr;
use std::sync::OnceLock;

use rusqlite::ffi;

/// The name of this VFS over SQLite's `unix` VFS (`exclusive: false`) or
/// its `unix-excl` (`exclusive: true`); `None` if it could not be
/// registered (SQLite then opens the file with its own).
pub(super) fn name(exclusive: bool) -> Option<&'static str> {
    static SHARED: OnceLock<bool> = OnceLock::new();
    static EXCLUSIVE: OnceLock<bool> = OnceLock::new();
    let (registered, name, c_name, inner) = if exclusive {
        (&EXCLUSIVE, "aai-unix-excl", c"aai-unix-excl", c"unix-excl")
    } else {
        (&SHARED, "aai-unix", c"aai-unix", c"unix")
    };
    // SAFETY: `register` needs only SQLite's own thread safety
    // (`sqlite3_vfs_find` and `sqlite3_vfs_register` take its mutex), and
    // the `OnceLock` runs it once per name.
    registered
        .get_or_init(|| unsafe { register(c_name, inner, !exclusive) })
        .then_some(name)
}

/// What a VFS of this module keeps in its `pAppData`.
struct App {
    /// SQLite's VFS it wraps.
    inner: *mut ffi::sqlite3_vfs,
    /// Whether its database files keep their read marks (see
    /// [`keep_read_mark`]): over `unix`, not over `unix-excl`, whose locks
    /// are the process's own memory.
    keep_read_marks: bool,
}

/// Registers this VFS as `name` over SQLite's VFS `inner`, not as the
/// default. The VFS object lives for the rest of the process, as SQLite
/// requires of a registered VFS.
///
/// # Safety
///
/// Called once per `name`.
unsafe fn register(name: &'static CStr, inner: &'static CStr, keep_read_marks: bool) -> bool {
    // SAFETY: a NUL-terminated name; SQLite initializes itself if needed.
    let inner = unsafe { ffi::sqlite3_vfs_find(inner.as_ptr()) };
    if inner.is_null() {
        return false;
    }
    // SAFETY: SQLite's VFS objects live for the whole process.
    let (inner_size, max_pathname) = unsafe { ((*inner).szOsFile, (*inner).mxPathname) };
    let size = usize::try_from(inner_size)
        .ok()
        .and_then(|inner_size| HEADER.checked_add(inner_size))
        .and_then(|size| c_int::try_from(size).ok());
    let Some(size) = size else {
        return false;
    };
    let app = Box::into_raw(Box::new(App {
        inner,
        keep_read_marks,
    }));
    let vfs = Box::new(ffi::sqlite3_vfs {
        iVersion: 2,
        szOsFile: size,
        mxPathname: max_pathname,
        pNext: ptr::null_mut(),
        zName: name.as_ptr(),
        pAppData: app.cast(),
        xOpen: Some(open),
        xDelete: Some(delete),
        xAccess: Some(access),
        xFullPathname: Some(full_pathname),
        xDlOpen: Some(dl_open),
        xDlError: Some(dl_error),
        xDlSym: Some(dl_sym),
        xDlClose: Some(dl_close),
        xRandomness: Some(randomness),
        xSleep: Some(sleep),
        xCurrentTime: Some(current_time),
        xGetLastError: Some(get_last_error),
        xCurrentTimeInt64: Some(current_time_int64),
        xSetSystemCall: None,
        xGetSystemCall: None,
        xNextSystemCall: None,
    });
    let vfs = Box::into_raw(vfs);
    // SAFETY: `vfs` is complete and never freed (leaked above).
    unsafe { ffi::sqlite3_vfs_register(vfs, 0) == ffi::SQLITE_OK }
}

// ---------------------------------------------------------------------------
// What is gathered for a WAL file (no unsafe code: unit-tested alone).

/// The size of a WAL frame's header.
const FRAME_HEADER: usize = 24;
/// Gathered bytes pass on once there are this many (a thousand-user
/// import commits thousands of frames).
const GATHER_LIMIT: usize = 1 << 20;
/// The longest write passed on: SQLite's unix VFS writes at most 0x1ffff
/// bytes per call (it never needs more than one 64 KiB page), so longer
/// runs pass on in pieces of 124 KiB (31 pages of 4 KiB, 61 frames of
/// 2 KiB).
pub(super) const MAX_WRITE: usize = 31 * 4096;

/// Writes on their way to a WAL file: gathered while contiguous, passed
/// on at the commit frame's header (see the module docs).
#[derive(Debug, Default)]
struct Gathered {
    bytes: Vec<u8>,
    /// The file offset of `bytes[0]`.
    start: i64,
    /// Set by a commit frame's header, until the next frame's header:
    /// writes pass on as they come, so the commit frame is complete in the
    /// file when SQLite publishes it.
    through: bool,
}

impl Gathered {
    /// Takes SQLite's write of `data` at `offset`, passing writes on to
    /// `sink` (offset, bytes) as they must.
    fn write(
        &mut self,
        data: &[u8],
        offset: i64,
        sink: &mut dyn FnMut(&[u8], i64) -> c_int,
    ) -> c_int {
        let header = data.len() == FRAME_HEADER;
        // Bytes 4 to 7 of a frame header: the database's size in pages
        // after a commit, 0 in every other frame.
        let commit = header && data.get(4..8).is_some_and(|size| size != [0; 4]);
        if header && !commit {
            self.through = false;
        }
        if self.through && !commit {
            return sink(data, offset);
        }
        if !self.bytes.is_empty() && offset != self.end() {
            let rc = self.pass_on(sink);
            if rc != ffi::SQLITE_OK {
                return rc;
            }
        }
        if self.bytes.is_empty() {
            self.start = offset;
        }
        self.bytes.extend_from_slice(data);
        if commit {
            self.through = true;
            return self.pass_on(sink);
        }
        if self.bytes.len() >= GATHER_LIMIT {
            return self.pass_on(sink);
        }
        ffi::SQLITE_OK
    }

    /// The file offset just past the gathered bytes.
    fn end(&self) -> i64 {
        // A gathered run is at most `GATHER_LIMIT` plus one write (an
        // `int`) long, far within `i64`.
        self.start + i64::try_from(self.bytes.len()).unwrap_or(i64::MAX)
    }

    /// Passes the gathered bytes on, in writes of at most `MAX_WRITE`
    /// bytes. They are gone either way: on an error SQLite abandons the
    /// transaction they belong to.
    fn pass_on(&mut self, sink: &mut dyn FnMut(&[u8], i64) -> c_int) -> c_int {
        if self.bytes.is_empty() {
            return ffi::SQLITE_OK;
        }
        let mut rc = ffi::SQLITE_OK;
        let mut offset = self.start;
        for chunk in self.bytes.chunks(MAX_WRITE) {
            rc = sink(chunk, offset);
            if rc != ffi::SQLITE_OK {
                break;
            }
            // A chunk is at most `MAX_WRITE` long.
            offset += i64::try_from(chunk.len()).unwrap_or(i64::MAX);
        }
        self.bytes.clear();
        rc
    }

    /// Drops what is gathered: the connection released the WAL's write
    /// lock, so it belongs to a transaction that rolled back (a commit
    /// has passed everything on).
    fn drop_uncommitted(&mut self) {
        self.bytes.clear();
        self.through = false;
    }
}

// ---------------------------------------------------------------------------
// The VFS's files.

/// SQLite's WAL write lock: the first of the WAL index's locks.
const WAL_WRITE_LOCK: c_int = 0;

/// What this VFS puts where SQLite keeps a wrapped file (`szOsFile` bytes
/// of SQLite's): this header, then the inner VFS's own file.
#[repr(C)]
struct File {
    /// Must come first: SQLite reads `pMethods` from it.
    base: ffi::sqlite3_file,
    /// The inner VFS's file, `HEADER` bytes after this.
    inner: *mut ffi::sqlite3_file,
    role: Role,
    /// A database file whose read marks this VFS keeps ([`keep_read_mark`]).
    keeps_read_marks: bool,
    /// The first region of its WAL index as mapped (null before): the
    /// same for every connection of the process to the file.
    wal_index: *mut c_void,
    /// The read mark it keeps, if it keeps one ([`keep_read_mark`]).
    read_mark: std::sync::Mutex<c_int>,
}

enum Role {
    /// A database file, and its open WAL (null when none is open).
    Database { wal: *mut File },
    /// A WAL file, and its database's file (null when not known: writes
    /// then pass on as they come).
    Wal {
        database: *mut File,
        gathered: Gathered,
    },
}

/// Where the inner file starts: past `File`, aligned for any C struct
/// (SQLite allocates these blocks 8-byte aligned).
const HEADER: usize = size_of::<File>().next_multiple_of(8);

static METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 3,
    xClose: Some(close),
    xRead: Some(read),
    xWrite: Some(write),
    xTruncate: Some(truncate),
    xSync: Some(sync),
    xFileSize: Some(file_size),
    xLock: Some(lock),
    xUnlock: Some(unlock),
    xCheckReservedLock: Some(check_reserved_lock),
    xFileControl: Some(file_control),
    xSectorSize: Some(sector_size),
    xDeviceCharacteristics: Some(device_characteristics),
    xShmMap: Some(shm_map),
    xShmLock: Some(shm_lock),
    xShmBarrier: Some(shm_barrier),
    xShmUnmap: Some(shm_unmap),
    xFetch: Some(fetch),
    xUnfetch: Some(unfetch),
};

/// The inner VFS of this VFS.
///
/// # Safety
///
/// `vfs` is one [`register`] made.
unsafe fn inner_vfs(vfs: *mut ffi::sqlite3_vfs) -> *mut ffi::sqlite3_vfs {
    // SAFETY: per the caller, `pAppData` is an `App`, never freed.
    unsafe { (*app(vfs)).inner }
}

/// What [`register`] put in `vfs`.
///
/// # Safety
///
/// `vfs` is one [`register`] made.
unsafe fn app(vfs: *mut ffi::sqlite3_vfs) -> *const App {
    // SAFETY: per the caller.
    unsafe { (*vfs).pAppData.cast::<App>().cast_const() }
}

unsafe extern "C" fn open(
    vfs: *mut ffi::sqlite3_vfs,
    name: ffi::sqlite3_filename,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    // SAFETY: SQLite calls this with a VFS `register` made and `szOsFile`
    // bytes at `file`.
    unsafe {
        let inner_vfs = inner_vfs(vfs);
        let Some(inner_open) = (*inner_vfs).xOpen else {
            return ffi::SQLITE_CANTOPEN;
        };
        (*file).pMethods = ptr::null();
        let wal = flags & ffi::SQLITE_OPEN_WAL != 0;
        if !wal && flags & ffi::SQLITE_OPEN_MAIN_DB == 0 {
            // Any other file is the inner VFS's alone, at SQLite's address.
            return inner_open(inner_vfs, name, file, flags, out_flags);
        }
        let inner = file.cast::<u8>().add(HEADER).cast::<ffi::sqlite3_file>();
        (*inner).pMethods = ptr::null();
        let rc = inner_open(inner_vfs, name, inner, flags, out_flags);
        if rc != ffi::SQLITE_OK {
            // SQLite closes a file only when its `pMethods` is set.
            if let Some(inner_close) = (*inner).pMethods.as_ref().and_then(|m| m.xClose) {
                inner_close(inner);
            }
            (*file).pMethods = ptr::null();
            return rc;
        }
        let role = if wal {
            // A WAL's name leads SQLite to its database's file.
            let database = ffi::sqlite3_database_file_object(name);
            let database = if !database.is_null() && ptr::eq((*database).pMethods, &METHODS) {
                database.cast::<File>()
            } else {
                ptr::null_mut()
            };
            Role::Wal {
                database,
                gathered: Gathered::default(),
            }
        } else {
            Role::Database {
                wal: ptr::null_mut(),
            }
        };
        let this = file.cast::<File>();
        this.write(File {
            base: ffi::sqlite3_file { pMethods: &METHODS },
            inner,
            role,
            keeps_read_marks: !wal && (*app(vfs)).keep_read_marks,
            wal_index: ptr::null_mut(),
            read_mark: std::sync::Mutex::new(NO_MARK),
        });
        if (*this).keeps_read_marks {
            keepers().push(Keeper(this));
        }
        if let Role::Wal { database, .. } = (*this).role {
            if let Some(File {
                role: Role::Database { wal },
                ..
            }) = database.as_mut()
            {
                *wal = this;
            }
        }
        ffi::SQLITE_OK
    }
}

/// The wrapped file at `file`, and its inner file's methods.
///
/// # Safety
///
/// `file` is one [`open`] wrapped and not yet closed.
unsafe fn parts<'f>(file: *mut ffi::sqlite3_file) -> (&'f mut File, &'f ffi::sqlite3_io_methods) {
    // SAFETY: per the caller, a live `File` whose inner file is open (its
    // `pMethods` set by the inner VFS).
    unsafe {
        let this = &mut *file.cast::<File>();
        let methods = &*(*this.inner).pMethods;
        (this, methods)
    }
}

/// Passes on what a WAL file has gathered (nothing for a database file),
/// through its inner file's `xWrite`.
///
/// # Safety
///
/// As [`parts`].
unsafe fn pass_on(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: per the caller.
    unsafe {
        let (this, methods) = parts(file);
        let inner = this.inner;
        match &mut this.role {
            Role::Wal { gathered, .. } => {
                gathered.pass_on(&mut |bytes, offset| wal_write(inner, methods, bytes, offset))
            }
            Role::Database { .. } => ffi::SQLITE_OK,
        }
    }
}

/// One write of a WAL's bytes through its inner file.
///
/// # Safety
///
/// As [`inner_write`].
unsafe fn wal_write(
    inner: *mut ffi::sqlite3_file,
    methods: &ffi::sqlite3_io_methods,
    bytes: &[u8],
    offset: i64,
) -> c_int {
    #[cfg(test)]
    WAL_WRITES.with(|writes| writes.set(writes.get() + 1));
    // SAFETY: per the caller.
    unsafe { inner_write(inner, methods, bytes, offset) }
}

#[cfg(test)]
thread_local! {
    /// The writes this thread's connections passed on to WAL files.
    pub(super) static WAL_WRITES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// One write through the inner file.
///
/// # Safety
///
/// `inner` is an open file with `methods`.
unsafe fn inner_write(
    inner: *mut ffi::sqlite3_file,
    methods: &ffi::sqlite3_io_methods,
    bytes: &[u8],
    offset: i64,
) -> c_int {
    let (Some(write), Ok(len)) = (methods.xWrite, c_int::try_from(bytes.len())) else {
        return ffi::SQLITE_IOERR_WRITE;
    };
    // SAFETY: per the caller; `bytes` is valid for `len` bytes.
    unsafe { write(inner, bytes.as_ptr().cast(), len, offset) }
}

unsafe extern "C" fn close(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: SQLite closes each file it opened once, and nothing else
    // uses it meanwhile.
    unsafe {
        release_kept_read_mark(file.cast(), true);
        let (this, methods) = parts(file);
        let this_file = file.cast::<File>();
        // Unlink the pair (if it is still this file's); what a WAL still
        // gathers belongs to no commit.
        match this.role {
            Role::Wal { database, .. } => {
                if let Some(File {
                    role: Role::Database { wal },
                    ..
                }) = database.as_mut()
                {
                    if *wal == this_file {
                        *wal = ptr::null_mut();
                    }
                }
            }
            Role::Database { wal } => {
                if let Some(File {
                    role: Role::Wal { database, .. },
                    ..
                }) = wal.as_mut()
                {
                    if *database == this_file {
                        *database = ptr::null_mut();
                    }
                }
            }
        }
        let rc = methods
            .xClose
            .map_or(ffi::SQLITE_OK, |close| close(this.inner));
        ptr::drop_in_place(this_file);
        (*file).pMethods = ptr::null();
        rc
    }
}

unsafe extern "C" fn write(
    file: *mut ffi::sqlite3_file,
    buf: *const c_void,
    amount: c_int,
    offset: i64,
) -> c_int {
    // SAFETY: SQLite's arguments, for a file `open` wrapped: `buf` holds
    // `amount` bytes.
    unsafe {
        let (this, methods) = parts(file);
        let inner = this.inner;
        let data: &[u8] = match usize::try_from(amount) {
            Ok(len) if len > 0 && !buf.is_null() => std::slice::from_raw_parts(buf.cast(), len),
            _ => &[],
        };
        match &mut this.role {
            Role::Wal { database, gathered } if !database.is_null() => {
                gathered.write(data, offset, &mut |bytes, offset| {
                    wal_write(inner, methods, bytes, offset)
                })
            }
            _ => inner_write(inner, methods, data, offset),
        }
    }
}

/// Defines an `xMethod` that passes on what is gathered, then forwards to
/// the inner file's.
macro_rules! after_pass_on {
    ($name:ident, $method:ident, $failed:expr, ($($arg:ident: $ty:ty),*)) => {
        unsafe extern "C" fn $name(file: *mut ffi::sqlite3_file $(, $arg: $ty)*) -> c_int {
            // SAFETY: SQLite's arguments, for a file `open` wrapped.
            unsafe {
                let rc = pass_on(file);
                if rc != ffi::SQLITE_OK {
                    return rc;
                }
                let (this, methods) = parts(file);
                methods.$method.map_or($failed, |method| method(this.inner $(, $arg)*))
            }
        }
    };
}

/// Defines an `xMethod` that forwards to the inner file's.
macro_rules! forward {
    ($name:ident, $method:ident, $ret:ty, $failed:expr, ($($arg:ident: $ty:ty),*)) => {
        unsafe extern "C" fn $name(file: *mut ffi::sqlite3_file $(, $arg: $ty)*) -> $ret {
            // SAFETY: SQLite's arguments, for a file `open` wrapped.
            unsafe {
                let (this, methods) = parts(file);
                methods.$method.map_or($failed, |method| method(this.inner $(, $arg)*))
            }
        }
    };
}

after_pass_on!(read, xRead, ffi::SQLITE_IOERR_READ, (buf: *mut c_void, amount: c_int, offset: i64));
after_pass_on!(truncate, xTruncate, ffi::SQLITE_IOERR_TRUNCATE, (size: i64));
after_pass_on!(sync, xSync, ffi::SQLITE_IOERR_FSYNC, (flags: c_int));
after_pass_on!(file_size, xFileSize, ffi::SQLITE_IOERR_FSTAT, (size: *mut i64));
after_pass_on!(file_control, xFileControl, ffi::SQLITE_NOTFOUND, (op: c_int, arg: *mut c_void));
forward!(lock, xLock, c_int, ffi::SQLITE_IOERR_LOCK, (level: c_int));
forward!(unlock, xUnlock, c_int, ffi::SQLITE_IOERR_UNLOCK, (level: c_int));
forward!(check_reserved_lock, xCheckReservedLock, c_int, ffi::SQLITE_IOERR_CHECKRESERVEDLOCK, (out: *mut c_int));
forward!(sector_size, xSectorSize, c_int, 4096, ());
forward!(device_characteristics, xDeviceCharacteristics, c_int, 0, ());
forward!(shm_barrier, xShmBarrier, (), (), ());
forward!(fetch, xFetch, c_int, ffi::SQLITE_OK, (offset: i64, amount: c_int, out: *mut *mut c_void));
forward!(unfetch, xUnfetch, c_int, ffi::SQLITE_OK, (offset: i64, page: *mut c_void));

unsafe extern "C" fn shm_map(
    file: *mut ffi::sqlite3_file,
    region: c_int,
    size: c_int,
    extend: c_int,
    out: *mut *mut c_void,
) -> c_int {
    // SAFETY: SQLite's arguments, for a file `open` wrapped.
    unsafe {
        let (this, methods) = parts(file);
        let rc = methods.xShmMap.map_or(ffi::SQLITE_IOERR_SHMMAP, |map| {
            map(this.inner, region, size, extend, out)
        });
        if region == 0 && rc == ffi::SQLITE_OK {
            // Under the list's lock, where other threads read it.
            let _keepers = keepers();
            this.wal_index = *out;
        }
        rc
    }
}

unsafe extern "C" fn shm_unmap(file: *mut ffi::sqlite3_file, delete: c_int) -> c_int {
    // SAFETY: SQLite's arguments, for a file `open` wrapped. The read mark
    // it keeps goes first: SQLite counts it as this file's lock.
    unsafe {
        release_kept_read_mark(file.cast(), false);
        let (this, methods) = parts(file);
        {
            let _keepers = keepers();
            this.wal_index = ptr::null_mut();
        }
        methods
            .xShmUnmap
            .map_or(ffi::SQLITE_OK, |unmap| unmap(this.inner, delete))
    }
}

unsafe extern "C" fn shm_lock(
    file: *mut ffi::sqlite3_file,
    offset: c_int,
    n: c_int,
    flags: c_int,
) -> c_int {
    // SAFETY: SQLite's arguments, for a file `open` wrapped; its WAL, when
    // linked, is open (closing either unlinks them).
    unsafe {
        if (*file.cast::<File>()).keeps_read_marks {
            if let Some(rc) = keep_read_mark(file.cast(), offset, n, flags) {
                return rc;
            }
        }
        let (this, methods) = parts(file);
        let releases_write_lock = flags & ffi::SQLITE_SHM_UNLOCK != 0
            && offset <= WAL_WRITE_LOCK
            && WAL_WRITE_LOCK < offset + n;
        if releases_write_lock {
            if let Role::Database { wal } = this.role {
                if let Some(File {
                    role: Role::Wal { gathered, .. },
                    ..
                }) = wal.as_mut()
                {
                    gathered.drop_uncommitted();
                }
            }
        }
        methods.xShmLock.map_or(ffi::SQLITE_IOERR_SHMLOCK, |lock| {
            lock(this.inner, offset, n, flags)
        })
    }
}

// ---------------------------------------------------------------------------
// Read marks kept between read transactions.
//
// A read transaction on a WAL file holds a shared lock on one of the WAL
// index's read marks, so that no checkpoint overwrites the pages its
// snapshot reads. SQLite's unix VFS counts the holders in the process and
// takes the lock from the kernel (`fcntl`) only when the count leaves 0,
// releasing it when the count returns there, with the WAL index's mutex
// held across each call. One read at a time, as a server's workers take
// turns, so made two system calls a read, and the other worker waited for
// the mutex meanwhile: a tenth of a `users/me` request's CPU time.
//
// So when one of this VFS's database connections releases a read mark,
// the VFS keeps the lock instead, and hands it back when the connection
// next asks for the same mark: no system call, no mutex of SQLite's.
// SQLite still counts a kept mark as held, which decides everything else:
//
// - Before any of this VFS's connections asks for a read mark exclusively
//   (to move it, to checkpoint past it, to restart the WAL), every kept
//   mark of that WAL index in the range is released, so the process's own
//   writers and checkpoints see only the reads really running. Each
//   file's `read_mark` mutex orders a release against a hand-back: a
//   connection gets its kept mark back only if it is still kept, and
//   takes the lock anew otherwise. That mutex is the connection's own, so
//   readers on several threads share nothing here.
// - Another process sees the process hold a read mark, as it would
//   during a read. It cannot ask for it back, so a sweeper thread
//   releases every kept mark each `SWEEP_INTERVAL`: an idle process holds
//   none for longer than that, and one under load gives them up as often.
//   With nothing kept, the sweeper sleeps until a mark is.
// - Unmapping the WAL index or closing the file releases its kept mark.
//
// Only the connections of this VFS keep marks. Another connection of the
// process to the same file (opened without this VFS) waits or gets
// SQLITE_BUSY for an exclusive read mark while one is kept, as it would
// during a read.

/// The WAL index's first read mark (SQLite's `WAL_READ_LOCK(0)`).
const WAL_READ_LOCK_0: c_int = 3;
/// How many read marks there are (SQLite's `WAL_NREADER`).
const WAL_NREADER: c_int = 5;
/// What a file's `read_mark` holds when it keeps none.
const NO_MARK: c_int = -1;
/// How long a kept read mark may stay kept at most.
const SWEEP_INTERVAL: std::time::Duration = std::time::Duration::from_millis(5);

/// A database file that may keep a read mark.
struct Keeper(*mut File);

// SAFETY: a `Keeper` is in `KEEPERS` only while its file is open (closing
// removes it first, under the same lock), and is used only through the
// file's `read_mark` mutex and the inner file's `xShmLock`, which takes
// SQLite's own mutex.
unsafe impl Send for Keeper {}

/// The files that may keep a read mark.
static KEEPERS: std::sync::Mutex<Vec<Keeper>> = std::sync::Mutex::new(Vec::new());

/// The sweeper found no mark kept and sleeps until one is.
static SWEEPER_PARKED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn keepers() -> std::sync::MutexGuard<'static, Vec<Keeper>> {
    // Every change to the list is one push or one removal: a panic under
    // the lock leaves it consistent.
    KEEPERS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The read mark `file` keeps ([`NO_MARK`] for none), locked.
///
/// # Safety
///
/// `file` is open, through [`open`].
unsafe fn read_mark<'f>(file: *mut File) -> std::sync::MutexGuard<'f, c_int> {
    // SAFETY: per the caller. Only this field is borrowed: the file's
    // owner may use the rest meanwhile. A panic under the lock leaves a
    // plain integer.
    unsafe {
        (*ptr::addr_of!((*file).read_mark))
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
thread_local! {
    /// The read marks this thread's connections took from SQLite's VFS
    /// (kept ones handed back are not counted).
    pub(super) static READ_MARKS_TAKEN: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

#[cfg(test)]
static SWEEPER_PAUSES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// The sweeper leaves every read mark kept while one of these lives.
#[cfg(test)]
pub(super) struct SweeperPaused(());

#[cfg(test)]
impl SweeperPaused {
    pub(super) fn new() -> Self {
        SWEEPER_PAUSES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        SweeperPaused(())
    }
}

#[cfg(test)]
impl Drop for SweeperPaused {
    fn drop(&mut self) {
        SWEEPER_PAUSES.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Calls the inner file's `xShmLock`.
///
/// # Safety
///
/// `file` is open (through [`open`]), and its inner file's shared memory
/// is mapped when a lock is asked for.
unsafe fn inner_shm_lock(file: *mut File, offset: c_int, n: c_int, flags: c_int) -> c_int {
    // SAFETY: per the caller. No reference to the `File` is made: its
    // owner's thread may hold one meanwhile, and `inner` never changes.
    unsafe {
        let inner = (*file).inner;
        (*(*inner).pMethods)
            .xShmLock
            .map_or(ffi::SQLITE_IOERR_SHMLOCK, |lock| {
                lock(inner, offset, n, flags)
            })
    }
}

/// Releases the mark `file` keeps in `kept` (its `read_mark`, locked), if
/// any, through SQLite's VFS; a failed release stays kept.
///
/// # Safety
///
/// As [`inner_shm_lock`].
unsafe fn give_up(file: *mut File, kept: &mut c_int) {
    if *kept == NO_MARK {
        return;
    }
    let unlock = ffi::SQLITE_SHM_UNLOCK | ffi::SQLITE_SHM_SHARED;
    // SAFETY: per the caller; SQLite counts the kept mark as the file's.
    if unsafe { inner_shm_lock(file, *kept, 1, unlock) } == ffi::SQLITE_OK {
        *kept = NO_MARK;
    }
}

/// Releases the read mark `file` keeps, and with `closing`, forgets it.
///
/// # Safety
///
/// `file` is open, through [`open`].
unsafe fn release_kept_read_mark(file: *mut File, closing: bool) {
    if closing {
        keepers().retain(|keeper| !ptr::eq(keeper.0, file));
    }
    // SAFETY: per the caller.
    unsafe { give_up(file, &mut read_mark(file)) };
}

/// Releases every kept read mark (a failed release stays kept): what the
/// sweeper does each `SWEEP_INTERVAL`.
pub(super) fn sweep() {
    for keeper in keepers().iter() {
        // SAFETY: a listed file is open (see `Keeper`).
        unsafe { give_up(keeper.0, &mut read_mark(keeper.0)) };
    }
}

/// Whether any file keeps a mark.
fn any_kept() -> bool {
    // SAFETY: a listed file is open (see `Keeper`).
    keepers()
        .iter()
        .any(|keeper| unsafe { *read_mark(keeper.0) } != NO_MARK)
}

/// The sweeper, started with the first mark kept; `None` if no thread
/// could be started (marks are then never kept).
fn sweeper() -> Option<&'static std::thread::Thread> {
    use std::sync::atomic::Ordering::SeqCst;
    static SWEEPER: OnceLock<Option<std::thread::Thread>> = OnceLock::new();
    SWEEPER
        .get_or_init(|| {
            std::thread::Builder::new()
                .name("aai-accounts-read-marks".into())
                .spawn(|| loop {
                    std::thread::park_timeout(SWEEP_INTERVAL);
                    #[cfg(test)]
                    if SWEEPER_PAUSES.load(std::sync::atomic::Ordering::Relaxed) > 0 {
                        continue;
                    }
                    sweep();
                    // Parked, then a last look: a mark kept (or failed to
                    // release) before the flag was set is seen here, one
                    // kept after it finds the flag and unparks (an unpark
                    // before the park makes it return at once).
                    SWEEPER_PARKED.store(true, SeqCst);
                    if any_kept() {
                        SWEEPER_PARKED.store(false, SeqCst);
                    } else {
                        std::thread::park();
                    }
                })
                .ok()
                .map(|handle| handle.thread().clone())
        })
        .as_ref()
}

/// What this VFS does with a read-mark lock of `file` instead of passing
/// it on as it is; `None` to pass it on.
///
/// # Safety
///
/// As [`inner_shm_lock`], with SQLite's arguments, from the thread using
/// `file`'s connection.
unsafe fn keep_read_mark(file: *mut File, offset: c_int, n: c_int, flags: c_int) -> Option<c_int> {
    const LOCK_SHARED: c_int = ffi::SQLITE_SHM_LOCK | ffi::SQLITE_SHM_SHARED;
    const UNLOCK_SHARED: c_int = ffi::SQLITE_SHM_UNLOCK | ffi::SQLITE_SHM_SHARED;
    const LOCK_EXCLUSIVE: c_int = ffi::SQLITE_SHM_LOCK | ffi::SQLITE_SHM_EXCLUSIVE;
    let read_marks = WAL_READ_LOCK_0..WAL_READ_LOCK_0 + WAL_NREADER;
    if !(offset < read_marks.end && read_marks.start < offset + n) {
        return None;
    }
    // SAFETY: per the caller, `file` is open and mapped; listed files are
    // open (see `Keeper`).
    unsafe {
        match flags {
            LOCK_SHARED => {
                // A shared lock is one mark (SQLite asserts `n == 1`).
                let mut kept = read_mark(file);
                if *kept == offset {
                    *kept = NO_MARK;
                    return Some(ffi::SQLITE_OK);
                }
                // Another mark, or none: this file reads at a new one.
                give_up(file, &mut kept);
                #[cfg(test)]
                READ_MARKS_TAKEN.with(|taken| taken.set(taken.get() + 1));
                Some(inner_shm_lock(file, offset, n, flags))
            }
            UNLOCK_SHARED => {
                let mut kept = read_mark(file);
                let sweeper = sweeper().filter(|_| *kept == NO_MARK)?;
                *kept = offset;
                drop(kept);
                if SWEEPER_PARKED.swap(false, std::sync::atomic::Ordering::SeqCst) {
                    sweeper.unpark();
                }
                Some(ffi::SQLITE_OK)
            }
            LOCK_EXCLUSIVE => {
                // Kept marks of this WAL index would refuse it: released
                // first, and the lock taken before the list lets another
                // such release run.
                let keepers = keepers();
                let wal_index = (*file).wal_index;
                for keeper in keepers.iter() {
                    if !ptr::eq((*keeper.0).wal_index, wal_index) {
                        continue;
                    }
                    let mut kept = read_mark(keeper.0);
                    if offset <= *kept && *kept < offset + n {
                        give_up(keeper.0, &mut kept);
                    }
                }
                Some(inner_shm_lock(file, offset, n, flags))
            }
            // An exclusive lock released: never kept.
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------
// The VFS's other methods: the inner VFS's.

/// Defines a VFS method that forwards to the inner VFS's.
macro_rules! forward_vfs {
    ($name:ident, $method:ident, $ret:ty, $failed:expr, ($($arg:ident: $ty:ty),*)) => {
        unsafe extern "C" fn $name(vfs: *mut ffi::sqlite3_vfs $(, $arg: $ty)*) -> $ret {
            // SAFETY: SQLite calls this with a VFS `register` made.
            unsafe {
                let inner = inner_vfs(vfs);
                (*inner).$method.map_or($failed, |method| method(inner $(, $arg)*))
            }
        }
    };
}

forward_vfs!(delete, xDelete, c_int, ffi::SQLITE_IOERR_DELETE, (name: *const c_char, sync_dir: c_int));
forward_vfs!(access, xAccess, c_int, ffi::SQLITE_IOERR_ACCESS, (name: *const c_char, flags: c_int, out: *mut c_int));
forward_vfs!(full_pathname, xFullPathname, c_int, ffi::SQLITE_CANTOPEN, (name: *const c_char, n: c_int, out: *mut c_char));
forward_vfs!(dl_open, xDlOpen, *mut c_void, ptr::null_mut(), (name: *const c_char));
forward_vfs!(dl_error, xDlError, (), (), (n: c_int, out: *mut c_char));
forward_vfs!(dl_close, xDlClose, (), (), (handle: *mut c_void));
forward_vfs!(randomness, xRandomness, c_int, 0, (n: c_int, out: *mut c_char));
forward_vfs!(sleep, xSleep, c_int, 0, (microseconds: c_int));
forward_vfs!(current_time, xCurrentTime, c_int, ffi::SQLITE_ERROR, (now: *mut f64));
forward_vfs!(get_last_error, xGetLastError, c_int, 0, (n: c_int, out: *mut c_char));
forward_vfs!(current_time_int64, xCurrentTimeInt64, c_int, ffi::SQLITE_ERROR, (now: *mut i64));

/// A symbol of a loaded extension.
type Symbol = Option<unsafe extern "C" fn(*mut ffi::sqlite3_vfs, *mut c_void, *const c_char)>;

unsafe extern "C" fn dl_sym(
    vfs: *mut ffi::sqlite3_vfs,
    handle: *mut c_void,
    symbol: *const c_char,
) -> Symbol {
    // SAFETY: SQLite calls this with a VFS `register` made.
    unsafe {
        let inner = inner_vfs(vfs);
        (*inner)
            .xDlSym
            .and_then(|method| method(inner, handle, symbol))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file as the sink leaves it, and the writes that reached it.
    #[derive(Default)]
    struct Sink {
        file: Vec<u8>,
        writes: usize,
    }

    impl Sink {
        fn write(&mut self, bytes: &[u8], offset: i64) -> c_int {
            let start = usize::try_from(offset).unwrap();
            if self.file.len() < start + bytes.len() {
                self.file.resize(start + bytes.len(), 0);
            }
            self.file[start..start + bytes.len()].copy_from_slice(bytes);
            self.writes += 1;
            ffi::SQLITE_OK
        }
    }

    const PAGE: usize = 512;

    fn header(page: u32, commit: bool) -> Vec<u8> {
        let mut header = vec![0xA5; FRAME_HEADER];
        header[0..4].copy_from_slice(&page.to_be_bytes());
        header[4..8].copy_from_slice(&u32::from(commit).to_be_bytes());
        header
    }

    fn frame_offset(frame: usize) -> i64 {
        i64::try_from(32 + frame * (FRAME_HEADER + PAGE)).unwrap()
    }

    /// SQLite's writes of one transaction of `pages` frames from `first`.
    fn transaction(first: usize, pages: usize) -> Vec<(Vec<u8>, i64)> {
        let mut writes = Vec::new();
        for i in 0..pages {
            let frame = first + i;
            let offset = frame_offset(frame);
            let page = u32::try_from(frame).unwrap();
            writes.push((header(page, i + 1 == pages), offset));
            writes.push((vec![u8::try_from(frame % 251).unwrap(); PAGE], offset + 24));
        }
        writes
    }

    fn replay(gathered: &mut Gathered, sink: &mut Sink, writes: &[(Vec<u8>, i64)]) {
        for (data, offset) in writes {
            let rc = gathered.write(data, *offset, &mut |bytes, offset| {
                sink.write(bytes, offset)
            });
            assert_eq!(rc, ffi::SQLITE_OK);
        }
    }

    fn direct(writes: &[(Vec<u8>, i64)]) -> Vec<u8> {
        let mut sink = Sink::default();
        for (data, offset) in writes {
            sink.write(data, *offset);
        }
        sink.file
    }

    #[test]
    fn a_commit_reaches_the_file_in_two_writes() {
        let writes = transaction(0, 45);
        let (mut gathered, mut sink) = (Gathered::default(), Sink::default());
        replay(&mut gathered, &mut sink, &writes);
        const { assert!(45 * (FRAME_HEADER + PAGE) < MAX_WRITE) };
        assert_eq!(sink.writes, 2);
        assert_eq!(sink.file, direct(&writes));
        assert!(gathered.bytes.is_empty());
    }

    #[test]
    fn a_one_frame_commit_is_two_writes_as_before() {
        let writes = transaction(3, 1);
        let (mut gathered, mut sink) = (Gathered::default(), Sink::default());
        replay(&mut gathered, &mut sink, &writes);
        assert_eq!(sink.writes, 2);
        assert_eq!(sink.file, direct(&writes));
    }

    #[test]
    fn frames_wait_for_their_commit() {
        let writes = transaction(0, 5);
        let (mut gathered, mut sink) = (Gathered::default(), Sink::default());
        replay(&mut gathered, &mut sink, &writes[..8]);
        assert_eq!(sink.writes, 0);
        replay(&mut gathered, &mut sink, &writes[8..]);
        assert_eq!(sink.file, direct(&writes));
    }

    #[test]
    fn an_overwrite_of_a_gathered_frame_lands_after_it() {
        // SQLite rewrites a page it already wrote in this transaction in
        // place, then rewrites the checksums from that frame on.
        let mut writes = transaction(0, 4);
        let commit = writes.split_off(6);
        writes.push((vec![0xEE; PAGE], frame_offset(1) + 24));
        writes.extend(commit);
        for frame in 1..4 {
            writes.push((
                header(u32::try_from(frame).unwrap(), frame == 3),
                frame_offset(frame),
            ));
        }
        let (mut gathered, mut sink) = (Gathered::default(), Sink::default());
        replay(&mut gathered, &mut sink, &writes);
        assert_eq!(sink.file, direct(&writes));
        assert!(gathered.bytes.is_empty());
    }

    #[test]
    fn dropped_frames_never_reach_the_file() {
        // A transaction spills two frames, then rolls back.
        let mut spilled = transaction(0, 3);
        spilled.truncate(4);
        for (data, _) in &mut spilled {
            data.fill(0xDD);
        }
        let (mut gathered, mut sink) = (Gathered::default(), Sink::default());
        replay(&mut gathered, &mut sink, &spilled);
        gathered.drop_uncommitted();
        // Another connection commits over those offsets, and this one's
        // next transaction follows it.
        let others = transaction(0, 3);
        for (data, offset) in &others {
            sink.write(data, *offset);
        }
        let mine = transaction(3, 2);
        replay(&mut gathered, &mut sink, &mine);
        let mut committed = others;
        committed.extend(mine);
        assert_eq!(sink.file, direct(&committed));
    }

    #[test]
    fn a_long_run_passes_on_in_pieces_the_unix_vfs_takes() {
        let mut gathered = Gathered::default();
        let mut lengths = Vec::new();
        let pages = 3 * MAX_WRITE / (FRAME_HEADER + PAGE);
        for (data, offset) in transaction(0, pages) {
            gathered.write(&data, offset, &mut |bytes, _| {
                lengths.push(bytes.len());
                ffi::SQLITE_OK
            });
        }
        assert!(lengths.len() >= 3, "{lengths:?}");
        assert!(
            lengths.iter().all(|&length| length <= 0x1ffff),
            "{lengths:?}"
        );
    }

    #[test]
    fn a_failed_write_is_reported_and_gathers_nothing() {
        let writes = transaction(0, 3);
        let mut gathered = Gathered::default();
        for (data, offset) in &writes[..5] {
            assert_eq!(
                gathered.write(data, *offset, &mut |_, _| ffi::SQLITE_OK),
                ffi::SQLITE_OK
            );
        }
        let rc = gathered.write(&writes[4].0, writes[4].1, &mut |_, _| {
            ffi::SQLITE_IOERR_WRITE
        });
        assert_eq!(rc, ffi::SQLITE_IOERR_WRITE);
        assert!(gathered.bytes.is_empty());
    }

    #[test]
    fn a_big_transaction_passes_on_in_bounded_runs() {
        let pages = 2 * GATHER_LIMIT / (FRAME_HEADER + PAGE) + 10;
        let writes = transaction(0, pages);
        let (mut gathered, mut sink) = (Gathered::default(), Sink::default());
        replay(&mut gathered, &mut sink, &writes);
        assert_eq!(sink.file, direct(&writes));
        let gathered_bytes = pages * (FRAME_HEADER + PAGE) - PAGE;
        assert!(
            sink.writes <= gathered_bytes.div_ceil(MAX_WRITE) + 3,
            "{} writes",
            sink.writes
        );
        assert!(
            sink.writes >= gathered_bytes.div_ceil(MAX_WRITE),
            "{} writes",
            sink.writes
        );
        assert!(gathered.bytes.capacity() <= 2 * GATHER_LIMIT);
    }

    proptest::proptest! {
        /// Whatever SQLite writes, in whatever order, the file after a
        /// commit frame, and whatever a read finds, is what direct writes
        /// would have left.
        #[test]
        fn the_file_after_a_commit_is_what_direct_writes_leave(
            ops in proptest::collection::vec((0_usize..12, proptest::bool::ANY, 0_u8..4), 1..60)
        ) {
            let (mut gathered, mut sink) = (Gathered::default(), Sink::default());
            let mut writes = Vec::new();
            for (frame, commit, kind) in ops {
                let offset = frame_offset(frame);
                let write = match kind {
                    0 | 1 => (header(u32::try_from(frame).unwrap(), commit), offset),
                    2 => (vec![u8::try_from(frame).unwrap(); PAGE], offset + 24),
                    _ => {
                        // A read: everything written so far is in the file.
                        gathered.pass_on(&mut |bytes, offset| sink.write(bytes, offset));
                        proptest::prop_assert_eq!(&sink.file, &direct(&writes));
                        continue;
                    }
                };
                let is_commit = write.0.len() == FRAME_HEADER && commit;
                writes.push(write.clone());
                gathered.write(&write.0, write.1, &mut |bytes, offset| sink.write(bytes, offset));
                if is_commit {
                    proptest::prop_assert_eq!(&sink.file, &direct(&writes));
                }
            }
        }
    }
}
