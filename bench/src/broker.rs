//! A broker of the bench's own for each run: a fresh Tansu (memory storage) on free ports, so no
//! run reads or writes what an earlier test or run left behind, optionally behind a proxy (plain
//! TCP, or TLS with the services' test CA) so TLS can be measured against the same hop without it.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::free_port;

/// What the clients connect to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Front {
    /// Tansu itself.
    Direct,
    /// socat relaying plain TCP, as the TLS front does without the TLS.
    Proxy,
    /// socat terminating TLS with the services' server certificate (`SLUICE_TLS_DIR`).
    Tls,
}

/// A running fresh broker; stopped on drop.
pub struct Broker {
    tansu: Child,
    proxy: Option<Child>,
    /// `bootstrap.servers` for clients.
    pub servers: String,
}

pub fn tls_dir() -> String {
    std::env::var("SLUICE_TLS_DIR").unwrap_or_else(|_| "/var/tmp/sluice/tls".into())
}

impl Broker {
    pub fn fresh(front: Front) -> Result<Broker> {
        let tansu_bin = std::env::var("TANSU")
            .unwrap_or_else(|_| format!("{}/.cache/sluice/tools/tansu", std::env::var("HOME").unwrap_or_default()));
        let listen = format!("127.0.0.1:{}", free_port()?);
        let servers = if front == Front::Direct { listen.clone() } else { format!("127.0.0.1:{}", free_port()?) };
        let tansu = Command::new(&tansu_bin)
            .args(["broker", "--listener-url", &format!("tcp://{listen}")])
            .args(["--advertised-listener-url", &format!("tcp://{servers}")])
            .args(["--storage-engine", "memory://tansu/"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("{tansu_bin} (scripts/services up installs it)"))?;
        let mut broker = Broker { tansu, proxy: None, servers: servers.clone() };
        wait_listening(&listen)?;
        if front != Front::Direct {
            // as the services' TLS listener: TCP_NODELAY both ways and whole requests relayed
            let tls = tls_dir();
            let accept = match front {
                Front::Tls => format!(
                    "OPENSSL-LISTEN:{},bind=127.0.0.1,reuseaddr,fork,nodelay,cert={tls}/server.pem,key={tls}/server.key,verify=0",
                    port_of(&servers)
                ),
                _ => format!("TCP-LISTEN:{},bind=127.0.0.1,reuseaddr,fork,nodelay", port_of(&servers)),
            };
            let proxy = Command::new("socat")
                .args(["-b", "65536", &accept, &format!("TCP:{listen},nodelay")])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .context("socat (scripts/services up installs it)")?;
            broker.proxy = Some(proxy);
            wait_listening(&servers)?;
        }
        Ok(broker)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        for child in self.proxy.iter_mut().chain(std::iter::once(&mut self.tansu)) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn port_of(addr: &str) -> &str {
    addr.rsplit(':').next().unwrap_or(addr)
}

fn wait_listening(addr: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(addr).is_err() {
        if Instant::now() > deadline {
            bail!("nothing listens on {addr} 20 s after start");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}
