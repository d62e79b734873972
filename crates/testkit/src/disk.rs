//! A small filesystem that tests can fill: a tmpfs mounted on a fresh directory.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Set (as in CI) to make a test fail, not skip, where a tmpfs cannot be mounted.
pub const REQUIRE_MOUNT_ENV: &str = "AUTOINTEL_TEST_REQUIRE_MOUNT";

/// A tmpfs mounted on a fresh temporary directory, unmounted on drop.
#[derive(Debug)]
pub struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// Mounts a tmpfs of `size` (`mount -o size=…`, e.g. `"16m"`); `None` after a
    /// `skipping:` line where mounting is not permitted (not root), unless
    /// [`REQUIRE_MOUNT_ENV`] is set, where that panics.
    pub fn mount(size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().expect("temporary directory");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status();
        match status {
            Ok(s) if s.success() => Some(Self { dir }),
            other => {
                assert!(
                    std::env::var_os(REQUIRE_MOUNT_ENV).is_none(),
                    "cannot mount a tmpfs ({other:?}) but {REQUIRE_MOUNT_ENV} is set"
                );
                let _ = writeln!(
                    std::io::stderr(),
                    "skipping: cannot mount a tmpfs here ({other:?})"
                );
                None
            }
        }
    }

    /// The mount point.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file until the filesystem is full; returns its path (remove it to free
    /// the space again).
    pub fn fill(&self) -> PathBuf {
        let path = self.path().join("filler");
        let mut file = std::fs::File::create(&path).expect("filler file");
        let chunk = vec![0u8; 4096];
        while file.write_all(&chunk).is_ok() {}
        // the last partial page, byte by byte
        while file.write_all(&[0]).is_ok() {}
        let _ = file.sync_all();
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}
