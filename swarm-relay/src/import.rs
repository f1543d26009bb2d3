//! Adding content to the [`Store`]: files now, directories (collections) once the manifest
//! writer exists.
//!
//! A file becomes the chunk tree of Bee's `POST /bytes` with `Swarm-Redundancy-Level: 0`
//! (built by [`swarm_bmt::Splitter`]), so its reference is the one Bee returns for the same
//! bytes. Every call writes all its chunks in one store transaction ([`crate::store`], crash
//! safety) and returns references only after the commit.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use swarm_bmt::{ChunkAddress, Reference, Splitter};

use crate::store::{Import, Store};
use crate::Error;

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
    let mut import = store.begin_import()?;
    let mut refs = Vec::with_capacity(paths.len());
    for path in paths {
        refs.push(import_path(&mut import, path)?);
    }
    import.commit()?;
    Ok(refs)
}

/// Imports `data` as a file in one transaction; returns its reference.
///
/// # Errors
/// [`Error::Db`] if the store fails.
pub fn import_bytes(store: &Store, data: &[u8]) -> Result<Reference, Error> {
    let mut import = store.begin_import()?;
    let reference = split_into(&mut import, data)?;
    import.commit()?;
    Ok(reference)
}

/// Adds one path to an open import: a regular file as a chunk tree.
///
/// # Errors
/// As [`import_file`].
pub fn import_path(import: &mut Import, path: &Path) -> Result<Reference, Error> {
    let file_err = |source| Error::File {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(file_err)?;
    if meta.is_dir() {
        return Err(Error::Import {
            path: path.to_path_buf(),
            reason: "directories (collections) need the manifest writer, not available yet",
        });
    }
    if !meta.is_file() {
        return Err(Error::Import {
            path: path.to_path_buf(),
            reason: "not a regular file",
        });
    }
    let file = File::open(path).map_err(file_err)?;
    split_into(import, file).map_err(|e| match e {
        Error::Io(source) => Error::File {
            path: path.to_path_buf(),
            source,
        },
        e => e,
    })
}

/// Streams `reader` through the splitter into `import`; returns the file's reference.
///
/// # Errors
/// [`Error::Io`] if reading fails, [`Error::Split`] past [`swarm_bmt::MAX_FILE_LEN`],
/// [`Error::Db`] if the store fails.
pub fn split_into(import: &mut Import, mut reader: impl Read) -> Result<Reference, Error> {
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
