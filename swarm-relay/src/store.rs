//! The local chunk store: one [redb](https://docs.rs/redb) database file, `DIR/chunks.redb`.
//!
//! # Layout
//! One table, `chunks`: key = the 32-byte chunk address, value = the chunk bytes exactly as Bee's
//! `GET /chunks/{address}` returns them (`span || payload` for a content-addressed chunk,
//! `id || signature || span || payload` for a single-owner chunk).
//!
//! # Crash safety
//! Writes happen only inside an [`Import`] (one redb write transaction). Nothing written in it
//! is visible to any reader, nor after a restart, until [`Import::commit`] returns; redb's commit
//! is atomic and durable (`Durability::Immediate`: fsync before returning). An import that is
//! dropped, returns early on an error, or whose process is killed at any point leaves the store
//! exactly as it was before the import began: no partial file tree, no manifest without its
//! files. The `import` command writes every chunk of every path it was given in one
//! transaction and prints references only after the commit, so a printed reference is always
//! fully stored.
//!
//! # Trust
//! Bytes read back from disk are not trusted: [`Store::get_verified`] re-verifies every chunk
//! against its address (as a content-addressed chunk, else as a single-owner chunk) before it
//! is handed out, so a corrupted database file is reported, never served.
//!
//! redb holds an exclusive lock on the file: one process at a time (stop `serve` to `import`).

use std::fs;
use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, ReadableTableMetadata, TableDefinition, WriteTransaction};
use swarm_bmt::ChunkAddress;

use crate::Error;

/// Name of the database file inside the store directory.
pub const DB_FILE_NAME: &str = "chunks.redb";

/// The chunk table: address → chunk bytes as served by `GET /chunks/{address}`.
const CHUNKS: TableDefinition<'_, [u8; 32], &[u8]> = TableDefinition::new("chunks");

/// A chunk store on disk; see the [module docs](self). `Store` is `Sync`: many threads read at
/// once.
#[derive(Debug)]
pub struct Store {
    db: Database,
    path: PathBuf,
}

impl Store {
    /// Opens the store in directory `dir`, creating the directory and the database if needed.
    ///
    /// # Errors
    /// [`Error::File`] if the directory cannot be created, [`Error::Db`] if the database cannot
    /// be opened (for example while another process holds it).
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, Error> {
        let dir = dir.as_ref();
        fs::create_dir_all(dir).map_err(|source| Error::File {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join(DB_FILE_NAME);
        if !path.exists() {
            create_db_file(dir, &path)?;
        }
        let db = Database::open(&path)?;
        Ok(Self { db, path })
    }

    /// Path of the database file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stores one chunk in its own transaction, after checking that `data` is the chunk at
    /// `address` (content-addressed or single-owner).
    ///
    /// # Errors
    /// [`Error::Verification`] if it is not, [`Error::Db`] if the write fails.
    pub fn put_chunk(&self, address: &ChunkAddress, data: &[u8]) -> Result<(), Error> {
        crate::verify::verify_chunk(address, data)?;
        let mut import = self.begin_import()?;
        import.put(address, data)?;
        import.commit()
    }

    /// Starts an import: one write transaction; see [`Import`].
    ///
    /// # Errors
    /// [`Error::Db`] if redb cannot start a write transaction.
    pub fn begin_import(&self) -> Result<Import, Error> {
        Ok(Import {
            txn: self.db.begin_write()?,
            chunks: 0,
        })
    }

    /// The stored bytes at `address`, **unverified**, or `None` if absent.
    ///
    /// # Errors
    /// [`Error::Db`] if the read fails.
    pub fn get_chunk(&self, address: &ChunkAddress) -> Result<Option<Vec<u8>>, Error> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(CHUNKS)?;
        Ok(table.get(address.as_bytes())?.map(|v| v.value().to_vec()))
    }

    /// The stored chunk at `address` after re-verifying it, or `None` if absent.
    ///
    /// # Errors
    /// [`Error::Verification`] if the stored bytes are not the chunk at `address` (a corrupted
    /// store), [`Error::Db`] if the read fails.
    pub fn get_verified(&self, address: &ChunkAddress) -> Result<Option<Vec<u8>>, Error> {
        match self.get_chunk(address)? {
            Some(data) => {
                crate::verify::verify_chunk(address, &data)?;
                Ok(Some(data))
            }
            None => Ok(None),
        }
    }

    /// Whether a chunk is stored at `address` (not verified).
    ///
    /// # Errors
    /// [`Error::Db`] if the read fails.
    pub fn contains(&self, address: &ChunkAddress) -> Result<bool, Error> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(CHUNKS)?;
        Ok(table.get(address.as_bytes())?.is_some())
    }

    /// Number of chunks stored.
    ///
    /// # Errors
    /// [`Error::Db`] if the read fails.
    pub fn len(&self) -> Result<u64, Error> {
        let txn = self.db.begin_read()?;
        Ok(txn.open_table(CHUNKS)?.len()?)
    }

    /// Whether the store holds no chunk.
    ///
    /// # Errors
    /// [`Error::Db`] if the read fails.
    pub fn is_empty(&self) -> Result<bool, Error> {
        Ok(self.len()? == 0)
    }
}

/// One import: a redb write transaction. Chunks put into it become visible together when
/// [`commit`](Self::commit) returns; dropping it (or [`abort`](Self::abort)) discards them all.
///
/// Only one import runs at a time per store: [`Store::begin_import`] blocks while another
/// write transaction is open.
pub struct Import {
    txn: WriteTransaction,
    chunks: u64,
}

impl Import {
    /// Adds one chunk, stored as given (not verified here: every read verifies).
    ///
    /// # Errors
    /// [`Error::Db`] if the write fails.
    pub fn put(&mut self, address: &ChunkAddress, data: &[u8]) -> Result<(), Error> {
        let mut table = self.txn.open_table(CHUNKS)?;
        table.insert(address.as_bytes(), data)?;
        self.chunks = self.chunks.saturating_add(1);
        Ok(())
    }

    /// Chunks put so far (a chunk put twice counts twice).
    #[must_use]
    pub const fn chunks(&self) -> u64 {
        self.chunks
    }

    /// Makes every chunk of the import visible at once, durably.
    ///
    /// # Errors
    /// [`Error::Db`] if the commit fails; nothing of the import is visible then.
    pub fn commit(self) -> Result<(), Error> {
        self.txn.commit()?;
        Ok(())
    }

    /// Discards every chunk of the import (dropping the import does the same).
    ///
    /// # Errors
    /// [`Error::Db`] if redb fails to roll back.
    pub fn abort(self) -> Result<(), Error> {
        self.txn.abort()?;
        Ok(())
    }
}

impl core::fmt::Debug for Import {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Import")
            .field("chunks", &self.chunks)
            .finish_non_exhaustive()
    }
}

/// Creates an empty database with its table under a temporary name, then renames it into
/// place, so a process killed while creating a store leaves either no database or a complete
/// empty one (redb cannot open a file whose creation was cut short).
fn create_db_file(dir: &Path, path: &Path) -> Result<(), Error> {
    let tmp = dir.join(format!("{DB_FILE_NAME}.creating"));
    let file_err = |source| Error::File {
        path: tmp.clone(),
        source,
    };
    match fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(file_err(e)),
    }
    {
        let db = Database::create(&tmp)?;
        let txn = db.begin_write()?;
        txn.open_table(CHUNKS)?;
        txn.commit()?;
    }
    fs::rename(&tmp, path).map_err(file_err)?;
    // Make the rename itself durable.
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| Error::File {
            path: dir.to_path_buf(),
            source,
        })
}
