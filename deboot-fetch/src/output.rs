//! Files that appear whole or not at all: the output (`-o`) and the min-index file.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::Error;

/// A file written under a temporary name in its destination directory and renamed into place
/// by [`AtomicFile::commit`] after an `fsync`; dropped uncommitted, the temporary file is
/// removed and the destination is untouched.
#[derive(Debug)]
pub struct AtomicFile {
    path: PathBuf,
    temp: PathBuf,
    file: Option<BufWriter<File>>,
}

impl AtomicFile {
    /// Creates the temporary file `.<name>.<pid>[.<n>].part` beside `path`.
    ///
    /// # Errors
    /// [`Error::Usage`] if `path` names a directory or has no file name, [`Error::Io`] if the
    /// temporary file cannot be created.
    pub fn create(path: &Path) -> Result<Self, Error> {
        let name = path
            .file_name()
            .ok_or_else(|| Error::Usage(format!("-o {}: not a file name", path.display())))?;
        if path.is_dir() {
            return Err(Error::Usage(format!(
                "-o {}: is a directory",
                path.display()
            )));
        }
        let dir = dir_of(path);
        let mut last = None;
        for n in 0..100u32 {
            let mut temp_name = std::ffi::OsString::from(".");
            temp_name.push(name);
            temp_name.push(format!(".{}", std::process::id()));
            if n > 0 {
                temp_name.push(format!(".{n}"));
            }
            temp_name.push(".part");
            let temp = dir.join(temp_name);
            match OpenOptions::new().write(true).create_new(true).open(&temp) {
                Ok(f) => {
                    return Ok(Self {
                        path: path.to_path_buf(),
                        temp,
                        file: Some(BufWriter::with_capacity(256 * 1024, f)),
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(Error::io("creating a temporary file in", dir, e)),
            }
        }
        let e = last.unwrap_or_else(|| io::Error::from(io::ErrorKind::AlreadyExists));
        Err(Error::io("creating a temporary file in", dir, e))
    }

    /// The temporary file's path.
    #[must_use]
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// Appends `bytes`.
    ///
    /// # Errors
    /// The write's I/O error.
    pub fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match &mut self.file {
            Some(f) => f.write_all(bytes),
            None => Err(io::Error::from(io::ErrorKind::BrokenPipe)),
        }
    }

    /// Flushes, `fsync`s, renames the temporary file to the destination and `fsync`s the
    /// directory, so the destination holds either its old content or all of the new.
    ///
    /// # Errors
    /// [`Error::Io`]; the temporary file is removed then.
    pub fn commit(mut self) -> Result<(), Error> {
        let file = self
            .file
            .take()
            .ok_or_else(|| Error::io("writing", &self.path, io::ErrorKind::BrokenPipe.into()))?;
        let file = file
            .into_inner()
            .map_err(|e| Error::io("writing", &self.temp, e.into_error()))?;
        file.sync_all()
            .map_err(|e| Error::io("syncing", &self.temp, e))?;
        drop(file);
        fs::rename(&self.temp, &self.path).map_err(|e| Error::io("renaming to", &self.path, e))?;
        // The rename is durable once the directory is; some file systems refuse to sync one.
        if let Ok(d) = File::open(dir_of(&self.path)) {
            d.sync_all().ok();
        }
        self.temp = PathBuf::new();
        Ok(())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        self.file = None;
        if !self.temp.as_os_str().is_empty() {
            fs::remove_file(&self.temp).ok();
        }
    }
}

/// Reads the anti-rollback minimum from `path`: one decimal number (surrounding white space
/// allowed). A missing file is 0; anything else unreadable is an error, never 0.
///
/// # Errors
/// [`Error::Io`] if the file cannot be read or holds anything but a decimal `u64`.
pub fn read_min_index(path: &Path) -> Result<u64, Error> {
    match fs::read_to_string(path) {
        Ok(s) => s.trim().parse::<u64>().map_err(|_| {
            Error::io(
                "reading the min-index file",
                path,
                io::Error::new(io::ErrorKind::InvalidData, "not a decimal feed index"),
            )
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(Error::io("reading the min-index file", path, e)),
    }
}

/// Raises the anti-rollback minimum in `path` to `index` (atomically, as [`AtomicFile`]) if
/// it is above the value the file holds now; never lowers it. Returns whether it was raised.
///
/// # Errors
/// [`Error::Io`] as [`read_min_index`] and [`AtomicFile`].
pub fn raise_min_index(path: &Path, index: u64) -> Result<bool, Error> {
    if read_min_index(path)? >= index && path.exists() {
        return Ok(false);
    }
    let mut f = AtomicFile::create(path)?;
    f.write_all(format!("{index}\n").as_bytes())
        .map_err(|e| Error::io("writing", f.temp_path().to_path_buf(), e))?;
    f.commit()?;
    Ok(true)
}

fn dir_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("deboot-fetch-{name}-{}", std::process::id()));
        fs::remove_dir_all(&d).ok();
        fs::create_dir_all(&d).unwrap();
        d
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn uncommitted_file_leaves_nothing_and_commit_replaces_whole() {
        let d = temp_dir("atomic");
        let out = d.join("out.bin");
        let mut f = AtomicFile::create(&out).unwrap();
        f.write_all(b"partial").unwrap();
        assert_eq!(entries(&d).len(), 1);
        drop(f);
        assert!(entries(&d).is_empty());

        fs::write(&out, b"old").unwrap();
        let mut f = AtomicFile::create(&out).unwrap();
        f.write_all(b"new content").unwrap();
        assert_eq!(fs::read(&out).unwrap(), b"old");
        f.commit().unwrap();
        assert_eq!(fs::read(&out).unwrap(), b"new content");
        assert_eq!(entries(&d), ["out.bin"]);
        assert!(matches!(AtomicFile::create(&d), Err(Error::Usage(_))));
        fs::remove_dir_all(&d).ok();
    }

    #[test]
    fn min_index_is_read_strictly_and_only_raised() {
        let d = temp_dir("minidx");
        let p = d.join("min-index");
        assert_eq!(read_min_index(&p).unwrap(), 0);
        assert!(raise_min_index(&p, 0).unwrap(), "a missing file is created");
        assert_eq!(fs::read_to_string(&p).unwrap(), "0\n");
        assert!(raise_min_index(&p, 7).unwrap());
        assert_eq!(read_min_index(&p).unwrap(), 7);
        assert!(!raise_min_index(&p, 3).unwrap());
        assert!(!raise_min_index(&p, 7).unwrap());
        assert_eq!(fs::read_to_string(&p).unwrap(), "7\n");
        fs::write(&p, " 12 \n").unwrap();
        assert_eq!(read_min_index(&p).unwrap(), 12);
        for bad in ["", "x", "-1", "1.5", "18446744073709551616"] {
            fs::write(&p, bad).unwrap();
            assert!(
                matches!(read_min_index(&p), Err(Error::Io { .. })),
                "{bad:?}"
            );
            assert!(raise_min_index(&p, 99).is_err(), "{bad:?}");
        }
        assert_eq!(entries(&d), ["min-index"]);
        fs::remove_dir_all(&d).ok();
    }
}
