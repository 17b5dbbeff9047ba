//! The web console at `/ui/`, driven in Debian's headless Chromium through chromedriver
//! (installed by `scripts/services`): create through the form with a validation error, run,
//! pause, a failing task's trace, stop → reset offsets → resume replaying the file, delete; no
//! secret in anything the page fetched. Each page is saved as a PNG under the target dir's
//! `tmp/console/`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

use crate::harness::*;

const SECRET: &str = "console-s3cret-9f2e";

/// chromedriver on a free port, killed when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn chromedriver() -> Driver {
    let bin = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    assert!(
        Path::new(&bin).exists() && Path::new(&chromium()).exists(),
        "{bin} or {} missing: run scripts/services up (it installs Debian's chromium and chromium-driver)",
        chromium()
    );
    let port = free_port();
    let child = Command::new(&bin)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    wait_until(Duration::from_secs(20), "chromedriver listening", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    Driver { child, port }
}

fn chromium() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

async fn browser(driver: &Driver) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium(),
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,800", "--lang=en-GB"],
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a browser session")
}

fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("console");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    std::fs::write(screenshots().join(format!("{name}.png")), png).unwrap();
}

/// Polls the page until `probe` gives `Some`, or fails naming `what` (with a screenshot).
async fn eventually<T, F, Fut>(c: &Client, what: &str, timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        if Instant::now() >= deadline {
            screenshot(c, &format!("failed-{}", what.replace(' ', "-"))).await;
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn text_of(c: &Client, css: &str) -> Option<String> {
    let el = c.find(Locator::Css(css)).await.ok()?;
    el.text().await.ok()
}

async fn click(c: &Client, css: &str) {
    let el = c.wait().at_most(Duration::from_secs(20)).for_element(Locator::Css(css)).await.unwrap();
    el.click().await.unwrap();
}

async fn type_into(c: &Client, css: &str, text: &str) {
    let el = c.wait().at_most(Duration::from_secs(20)).for_element(Locator::Css(css)).await.unwrap();
    el.clear().await.unwrap();
    el.send_keys(text).await.unwrap();
}

/// Confirms the console's dialog.
async fn confirm(c: &Client) {
    click(c, "dialog[open] #confirm-ok").await;
}

fn status_of(port: u16, name: &str) -> Value {
    get(port, &format!("/connectors/{name}/status")).1
}

/// Appends numbered lines to `file` every 20 ms until `stop` is set.
fn writer(file: PathBuf, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<usize> {
    std::thread::spawn(move || {
        let mut n = 0;
        while !stop.load(Ordering::Relaxed) {
            let mut f = std::fs::OpenOptions::new().append(true).create(true).open(&file).unwrap();
            for _ in 0..5 {
                writeln!(f, "line-{n}").unwrap();
                n += 1;
            }
            drop(f);
            std::thread::sleep(Duration::from_millis(20));
        }
        n
    })
}

#[test]
fn console_creates_runs_pauses_stops_resets_and_deletes_a_connector() {
    require_kafka();
    let driver = chromedriver();
    let dir = Dir::new();
    let port = free_port();
    let worker = dir.worker(port, "");
    let log = dir.path("worker.log");
    // a failed task leaves the worker running, as Kafka's standalone worker
    let mut child = sluice()
        .args(["standalone", "--on-task-failure", "continue"])
        .arg(&worker)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    wait_until(Duration::from_secs(30), "the REST API", || request(port, "GET", "/").0 == 200);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let c = browser(&driver).await;
        let result = tokio::time::timeout(Duration::from_secs(240), scenario(&c, &dir, port)).await;
        c.close().await.unwrap();
        result.expect("the console scenario finished in time");
    });
    // it stops on SIGTERM (with a non-zero status: a task failed during its run)
    sigterm_within(&mut child, Duration::from_secs(30), Some(&log));
}

async fn scenario(c: &Client, dir: &Dir, port: u16) {
    let base = format!("http://127.0.0.1:{port}/ui/");
    c.goto(&base).await.unwrap();
    eventually(c, "the empty overview", Duration::from_secs(20), || async {
        text_of(c, "#connectors tbody").await.filter(|t| t.contains("No connectors yet"))
    })
    .await;
    let mode = text_of(c, "[data-fact='Mode']").await.unwrap();
    assert_eq!(mode, "standalone");
    screenshot(c, "overview-empty").await;

    // create through the form: one invalid value → its error beside the field, nothing created
    let name = unique("console-src");
    let topic = unique("e2e-console");
    let input = dir.path("in.txt");
    let stop_writing = Arc::new(AtomicBool::new(false));
    let lines = writer(input.clone(), stop_writing.clone());
    click(c, "#new-connector").await;
    let pasted = format!(
        "name={name}\nconnector.class=FileStreamSource\nfile={}\ntopic={topic}\nbatch.size=lots\n\
         topic.creation.default.partitions=1\ntopic.creation.default.replication.factor=1\n\
         other.password={SECRET}\n",
        input.display()
    );
    type_into(c, "#paste", &pasted).await;
    click(c, "#fill").await;
    eventually(c, "the form filled from the paste", Duration::from_secs(20), || async {
        let v = c.find(Locator::Css("[data-key='batch.size']")).await.ok()?.prop("value").await.ok()??;
        (v == "lots").then_some(())
    })
    .await;
    click(c, "#save").await;
    let error = eventually(c, "the batch.size error", Duration::from_secs(20), || async {
        text_of(c, "[data-error-for='batch.size']").await.filter(|t| !t.is_empty())
    })
    .await;
    assert!(error.contains("lots"), "the error names the bad value: {error}");
    screenshot(c, "create-invalid").await;
    assert_eq!(get(port, "/connectors").1, json!([]), "nothing was created");

    // fixed → created and RUNNING, with a records-per-second figure above zero
    type_into(c, "[data-key='batch.size']", "50").await;
    click(c, "#save").await;
    eventually(c, "RUNNING on the connector page", Duration::from_secs(30), || async {
        text_of(c, "#connector-state").await.filter(|t| t == "RUNNING")
    })
    .await;
    eventually(c, "records per second above zero", Duration::from_secs(30), || async {
        let rate = text_of(c, "[data-task-rate='0']").await?;
        (rate.replace(',', "").parse::<f64>().ok()? > 0.0).then_some(())
    })
    .await;
    eventually(c, "a throughput line of a few samples", Duration::from_secs(30), || async {
        let points = c
            .execute("const p = document.querySelector('tr[data-task=\"0\"] polyline'); return p ? p.getAttribute('points').split(' ').length : 0;", vec![])
            .await
            .ok()?;
        (points.as_u64()? >= 5).then_some(())
    })
    .await;
    let hidden = text_of(c, "td.value[data-key='other.password']").await.unwrap();
    assert_eq!(hidden, "[hidden]");
    screenshot(c, "connector-running").await;

    // pause → PAUSED in the page, in the overview's table and over REST
    click(c, "#action-pause").await;
    eventually(c, "PAUSED", Duration::from_secs(30), || async {
        text_of(c, "#connector-state").await.filter(|t| t == "PAUSED")
    })
    .await;
    assert_eq!(status_of(port, &name)["connector"]["state"], "PAUSED");
    c.goto(&base).await.unwrap();
    eventually(c, "PAUSED in the table", Duration::from_secs(20), || async {
        text_of(c, &format!("tr[data-connector='{name}'] .state")).await.filter(|t| t == "PAUSED")
    })
    .await;
    screenshot(c, "overview-paused").await;
    // a narrow window: the table scrolls inside the page, the class column is left out
    c.set_window_size(420, 800).await.unwrap();
    screenshot(c, "overview-narrow").await;
    c.set_window_size(1280, 800).await.unwrap();

    // a connector whose task fails shows the trace
    failing_task(c, dir, port, &base).await;
    // a sink's lag: the broker's end offsets less the committed offsets (or why not)
    sink_lag(c, dir, port, &base, &topic).await;

    // stop → reset offsets → resume: the file is read again from its start
    c.goto(&format!("{base}#/connector/{name}")).await.unwrap();
    click(c, "#action-resume").await;
    eventually(c, "RUNNING again", Duration::from_secs(30), || async {
        text_of(c, "#connector-state").await.filter(|t| t == "RUNNING")
    })
    .await;
    stop_writing.store(true, Ordering::Relaxed);
    let written = lines.join().unwrap();
    wait_until(Duration::from_secs(60), "every line produced", || {
        values(&topic, written, Duration::from_secs(5)).len() >= written
    });
    click(c, "#action-stop").await;
    eventually(c, "STOPPED", Duration::from_secs(30), || async {
        text_of(c, "#connector-state").await.filter(|t| t == "STOPPED")
    })
    .await;
    click(c, "#action-reset-offsets").await;
    screenshot(c, "confirm-reset").await;
    confirm(c).await;
    eventually(c, "the offsets reset", Duration::from_secs(30), || async {
        text_of(c, "#offsets").await.filter(|t| t.contains("none committed"))
    })
    .await;
    click(c, "#action-resume").await;
    wait_until(Duration::from_secs(60), "the file replayed", || {
        values(&topic, 2 * written, Duration::from_secs(5)).len() >= 2 * written
    });
    let all = values(&topic, 2 * written, Duration::from_secs(5));
    let first_line = all.iter().filter(|v| v.contains("\"line-0\"")).count();
    assert_eq!(first_line, 2, "line-0 twice: once first, once replayed after the reset");

    // nothing the page fetched holds the secret (checked while the connector still exists)
    no_secret_in(port, &fetched(c).await);

    // delete removes it
    click(c, "#action-delete").await;
    confirm(c).await;
    eventually(c, "back on the overview without it", Duration::from_secs(30), || async {
        let body = text_of(c, "#connectors tbody").await?;
        (!body.contains(&name)).then_some(())
    })
    .await;
    assert_eq!(request(port, "GET", &format!("/connectors/{name}")).0, 404);
    screenshot(c, "overview-after-delete").await;
}

async fn failing_task(c: &Client, dir: &Dir, port: u16, base: &str) {
    let bad = unique("console-bad");
    let input = dir.write("bad.txt", "not a number\n");
    let body = json!({"name": bad, "config": {
        "connector.class": "FileStreamSource", "file": input.display().to_string(), "topic": unique("e2e-console-bad"),
        "value.converter": "org.apache.kafka.connect.converters.IntegerConverter",
    }});
    assert_eq!(request_with(port, "POST", "/connectors", &body.to_string()).0, 201);
    c.goto(&format!("{base}#/connector/{bad}")).await.unwrap();
    let trace = eventually(c, "the failed task's trace", Duration::from_secs(30), || async {
        text_of(c, "pre[data-trace='0']").await.filter(|t| !t.is_empty())
    })
    .await;
    assert!(trace.contains("Failed to serialize to integer"), "{trace}");
    assert_eq!(text_of(c, "tr[data-task='0'] .state").await.as_deref(), Some("FAILED"));
    screenshot(c, "connector-failed").await;
    assert_eq!(request(port, "DELETE", &format!("/connectors/{bad}")).0, 204);
}

async fn sink_lag(c: &Client, dir: &Dir, port: u16, base: &str, topic: &str) {
    let sink = unique("console-sink");
    let body = json!({"name": sink, "config": {
        "connector.class": "FileStreamSink", "file": dir.path("out.txt").display().to_string(), "topics": topic,
    }});
    assert_eq!(request_with(port, "POST", "/connectors", &body.to_string()).0, 201);
    c.goto(base).await.unwrap();
    let lag = eventually(c, "the sink's lag", Duration::from_secs(60), || async {
        text_of(c, &format!("td[data-lag='{sink}']")).await.filter(|t| t != "—" && !t.is_empty())
    })
    .await;
    assert!(lag == "unreliable" || lag.replace(',', "").parse::<u64>().is_ok(), "{lag}");
    screenshot(c, "overview-sink-lag").await;
    c.goto(&format!("{base}#/connector/{sink}")).await.unwrap();
    let cell = eventually(c, "the partition's lag", Duration::from_secs(30), || async {
        text_of(c, &format!("td[data-lag='{topic}-0']")).await.filter(|t| !t.is_empty())
    })
    .await;
    assert!(cell.starts_with("unreliable") || cell.parse::<u64>().is_ok(), "{cell}");
    screenshot(c, "connector-sink").await;
    assert_eq!(request(port, "DELETE", &format!("/connectors/{sink}")).0, 204);
}

/// Every address the page fetched (the Resource Timing entries of its one document).
async fn fetched(c: &Client) -> Vec<String> {
    let urls = c
        .execute("return performance.getEntriesByType('resource').map(e => e.name);", vec![])
        .await
        .unwrap_or(Value::Array(Vec::new()));
    let mut urls: Vec<String> = urls.as_array().unwrap().iter().filter_map(|u| u.as_str().map(str::to_owned)).collect();
    urls.sort();
    urls.dedup();
    urls
}

/// Fetches again every GET address the console fetched and looks for the secret in each answer.
fn no_secret_in(port: u16, urls: &[String]) {
    let prefix = format!("http://127.0.0.1:{port}");
    let paths: Vec<&str> = urls.iter().filter_map(|u| u.strip_prefix(&prefix)).collect();
    assert!(paths.iter().any(|p| p.contains("/config")), "the console read configs: {paths:?}");
    for path in paths {
        let (_, body) = get_text(port, path);
        assert!(!body.contains(SECRET), "{path} answered the secret");
    }
}

#[test]
fn console_on_a_cluster_shows_each_tasks_worker_and_follows_a_kill() {
    use crate::distributed::{task_workers, write, Cluster};
    require_kafka();
    let _heavy = heavy();
    let driver = chromedriver();
    let cluster = Cluster::new();
    let mut nodes = vec![cluster.start(), cluster.start(), cluster.start()];
    for n in &nodes {
        n.wait_joined("");
    }
    let input = cluster.dir.write("input.txt", &(1..=20).map(|i| format!("line-{i}\n")).collect::<String>());
    let name = unique("console-dist");
    let body = json!({"name": name, "config": {
        "connector.class": "FileStreamSource", "file": input.display().to_string(), "topic": unique("e2e-console-dist"),
        "tasks.max": "1", "topic.creation.default.partitions": "1", "topic.creation.default.replication.factor": "1"
    }});
    let (status, text) = write(nodes[0].port, "POST", "/connectors", &body.to_string());
    assert_eq!(status, 201, "{text}");
    wait_until(Duration::from_secs(60), "the task RUNNING", || {
        task_workers(nodes[0].port, &name).iter().any(|(s, _)| s == "RUNNING")
    });
    let owner = task_workers(nodes[0].port, &name)[0].1.clone();
    let viewer = nodes.iter().position(|n| n.worker_id() != owner).unwrap();
    let victim = nodes.iter().position(|n| n.worker_id() == owner).unwrap();
    let base = format!("http://127.0.0.1:{}/ui/", nodes[viewer].port);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let c = browser(&driver).await;
        c.goto(&base).await.unwrap();
        eventually(&c, "the cluster overview", Duration::from_secs(30), || async {
            text_of(&c, "[data-fact='Mode']").await.filter(|t| t == "distributed")
        })
        .await;
        let leader = eventually(&c, "the leader", Duration::from_secs(30), || async {
            text_of(&c, "[data-fact='Leader']").await.filter(|t| t.starts_with("http://127.0.0.1:"))
        })
        .await;
        assert!(nodes.iter().any(|n| leader.trim_end_matches('/').ends_with(&format!(":{}", n.port))), "{leader}");
        eventually(&c, "the connector RUNNING in the table", Duration::from_secs(30), || async {
            text_of(&c, &format!("tr[data-connector='{name}'] .state")).await.filter(|t| t == "RUNNING")
        })
        .await;
        screenshot(&c, "cluster-overview").await;
        c.goto(&format!("{base}#/connector/{name}")).await.unwrap();
        let shown = eventually(&c, "the task's worker", Duration::from_secs(30), || async {
            text_of(&c, "[data-worker='0']").await.filter(|t| !t.is_empty())
        })
        .await;
        assert_eq!(shown, owner);
        screenshot(&c, "cluster-connector").await;

        nodes[victim].kill();
        let moved = eventually(&c, "the task RUNNING on a survivor", Duration::from_secs(90), || async {
            let worker = text_of(&c, "[data-worker='0']").await?;
            let state = text_of(&c, "tr[data-task='0'] .state").await?;
            (worker != owner && state == "RUNNING").then_some(worker)
        })
        .await;
        assert!(nodes.iter().any(|n| n.worker_id() == moved), "{moved} is a survivor");
        screenshot(&c, "cluster-after-kill").await;
        c.close().await.unwrap();
    });
}
