//! A PostgreSQL 15 of a test's own (trust auth, as `scripts/services` sets it up), on a free
//! port, that the test stops cleanly, kills and starts again without disturbing the shared one.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::free_port;

pub struct PrivatePostgres {
    dir: tempfile::TempDir,
    pub port: u16,
    running: bool,
}

fn pg_bin(tool: &str) -> PathBuf {
    let found = std::fs::read_dir("/usr/lib/postgresql")
        .ok()
        .and_then(|d| d.filter_map(Result::ok).map(|e| e.path().join("bin").join(tool)).find(|p| p.exists()));
    found.unwrap_or_else(|| panic!("{tool} not found under /usr/lib/postgresql; run scripts/services up"))
}

/// Runs a PostgreSQL tool as the `postgres` user (the server refuses to run as root).
fn as_postgres(tool: &str, args: &[&str]) -> std::process::Output {
    Command::new("runuser").args(["-u", "postgres", "--"]).arg(pg_bin(tool)).args(args).output().unwrap()
}

impl PrivatePostgres {
    pub fn start() -> PrivatePostgres {
        let dir = tempfile::tempdir().unwrap();
        Command::new("chown").args(["-R", "postgres:postgres"]).arg(dir.path()).status().unwrap();
        let data = dir.path().join("data");
        let out = as_postgres(
            "initdb",
            &["-D", &data.display().to_string(), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"],
        );
        assert!(out.status.success(), "initdb: {}", String::from_utf8_lossy(&out.stderr));
        let mut pg = PrivatePostgres { dir, port: free_port(), running: false };
        pg.up();
        pg
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    /// Starts the server on the existing data directory and waits until it answers.
    /// `synchronous_commit` stays on: this server is killed with -9, and with it off a commit
    /// that readers already saw can be lost in the crash (the source then rightly holds a row the
    /// server no longer has). `fsync=off` is safe here: a killed process leaves the kernel's
    /// page cache, and with it every written WAL page, intact.
    pub fn up(&mut self) {
        let options =
            format!("-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off", self.port, self.dir.path().display());
        let log = self.dir.path().join("server.log").display().to_string();
        let out = as_postgres("pg_ctl", &["-D", &self.data(), "-l", &log, "-w", "-t", "60", "-o", &options, "start"]);
        assert!(out.status.success(), "pg_ctl start: {}\n{}", String::from_utf8_lossy(&out.stderr), self.log());
        self.running = true;
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.try_sql("SELECT 1").is_err() {
            assert!(Instant::now() < deadline, "the private PostgreSQL does not answer: {}", self.log());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A clean, fast shutdown (`pg_ctl stop -m fast`: sessions are ended, then the server stops).
    pub fn shutdown(&mut self) {
        let out = as_postgres("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
        assert!(out.status.success(), "pg_ctl stop: {}", String::from_utf8_lossy(&out.stderr));
        self.running = false;
    }

    /// `kill -9` of the postmaster and every backend it started.
    pub fn kill(&mut self) {
        let pid_file = Path::new(&self.data()).join("postmaster.pid");
        let pid: i32 = std::fs::read_to_string(pid_file).unwrap().lines().next().unwrap().trim().parse().unwrap();
        let mut pids = vec![pid];
        for entry in std::fs::read_dir("/proc").unwrap().filter_map(Result::ok) {
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            // pid (comm) state ppid …
            let ppid = stat.rsplit(')').next().and_then(|rest| rest.split_whitespace().nth(1));
            if ppid == Some(&pid.to_string()) {
                pids.extend(entry.file_name().to_str().and_then(|p| p.parse::<i32>().ok()));
            }
        }
        Command::new("kill").arg("-9").args(pids.iter().map(|p| p.to_string())).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        self.running = false;
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    pub fn try_sql(&self, sql: &str) -> Result<String, String> {
        try_sql(self.port, sql)
    }

    pub fn sql(&self, sql: &str) -> String {
        self.try_sql(sql).unwrap_or_else(|e| panic!("psql on {}: {e}\n{sql}", self.port))
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        if self.running {
            let _ = as_postgres("pg_ctl", &["-D", &self.data(), "-m", "immediate", "stop"]);
        }
    }
}

/// Runs SQL as postgres on the server at `port` with `psql`; its error text on failure.
pub fn try_sql(port: u16, sql: &str) -> Result<String, String> {
    let out = Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-At", "-v", "ON_ERROR_STOP=1"])
        .args(["-p", &port.to_string(), "-c", sql])
        .env("PGCONNECT_TIMEOUT", "2")
        .output()
        .expect("psql (run scripts/services up)");
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}
