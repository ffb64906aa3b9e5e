//! Files only hallq's own user may read: keys, secrets, certificates' private halves, pins. Each is
//! made with mode 0600 from the start (never opened wider and narrowed after), and synced before it
//! counts as written; one that others may read is refused when read, as it may have been copied.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Writes `bytes` to a new file at `path`; an existing file is left as it is and refused.
pub fn create_private_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Puts `bytes` at `path` in place of what was there: written aside and renamed, so a crash leaves
/// the old content or the new, never half of one.
pub fn replace_private_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut aside = path.as_os_str().to_owned();
    aside.push(".new");
    let aside = std::path::PathBuf::from(aside);
    let _ = std::fs::remove_file(&aside);
    create_private_file(&aside, bytes)?;
    std::fs::rename(&aside, path)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn a_private_file_is_the_owners_alone_and_is_never_overwritten_by_create() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        create_private_file(&path, b"one").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = create_private_file(&path, b"two").unwrap_err();
        assert_eq!(again.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        replace_private_file(&path, b"three").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"three");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // A leftover from a crash between writing aside and renaming does not stop the next write.
        std::fs::write(dir.path().join("secret.new"), b"half").unwrap();
        replace_private_file(&path, b"four").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"four");
        assert!(!dir.path().join("secret.new").exists());
    }
}

/// Why a private file was not read.
#[derive(Debug)]
pub enum PrivateReadError {
    Unreadable(std::io::Error),
    /// Others may read it: `mode` is its permission bits.
    Exposed {
        mode: u32,
    },
}

/// The bytes of the file at `path`, wiped from memory when dropped; refused when its mode lets
/// anyone but its owner read it.
pub fn read_private_file(path: &Path) -> Result<zeroize::Zeroizing<Vec<u8>>, PrivateReadError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(PrivateReadError::Unreadable)?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(PrivateReadError::Exposed { mode: mode & 0o777 });
    }
    std::fs::read(path)
        .map(zeroize::Zeroizing::new)
        .map_err(PrivateReadError::Unreadable)
}
