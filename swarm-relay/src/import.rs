//! Adding content to the [`Store`]: files, and directories as collections.
//!
//! `swarm-relay import` splits at [`DEFAULT_LEVEL`] (MEDIUM, Bee's default since v2.8.1) unless
//! given `--redundancy`; the functions without `_at` keep level 0 (NONE), the `_at` variants
//! take the level.
//!
//! - A **file** becomes the chunk tree of Bee's `POST /bytes` with `Swarm-Redundancy-Level: 0`
//!   (built by [`swarm_bmt::Splitter`]), so its reference is the one Bee returns for the same
//!   bytes.
//! - A **directory** becomes the collection of Bee's `POST /bzz` with `Swarm-Collection: true`,
//!   `Swarm-Redundancy-Level: 0`, a tar body listing every regular file below the directory
//!   (paths relative to it, `/`-separated, sorted bytewise) and, only when `DIR/index.html`
//!   exists, `Swarm-Index-Document: index.html`. Each file is split as above; the mantaray
//!   manifest is built by [`swarm_core::manifest::build_collection`] (Go Bee's writer: each file
//!   with `{Content-Type (by extension, as Bee's tar upload), Filename}`, then `/` with
//!   `{website-index-document}`). Symbolic links and special files inside the directory are
//!   skipped (Bee's tar reader takes regular files only); a name that is not UTF-8 is an error.
//!
//! - The `_at` variants take a redundancy level: files (also those of a collection) become the
//!   erasure-coded tree Bee's `POST /bytes` builds with `Swarm-Redundancy-Level: LEVEL`
//!   ([`swarm_core::redundant::RedundantSplitter`]: the same reference, the same parity chunks,
//!   and the root's dispersed replicas). A collection's manifest nodes are split at the same
//!   level, as Bee's `storeDir` saves them (`loadsave` over the request's pipeline): a node of
//!   at most 4096 bytes keeps its address and gains the root replicas, a longer one becomes
//!   an erasure-coded tree with another reference.
//!
//! Every call writes all its chunks — files and manifest nodes — in one store transaction
//! ([`crate::store`], crash safety) and returns references only after the commit.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use swarm_bmt::{ChunkAddress, Reference, Splitter};
use swarm_core::manifest::{build_collection_with, content_type_for};
use swarm_core::redundancy::Level;
use swarm_core::redundant::RedundantSplitter;

use crate::store::{Import, Store};
use crate::Error;

/// The redundancy level `swarm-relay import` uses without `--redundancy`: MEDIUM, as Bee's
/// `POST /bytes` and `POST /bzz` since v2.8.1 (`redundancy.DefaultUploadLevel`).
pub const DEFAULT_LEVEL: Level = Level::Medium;

/// Read size when streaming a file into the splitter.
const READ_BUF_LEN: usize = 64 * 1024;

/// Imports one file; returns its reference (as Bee's `POST /bytes`, redundancy level 0).
///
/// # Errors
/// [`Error::File`] if it cannot be read, [`Error::Import`] if it is not a regular file,
/// [`Error::Db`] if the store fails; nothing is stored then.
pub fn import_file(store: &Store, path: &Path) -> Result<Reference, Error> {
    let mut refs = import_paths(store, &[path.to_path_buf()])?;
    refs.pop().ok_or(Error::Import {
        path: path.to_path_buf(),
        reason: "nothing imported",
    })
}

/// Imports several paths in **one** transaction and returns one reference per path, in order.
/// Either every path is stored or none is.
///
/// # Errors
/// As [`import_file`], for the first path that fails.
pub fn import_paths(store: &Store, paths: &[PathBuf]) -> Result<Vec<Reference>, Error> {
    import_paths_at(store, paths, Level::None)
}

/// As [`import_paths`], the files split at redundancy `level`.
///
/// # Errors
/// As [`import_paths`].
pub fn import_paths_at(
    store: &Store,
    paths: &[PathBuf],
    level: Level,
) -> Result<Vec<Reference>, Error> {
    let mut import = store.begin_import()?;
    let mut refs = Vec::with_capacity(paths.len());
    for path in paths {
        refs.push(import_path_at(&mut import, path, level)?);
    }
    import.commit()?;
    Ok(refs)
}

/// Imports `data` as a file in one transaction; returns its reference.
///
/// # Errors
/// [`Error::Db`] if the store fails.
pub fn import_bytes(store: &Store, data: &[u8]) -> Result<Reference, Error> {
    import_bytes_at(store, data, Level::None)
}

/// As [`import_bytes`], split at redundancy `level`.
///
/// # Errors
/// As [`import_bytes`].
pub fn import_bytes_at(store: &Store, data: &[u8], level: Level) -> Result<Reference, Error> {
    let mut import = store.begin_import()?;
    let reference = split_into_at(&mut import, data, level)?;
    import.commit()?;
    Ok(reference)
}

