//! The local chunk store: a [redb](https://docs.rs/redb) index over an append-only data file.
//!
//! # Layout
//! - `DIR/chunks.data`: chunk bytes, appended one after the other, exactly as Bee's
//!   `GET /chunks/{address}` returns them (`span || payload` for a content-addressed chunk,
//!   `id || signature || span || payload` for a single-owner chunk).
//! - `DIR/chunks.redb`: the index, table `chunks`: 32-byte chunk address → (offset, length) in
//!   the data file; table `meta`: `data_len`, the committed length of the data file.
//!
//! Chunks live outside the B-tree because redb needs a page of 8 KiB or more for one
//! 4104-byte value and leaves pages half full under random keys: storing chunks inside redb
//! took 2 to 4 times the content on disk, this layout about 1.03 times.
//!
//! # Crash safety
//! Writes happen only inside an [`Import`], which holds the one redb write transaction. Chunk
//! bytes are appended past the committed end of the data file and indexed in that
//! transaction; [`Import::commit`] flushes and fsyncs the data file, records the new
//! `data_len`, then commits (redb's commit is atomic and durable). Until then no reader, and
//! no later process, sees any chunk of the import. An import that is dropped, fails or is
//! killed at any point leaves only unreferenced bytes past `data_len`, cut off by the next
//! import: no partial file tree, no manifest without its files. A new store's index is created
//! under a temporary name and renamed into place, so even a kill during creation leaves no
//! half-made database. The `import` command writes every chunk of every path it was given in
//! one transaction and prints references only after the commit.
//!
//! # Trust
//! Bytes read back from disk are not trusted: [`Store::get_verified`] re-verifies every chunk
//! against its address (as a content-addressed chunk, else as a single-owner chunk) before it
//! is handed out, so a corrupted data file is reported, never served.
//!
//! redb holds an exclusive lock on the index: one process at a time (stop `serve` to
//! `import`).

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use redb::{
    Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition,
    WriteTransaction,
};
use swarm_bmt::ChunkAddress;

use crate::Error;

/// Name of the index (redb database) inside the store directory.
pub const DB_FILE_NAME: &str = "chunks.redb";

/// Name of the append-only chunk data file inside the store directory.
pub const DATA_FILE_NAME: &str = "chunks.data";

/// Largest chunk the store takes: a single-owner chunk of 4201 bytes.
pub const MAX_STORED_CHUNK_LEN: usize = swarm_core::soc::MAX_SOC_LEN;

/// The index: address → (offset, length) in the data file.
const CHUNKS: TableDefinition<'_, [u8; 32], (u64, u32)> = TableDefinition::new("chunks");

/// Store-wide values; [`DATA_LEN`] only.
const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");

/// Key of the committed data file length in [`META`].
const DATA_LEN: &str = "data_len";

/// A chunk store on disk; see the [module docs](self). `Store` is `Sync`: many threads read at
/// once while one import writes.
#[derive(Debug)]
pub struct Store {
    db: Database,
    path: PathBuf,
    data_path: PathBuf,
    data: File,
}

