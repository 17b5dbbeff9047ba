//! The S3 side of the S3 sink tests: a client for the SeaweedFS of `scripts/services`
//! (`S3_ENDPOINT`, `testkey`/`testsecret`), and a TCP proxy in front of it that a test can cut
//! to simulate an outage, or make answer `503 SlowDown`, `500 InternalError` or drop connections
//! mid-request, without touching the server the other tests share.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::Client;

pub fn endpoint() -> String {
    std::env::var("S3_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:8333".into())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

pub struct Bucket {
    pub name: String,
    client: Client,
}

impl Bucket {
    /// A new bucket with a unique name; fails with a hint when SeaweedFS is not there.
    pub fn create(prefix: &str) -> Bucket {
        let addr = endpoint();
        let host = addr.trim_start_matches("http://").trim_end_matches('/');
        let ok = std::net::ToSocketAddrs::to_socket_addrs(host)
            .map(|mut a| a.any(|sa| TcpStream::connect_timeout(&sa, Duration::from_secs(2)).is_ok()))
            .unwrap_or(false);
        assert!(ok, "S3 (SeaweedFS) not reachable at {addr}; run scripts/services up or set S3_ENDPOINT");
        let conf = aws_sdk_s3::config::Builder::new()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("testkey", "testsecret", None, None, "static"))
            .endpoint_url(addr)
            .force_path_style(true)
            .build();
        let client = Client::from_conf(conf);
        let name = crate::harness::unique(prefix).to_lowercase();
        runtime().block_on(client.create_bucket().bucket(&name).send()).expect("create the test bucket");
        Bucket { name, client }
    }

    /// Every key under `prefix`, sorted.
    pub fn keys(&self, prefix: &str) -> Vec<String> {
        let rt = runtime();
        let mut keys = Vec::new();
        let mut token = None;
        loop {
            let out = rt
                .block_on(
                    self.client
                        .list_objects_v2()
                        .bucket(&self.name)
                        .prefix(prefix)
                        .set_continuation_token(token.clone())
                        .send(),
                )
                .expect("list objects");
            keys.extend(out.contents().iter().filter_map(|o| o.key().map(str::to_owned)));
            token = out.next_continuation_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        keys.sort();
        keys
    }

    pub fn get(&self, key: &str) -> Vec<u8> {
        let rt = runtime();
        let out = rt.block_on(self.client.get_object().bucket(&self.name).key(key).send()).expect("get object");
        rt.block_on(out.body.collect()).unwrap().into_bytes().to_vec()
    }

    /// Multipart uploads started and not finished.
    pub fn unfinished_uploads(&self) -> Vec<String> {
        let out =
            runtime().block_on(self.client.list_multipart_uploads().bucket(&self.name).send()).expect("list uploads");
        out.uploads().iter().filter_map(|u| u.key().map(str::to_owned)).collect()
    }

    /// Deletes every object, unfinished upload and the bucket (SeaweedFS frees its volumes).
    fn delete(&self) {
        let rt = runtime();
        for key in self.keys("") {
            let _ = rt.block_on(self.client.delete_object().bucket(&self.name).key(&key).send());
        }
        if let Ok(out) = rt.block_on(self.client.list_multipart_uploads().bucket(&self.name).send()) {
            for u in out.uploads() {
                let _ = rt.block_on(
                    self.client
                        .abort_multipart_upload()
                        .bucket(&self.name)
                        .key(u.key().unwrap_or_default())
                        .upload_id(u.upload_id().unwrap_or_default())
                        .send(),
                );
            }
        }
        let _ = rt.block_on(self.client.delete_bucket().bucket(&self.name).send());
    }

    /// The connector lines that point a sink at this bucket.
    pub fn props(&self, store_url: &str) -> String {
        format!(
            "s3.bucket.name={}\ns3.region=us-east-1\nstore.url={store_url}\naws.access.key.id=testkey\naws.secret.access.key=testsecret\n",
            self.name
        )
    }
}

impl Drop for Bucket {
    fn drop(&mut self) {
        self.delete();
    }
}

/// Forwards 127.0.0.1:`port` to the S3 server until cut: then open connections are shut and
/// new ones are refused (the listener is closed), as when the server is down.
pub struct Proxy {
    pub port: u16,
    down: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
    /// With `n` > 0, of every `n` new connections one is answered 503 SlowDown, one 500
    /// InternalError and one cut after its first bytes; the rest pass.
    faults_every: Arc<AtomicUsize>,
    /// Connections accepted, and faults injected.
    pub accepted: Arc<AtomicUsize>,
    pub injected: Arc<AtomicUsize>,
}

/// What the proxy does with a new connection.
enum Fault {
    Pass,
    Status(&'static str, &'static str),
    Cut,
}

/// Reads the request head, answers with an S3 error document, and closes.
fn answer_error(mut client: TcpStream, status: &str, code: &str) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && client.read(&mut byte).is_ok_and(|n| n == 1) {
        head.push(byte[0]);
    }
    let body = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>injected by the test proxy</Message></Error>");
    let _ = write!(
        client,
        "HTTP/1.1 {status}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = client.shutdown(std::net::Shutdown::Both);
}

impl Proxy {
    pub fn start() -> Proxy {
        let port = crate::harness::free_port();
        let proxy = Proxy {
            port,
            down: Arc::new(AtomicBool::new(false)),
            conns: Arc::new(Mutex::new(Vec::new())),
            faults_every: Arc::new(AtomicUsize::new(0)),
            accepted: Arc::new(AtomicUsize::new(0)),
            injected: Arc::new(AtomicUsize::new(0)),
        };
        proxy.listen();
        proxy
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn listen(&self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).expect("bind the proxy port");
        listener.set_nonblocking(true).unwrap();
        let (down, conns) = (self.down.clone(), self.conns.clone());
        let (every, accepted, injected) = (self.faults_every.clone(), self.accepted.clone(), self.injected.clone());
        let target = endpoint().trim_start_matches("http://").trim_end_matches('/').to_owned();
        std::thread::spawn(move || loop {
            if down.load(Ordering::SeqCst) {
                return; // the listener is dropped: connections are refused
            }
            match listener.accept() {
                Ok((client, _)) => {
                    client.set_nonblocking(false).unwrap();
                    let n = accepted.fetch_add(1, Ordering::SeqCst);
                    let fault = match (every.load(Ordering::SeqCst), n) {
                        (0, _) => Fault::Pass,
                        (e, n) if n % e == 0 => Fault::Status("503 Slow Down", "SlowDown"),
                        (e, n) if n % e == 1 => Fault::Status("500 Internal Server Error", "InternalError"),
                        (e, n) if n % e == 2 => Fault::Cut,
                        _ => Fault::Pass,
                    };
                    match fault {
                        Fault::Pass => {}
                        Fault::Status(status, code) => {
                            injected.fetch_add(1, Ordering::SeqCst);
                            std::thread::spawn(move || answer_error(client, status, code));
                            continue;
                        }
                        Fault::Cut => {
                            injected.fetch_add(1, Ordering::SeqCst);
                            // take a little of the request, then drop the connection
                            let mut c = client;
                            std::thread::spawn(move || {
                                let mut buf = [0u8; 512];
                                let _ = c.read(&mut buf);
                                let _ = c.shutdown(std::net::Shutdown::Both);
                            });
                            continue;
                        }
                    }
                    let Ok(server) = TcpStream::connect(&target) else { continue };
                    let mut c = conns.lock().unwrap();
                    c.push(client.try_clone().unwrap());
                    c.push(server.try_clone().unwrap());
                    for (mut from, mut to) in
                        [(client.try_clone().unwrap(), server.try_clone().unwrap()), (server, client)]
                    {
                        std::thread::spawn(move || {
                            let _ = std::io::copy(&mut from, &mut to);
                            let _ = to.shutdown(std::net::Shutdown::Both);
                        });
                    }
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        });
    }

    pub fn cut(&self) {
        self.down.store(true, Ordering::SeqCst);
        for c in self.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(std::net::Shutdown::Both);
        }
        std::thread::sleep(Duration::from_millis(50));
    }

    /// Faults on one in `every` connections each (see `faults_every`); 0 stops them.
    pub fn inject_faults(&self, every: usize) {
        self.faults_every.store(every, Ordering::SeqCst);
    }

    pub fn restore(&self) {
        self.down.store(false, Ordering::SeqCst);
        self.listen();
    }
}