/// Index document used for a directory that has one at its top level.
pub const INDEX_DOCUMENT: &str = "index.html";

/// Adds one path to an open import: a regular file as a chunk tree, a directory as a
/// collection (see the [module docs](self)).
///
/// # Errors
/// As [`import_file`], and [`Error::Import`] for an empty directory or a name that is not
/// UTF-8, [`Error::Manifest`] if the manifest cannot be built.
pub fn import_path(import: &mut Import, path: &Path) -> Result<Reference, Error> {
    import_path_at(import, path, Level::None)
}

/// As [`import_path`], the files split at redundancy `level`.
///
/// # Errors
/// As [`import_path`].
pub fn import_path_at(import: &mut Import, path: &Path, level: Level) -> Result<Reference, Error> {
    let file_err = |source| Error::File {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(file_err)?;
    if meta.is_dir() {
        return import_dir_at(import, path, level);
    }
    if !meta.is_file() {
        return Err(Error::Import {
            path: path.to_path_buf(),
            reason: "not a regular file",
        });
    }
    let file = File::open(path).map_err(file_err)?;
    split_into_at(import, file, level).map_err(|e| match e {
        Error::Io(source) => Error::File {
            path: path.to_path_buf(),
            source,
        },
        e => e,
    })
}

/// Adds a directory to an open import as a collection; returns the manifest's reference.
///
/// # Errors
/// As [`import_path`].
pub fn import_dir(import: &mut Import, dir: &Path) -> Result<Reference, Error> {
    import_dir_at(import, dir, Level::None)
}

/// As [`import_dir`], the files split at redundancy `level`.
///
/// # Errors
/// As [`import_path`].
pub fn import_dir_at(import: &mut Import, dir: &Path, level: Level) -> Result<Reference, Error> {
    let mut files = Vec::new();
    collect_files(dir, "", &mut files)?;
    if files.is_empty() {
        return Err(Error::Import {
            path: dir.to_path_buf(),
            reason: "no regular file in the directory (Bee refuses an empty collection)",
        });
    }
    files.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut refs = Vec::with_capacity(files.len());
    for (rel, abs) in &files {
        let file = File::open(abs).map_err(|source| Error::File {
            path: abs.clone(),
            source,
        })?;
        let reference = split_into_at(import, file, level).map_err(|e| match e {
            Error::Io(source) => Error::File {
                path: abs.clone(),
                source,
            },
            e => e,
        })?;
        tracing::debug!(path = %rel, %reference, "file of a collection");
        refs.push(reference);
    }
    let index = dir.join(INDEX_DOCUMENT).is_file().then_some(INDEX_DOCUMENT);
    let names: Vec<&str> = files.iter().map(|(rel, _)| rel.as_str()).collect();
    save_collection(import, &names, &refs, index, dir, level)
}

/// Imports an in-memory collection in one transaction: `(path, content)` pairs become the
/// collection [`import_dir`] would make of a directory holding those files (so
/// `index.html`, when one of the paths, is the index document). Returns the manifest's
/// reference and each file's reference, in the order given.
///
/// # Errors
/// [`Error::Import`] for an empty list, [`Error::Manifest`] (a path Bee's writer refuses),
/// [`Error::Db`] or [`Error::File`] if the store fails.
pub fn import_collection(
    store: &Store,
    files: &[(&str, &[u8])],
) -> Result<(Reference, Vec<Reference>), Error> {
    import_collection_at(store, files, Level::None)
}

/// As [`import_collection`], files and manifest nodes split at redundancy `level`.
///
/// # Errors
/// As [`import_collection`].
pub fn import_collection_at(
    store: &Store,
    files: &[(&str, &[u8])],
    level: Level,
) -> Result<(Reference, Vec<Reference>), Error> {
    let here = Path::new("<memory>");
    if files.is_empty() {
        return Err(Error::Import {
            path: here.to_path_buf(),
            reason: "no file in the collection (Bee refuses an empty collection)",
        });
    }
    let mut import = store.begin_import()?;
    let mut refs = Vec::with_capacity(files.len());
    for (_, content) in files {
        refs.push(split_into_at(&mut import, *content, level)?);
    }
    let names: Vec<&str> = files.iter().map(|(name, _)| *name).collect();
    let index = names.contains(&INDEX_DOCUMENT).then_some(INDEX_DOCUMENT);
    let root = save_collection(&mut import, &names, &refs, index, here, level)?;
    import.commit()?;
    Ok((root, refs))
}

/// Builds and stores the collection manifest of files already in `import`, each node split
/// at `level`.
fn save_collection(
    import: &mut Import,
    names: &[&str],
    refs: &[Reference],
    index: Option<&str>,
    path: &Path,
    level: Level,
) -> Result<Reference, Error> {
    let entries: Vec<(&str, Reference, &str)> = names
        .iter()
        .zip(refs)
        .map(|(name, r)| (*name, *r, content_type_for(name)))
        .collect();
    let mut sink_error = None;
    let store_node = |bytes: &[u8]| {
        split_into_at(import, bytes, level)
            .map(|r| *r.address())
            .map_err(|e| {
                sink_error = Some(e);
                swarm_core::Error::Bmt(swarm_bmt::Error::Sink)
            })
    };
    let built = build_collection_with(&entries, index, store_node);
    if let Some(e) = sink_error {
        return Err(e);
    }
    built.map_err(|source| Error::Manifest {
        path: path.to_path_buf(),
        source,
    })
}

/// Appends `(relative path, path)` of every regular file below `dir` (symbolic links and
/// special files skipped).
fn collect_files(dir: &Path, prefix: &str, out: &mut Vec<(String, PathBuf)>) -> Result<(), Error> {
    let read = |source| Error::File {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(read)? {
        let entry = entry.map_err(read)?;
        let path = entry.path();
        let Ok(name) = entry.file_name().into_string() else {
            return Err(Error::Import {
                path,
                reason: "file name is not UTF-8",
            });
        };
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let kind = entry.file_type().map_err(|source| Error::File {
            path: path.clone(),
            source,
        })?;
        if kind.is_dir() {
            collect_files(&path, &rel, out)?;
        } else if kind.is_file() {
            out.push((rel, path));
        } else {
            tracing::warn!(path = %path.display(), "skipping a symbolic link or special file");
        }
    }
    Ok(())
}

/// Streams `reader` through the splitter into `import`; returns the file's reference.
///
/// # Errors
/// [`Error::Io`] if reading fails, [`Error::Split`] past [`swarm_bmt::MAX_FILE_LEN`],
/// [`Error::Db`] if the store fails.
pub fn split_into(import: &mut Import, reader: impl Read) -> Result<Reference, Error> {
    split_into_at(import, reader, Level::None)
}

/// As [`split_into`], at redundancy `level` (level 0 is [`split_into`]'s tree).
///
/// # Errors
/// As [`split_into`].
pub fn split_into_at(
    import: &mut Import,
    mut reader: impl Read,
    level: Level,
) -> Result<Reference, Error> {
    if level != Level::None {
        return split_redundant(import, reader, level);
    }
    let mut sink_error = None;
    let root = {
        let sink = |address: &ChunkAddress, chunk: &[u8]| {
            import.put(address, chunk).map_err(|e| {
                sink_error = Some(e);
                swarm_bmt::Error::Sink
            })
        };
        let mut splitter = Box::new(Splitter::with_sink(sink));
        let mut buf = vec![0u8; READ_BUF_LEN];
        let result = loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => break Err(Error::Io(e)),
            };
            if let Err(e) = splitter.write(buf.get(..n).unwrap_or_default()) {
                break Err(Error::Split(e));
            }
        };
        result.and_then(|()| splitter.finish().map_err(Error::Split))
    };
    match (root, sink_error) {
        (_, Some(e)) => Err(e),
        (Ok(root), None) => Ok(Reference::plain(root)),
        (Err(e), None) => Err(e),
    }
}

/// [`split_into_at`] for a level other than 0.
fn split_redundant(
    import: &mut Import,
    mut reader: impl Read,
    level: Level,
) -> Result<Reference, Error> {
    let mut sink_error = None;
    let root = {
        let sink = |address: &ChunkAddress, chunk: &[u8]| {
            import.put(address, chunk).map_err(|e| {
                sink_error = Some(e);
                swarm_bmt::Error::Sink
            })
        };
        let mut splitter = RedundantSplitter::new(level, sink);
        let mut buf = vec![0u8; READ_BUF_LEN];
        let split = |e: swarm_core::Error| match e {
            swarm_core::Error::Bmt(e) => Error::Split(e),
            _ => Error::Split(swarm_bmt::Error::Sink),
        };
        let result = loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => break Err(Error::Io(e)),
            };
            if let Err(e) = splitter.write(buf.get(..n).unwrap_or_default()) {
                break Err(split(e));
            }
        };
        result.and_then(|()| splitter.finish().map_err(split))
    };
    match (root, sink_error) {
        (_, Some(e)) => Err(e),
        (Ok(root), None) => Ok(Reference::plain(root)),
        (Err(e), None) => Err(e),
    }
}