impl Store {
    /// Opens the store in directory `dir`, creating the directory and an empty store if needed.
    ///
    /// # Errors
    /// [`Error::File`] if the directory or data file cannot be created or opened, or the data
    /// file is shorter than the index says; [`Error::Db`] if the index cannot be opened (for
    /// example while another process holds it).
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, Error> {
        let dir = dir.as_ref();
        fs::create_dir_all(dir).map_err(|source| Error::File {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join(DB_FILE_NAME);
        let data_path = dir.join(DATA_FILE_NAME);
        let file_err = |source| Error::File {
            path: data_path.clone(),
            source,
        };
        let data = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&data_path)
            .map_err(file_err)?;
        if !path.exists() {
            create_db_file(dir, &path)?;
        }
        let db = Database::open(&path)?;
        let committed = committed_len(&db)?;
        let on_disk = data.metadata().map_err(file_err)?.len();
        if on_disk < committed {
            return Err(file_err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("data file has {on_disk} bytes, the index refers to {committed}"),
            )));
        }
        Ok(Self {
            db,
            path,
            data_path,
            data,
        })
    }

    /// Opens an existing store (as [`Store::open`], but never creates one: a mistyped
    /// directory is an error, not an empty store).
    ///
    /// # Errors
    /// [`Error::File`] (`NotFound`) if `dir` holds no store; as [`Store::open`].
    pub fn open_existing(dir: impl AsRef<Path>) -> Result<Self, Error> {
        let dir = dir.as_ref();
        let index = dir.join(DB_FILE_NAME);
        if !index.is_file() {
            return Err(Error::File {
                path: index,
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no store here (create one with `swarm-relay import`)",
                ),
            });
        }
        Self::open(dir)
    }

    /// Path of the index file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Path of the data file.
    #[must_use]
    pub fn data_path(&self) -> &Path {
        &self.data_path
    }

    /// Stores one chunk in its own transaction, after checking that `data` is the chunk at
    /// `address` (content-addressed or single-owner).
    ///
    /// # Errors
    /// [`Error::Verification`] if it is not, [`Error::Db`] or [`Error::File`] if the write
    /// fails.
    pub fn put_chunk(&self, address: &ChunkAddress, data: &[u8]) -> Result<(), Error> {
        crate::verify::verify_chunk(address, data)?;
        let mut import = self.begin_import()?;
        import.put(address, data)?;
        import.commit()
    }

    /// Starts an import: the write transaction, and appends to the data file past its
    /// committed end (cutting off what an interrupted import left there); see [`Import`].
    ///
    /// Blocks while another import of this store is open.
    ///
    /// # Errors
    /// [`Error::Db`] if redb cannot start a write transaction, [`Error::File`] if the data file
    /// cannot be truncated or opened for writing.
    pub fn begin_import(&self) -> Result<Import, Error> {
        let txn = self.db.begin_write()?;
        let offset = {
            let meta = txn.open_table(META)?;
            let len = meta.get(DATA_LEN)?.map_or(0, |v| v.value());
            len
        };
        let file_err = |source| Error::File {
            path: self.data_path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .write(true)
            .open(&self.data_path)
            .map_err(file_err)?;
        file.set_len(offset).map_err(file_err)?;
        file.seek(SeekFrom::Start(offset)).map_err(file_err)?;
        Ok(Import {
            txn,
            out: BufWriter::with_capacity(1 << 20, file),
            data_path: self.data_path.clone(),
            offset,
            chunks: 0,
        })
    }

    /// The stored bytes at `address`, **unverified**, or `None` if absent.
    ///
    /// # Errors
    /// [`Error::Db`] if the index read fails, [`Error::File`] if the data file read fails.
    pub fn get_chunk(&self, address: &ChunkAddress) -> Result<Option<Vec<u8>>, Error> {
        let Some((offset, len)) = self.locate(address)? else {
            return Ok(None);
        };
        let len = usize::try_from(len)
            .unwrap_or(usize::MAX)
            .min(MAX_STORED_CHUNK_LEN);
        let mut buf = vec![0u8; len];
        self.data
            .read_exact_at(&mut buf, offset)
            .map_err(|source| Error::File {
                path: self.data_path.clone(),
                source,
            })?;
        Ok(Some(buf))
    }

    /// The stored chunk at `address` after re-verifying it, or `None` if absent.
    ///
    /// # Errors
    /// [`Error::Verification`] if the stored bytes are not the chunk at `address` (a corrupted
    /// store), [`Error::Db`] or [`Error::File`] if the read fails.
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
        Ok(self.locate(address)?.is_some())
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

    fn locate(&self, address: &ChunkAddress) -> Result<Option<(u64, u32)>, Error> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(CHUNKS)?;
        Ok(table.get(address.as_bytes())?.map(|v| v.value()))
    }
}

