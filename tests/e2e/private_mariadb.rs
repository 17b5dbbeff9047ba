//! A MariaDB of a test's own (binlog on, as `scripts/services` sets it up), on a free port, that
//! the test stops cleanly, kills and starts again without disturbing the shared one.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::free_port;

pub struct PrivateMariaDb {
    dir: tempfile::TempDir,
    pub port: u16,
    child: Option<Child>,
}

fn mariadbd() -> PathBuf {
    ["/usr/sbin/mariadbd", "/usr/bin/mariadbd"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("mariadbd not found; run scripts/services up (it installs mariadb-server)")
}

impl PrivateMariaDb {
    /// A new data directory, initialised, and the server started on it.
    pub fn start() -> PrivateMariaDb {
        let dir = tempfile::tempdir().unwrap();
        for d in ["data", "binlog", "run"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        // two installs at once collide on their temporary tables in /tmp
        static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _one_at_a_time = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
        let out = Command::new("mariadb-install-db")
            .args(["--no-defaults", "--user=root", "--auth-root-authentication-method=normal", "--skip-test-db"])
            .arg(format!("--datadir={}", dir.path().join("data").display()))
            .output()
            .expect("mariadb-install-db (run scripts/services up)");
        assert!(out.status.success(), "mariadb-install-db: {}", String::from_utf8_lossy(&out.stderr));
        let mut db = PrivateMariaDb { dir, port: free_port(), child: None };
        db.up();
        db
    }

    /// Starts the server on the existing data directory and waits until it answers.
    pub fn up(&mut self) {
        assert!(self.child.is_none(), "already running");
        let p = |s: &str| self.dir.path().join(s);
        let child = Command::new(mariadbd())
            .args(["--no-defaults", "--user=root", "--bind-address=127.0.0.1", "--skip-name-resolve"])
            .arg(format!("--datadir={}", p("data").display()))
            .arg(format!("--port={}", self.port))
            .arg(format!("--socket={}", p("run/mysqld.sock").display()))
            .arg(format!("--log-error={}", p("run/error.log").display()))
            .arg(format!("--log-bin={}", p("binlog/mariadb-bin").display()))
            .args([
                "--server-id=1",
                "--binlog-format=ROW",
                "--binlog-row-image=FULL",
                "--binlog-row-metadata=FULL",
                "--binlog-checksum=CRC32",
                "--log-bin-compress=OFF",
                "--innodb-buffer-pool-size=32M",
                "--innodb-log-file-size=16M",
                "--innodb-flush-log-at-trx-commit=2",
                "--sync-binlog=0",
                "--performance-schema=OFF",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.try_sql("SELECT 1").is_err() {
            assert!(Instant::now() < deadline, "the private MariaDB did not start: {}", self.error_log());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A clean shutdown (SIGTERM: the server closes its connections and ends replication streams).
    pub fn shutdown(&mut self) {
        let mut child = self.child.take().expect("not running");
        Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "the private MariaDB did not shut down");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `kill -9` of the server.
    pub fn kill(&mut self) {
        let mut child = self.child.take().expect("not running");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("run/error.log")).unwrap_or_default()
    }

    /// Runs SQL as root; the client's error text when it fails (the server may be down).
    pub fn try_sql(&self, sql: &str) -> Result<String, String> {
        try_sql(self.port, sql)
    }

    pub fn sql(&self, sql: &str) -> String {
        self.try_sql(sql).unwrap_or_else(|e| panic!("mariadb on {}: {e}\n{sql}", self.port))
    }
}

impl Drop for PrivateMariaDb {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Runs SQL as root on the server at `port` with the `mariadb` client; its error text on failure.
pub fn try_sql(port: u16, sql: &str) -> Result<String, String> {
    let out = Command::new("mariadb")
        .args(["-h127.0.0.1", "-uroot", "--batch", "-N", "--connect-timeout=2"])
        .arg(format!("-P{port}"))
        .args(["-e", sql])
        .output()
        .expect("the mariadb client (run scripts/services up)");
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}