/// Lets swarm-core's blocking driver ([`swarm_core::source::drive`]) read the store directly
/// (tests, tools). Bytes are handed out unverified: the retrieval machine verifies them.
impl swarm_core::source::ChunkSource for &Store {
    fn fetch(&mut self, address: &ChunkAddress, buf: &mut [u8]) -> std::io::Result<Option<usize>> {
        let chunk = self.get_chunk(address).map_err(std::io::Error::other)?;
        let Some(chunk) = chunk else {
            return Ok(None);
        };
        let dst = buf
            .get_mut(..chunk.len())
            .ok_or(std::io::ErrorKind::InvalidData)?;
        dst.copy_from_slice(&chunk);
        Ok(Some(chunk.len()))
    }
}

/// One import: the store's write transaction and the data file's tail. Chunks put into it
/// become visible together when [`commit`](Self::commit) returns; dropping it (or
/// [`abort`](Self::abort)) discards them all.
pub struct Import {
    txn: WriteTransaction,
    out: BufWriter<File>,
    data_path: PathBuf,
    /// Data file length after every byte put so far.
    offset: u64,
    chunks: u64,
}

impl Import {
    /// Adds one chunk, stored as given (not verified here: every read verifies). A chunk
    /// already indexed (by this import or an earlier one) is not written again.
    ///
    /// # Errors
    /// [`Error::Import`] for a chunk longer than [`MAX_STORED_CHUNK_LEN`], [`Error::File`] if
    /// the data file write fails, [`Error::Db`] if the index write fails.
    pub fn put(&mut self, address: &ChunkAddress, data: &[u8]) -> Result<(), Error> {
        let len = u32::try_from(data.len())
            .ok()
            .filter(|_| data.len() <= MAX_STORED_CHUNK_LEN)
            .ok_or_else(|| Error::Import {
                path: self.data_path.clone(),
                reason: "chunk longer than 4201 bytes",
            })?;
        let mut table = self.txn.open_table(CHUNKS)?;
        self.chunks = self.chunks.saturating_add(1);
        if table.get(address.as_bytes())?.is_some() {
            return Ok(());
        }
        self.out.write_all(data).map_err(|source| Error::File {
            path: self.data_path.clone(),
            source,
        })?;
        table.insert(address.as_bytes(), (self.offset, len))?;
        self.offset = self.offset.saturating_add(u64::from(len));
        Ok(())
    }

    /// Chunks put so far (a chunk put twice counts twice).
    #[must_use]
    pub const fn chunks(&self) -> u64 {
        self.chunks
    }

    /// Makes every chunk of the import visible at once, durably: fsyncs the data file, then
    /// commits the index.
    ///
    /// # Errors
    /// [`Error::File`] if the data file cannot be flushed or synced, [`Error::Db`] if the
    /// commit fails; nothing of the import is visible then.
    pub fn commit(self) -> Result<(), Error> {
        let Self {
            txn,
            out,
            data_path,
            offset,
            ..
        } = self;
        let file = out.into_inner().map_err(|e| Error::File {
            path: data_path.clone(),
            source: e.into_error(),
        })?;
        file.sync_data().map_err(|source| Error::File {
            path: data_path,
            source,
        })?;
        txn.open_table(META)?.insert(DATA_LEN, offset)?;
        txn.commit()?;
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

/// The committed length of the data file.
fn committed_len(db: &Database) -> Result<u64, Error> {
    let txn = db.begin_read()?;
    let meta = txn.open_table(META)?;
    let len = meta.get(DATA_LEN)?.map_or(0, |v| v.value());
    Ok(len)
}

impl core::fmt::Debug for Import {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Import")
            .field("chunks", &self.chunks)
            .finish_non_exhaustive()
    }
}

/// Creates an empty index with its tables under a temporary name, then renames it into
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
        txn.open_table(META)?.insert(DATA_LEN, 0)?;
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
